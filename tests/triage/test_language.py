"""English or Spanish from a few words."""

from __future__ import annotations

import pytest

from hotline.triage.language import detect_language


@pytest.mark.parametrize(("text", "language"), [
    ("la migra en la 24 y mission sf", "es"),
    ("ICE at the Home Depot on Western and 47th", "en"),
    ("migra migra migra", "es"),
    ("migra at the 7-eleven in Pasadena", "en"),
    ("LA MIGRA EN LA VILLITA", "es"),
    ("ICE en Little Village, 26th y Kedzie, agarraron a un señor", "es"),
    ("agents w masks taking a guy on 116th st", "en"),
    ("hay 2 camionetas de migra en la Cermak y California", "es"),
    ("ICE raid in LA at the Home Depot on Sunset", "en"),
    ("vi a la migra hace 10 minutos", "es"),
])
def test_language(text, language):
    assert detect_language(text)[0] == language


def test_fallback_breaks_ties():
    assert detect_language("ICE", "es") == ("es", 0.5)
    assert detect_language("ICE") == ("en", 0.5)


def test_confidence_grows_with_margin():
    assert detect_language("la migra esta aqui en la tienda")[1] > \
        detect_language("la migra at the store")[1]
