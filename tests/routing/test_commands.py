"""Responder replies are parsed without the database."""

from __future__ import annotations

import pytest

from hotline.intake.commands import Command, parse_command


@pytest.mark.parametrize(("body", "expected"), [
    ("YES 7Q4K", Command("yes", "7Q4K")),
    ("yes 7q4k", Command("yes", "7Q4K")),
    ("Sí 7Q4K", Command("yes", "7Q4K")),
    ("NO 7Q4K nothing there", Command("no", "7Q4K", "nothing there")),
    ("ETA 7Q4K 10", Command("eta", "7Q4K", "10")),
    ("ACCEPT 7Q4K", Command("accept", "7Q4K")),
    ("1 7Q4K", Command("accept", "7Q4K")),
    ("DECLINE 7Q4K", Command("decline", "7Q4K")),
    ("2", Command("decline", None)),
    ("1", Command("accept", None)),
    ("UNABLE 7Q4K", Command("unable", "7Q4K")),
    ("MSG 7Q4K Estamos en camino, no abra la puerta",
     Command("msg", "7Q4K", "Estamos en camino, no abra la puerta")),
    # lenient: punctuation, a '#', minutes in words, no minutes at all
    ("Yes 8372!", Command("yes", "8372")),
    ("ACCEPT #8372", Command("accept", "8372")),
    ("accept: 8372.", Command("accept", "8372")),
    ("eta 8372 ten minutes", Command("eta", "8372", "10")),
    ("ETA #8372 media hora", Command("eta", "8372", "30")),
    ("eta 8372 1h", Command("eta", "8372", "60")),
    ("ETA 7Q4K soon", Command("eta", "7Q4K", "15")),
    ("MSG #7Q4K: ya vamos", Command("msg", "7Q4K", "ya vamos")),
    ("REPORT ICE at 18th and Ashland", Command("report", None, "ICE at 18th and Ashland")),
    ("Reporte: migra en la 26", Command("report", None, "migra en la 26")),
])
def test_commands(body, expected):
    assert parse_command(body) == expected


@pytest.mark.parametrize("body", [
    "ICE at the Home Depot", "yes", "no", "la migra esta aqui", "", "YES",
    "no se que hacer 5 agentes", "1 agent at 60608", "eta", "msg 8372",
])
def test_not_commands(body):
    assert parse_command(body) is None
