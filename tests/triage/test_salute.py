"""SALUTE fields: size, activity, uniform, time and equipment in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.triage import triage_text
from hotline.triage.salute import extract_salute, size_of

# 18:30 UTC = 11:30 in Los Angeles (PDT), 13:30 in Chicago (CDT), 14:30 in New York (EDT)
NOW = datetime(2025, 6, 12, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "size"), [
    ("3 agents at the corner", {"agents": 3, "vehicles": None}),
    ("dos camionetas y cinco agentes", {"agents": 5, "vehicles": 2}),
    ("cuatro agentes con chalecos", {"agents": 4, "vehicles": None}),
    ("3 vans de ICE paradas", {"agents": None, "vehicles": 3}),
    ("2 vans of ICE agents", {"agents": None, "vehicles": 2}),
    ("ICE raid 5 agents 2 vans", {"agents": 5, "vehicles": 2}),
    ("2 unmarked black SUVs", {"agents": None, "vehicles": 2}),
    ("hay como dos patrullas de la policia", {"agents": None, "vehicles": 2}),
    ("10+ agents", {"agents": 10, "vehicles": None}),
    ("muchos agentes", None),  # not a number
    ("agarraron a 3", None),  # people taken, not agents
    ("se llevaron a dos hombres", None),
    ("vi a la migra hace 10 minutos", None),
    ("a las 7 am 2 agents", {"agents": 2, "vehicles": None}),
    ("ICE raid at a car wash", None),
])
def test_size(text, size):
    assert size_of(text.lower()) == size


def salute(text, timezone="America/Los_Angeles", phrases=()):
    return extract_salute(text, None, NOW, timezone, phrases)


@pytest.mark.parametrize(("text", "activity"), [
    ("ICE detuvo a un hombre", ["arrest"]),
    ("they took my husband", ["arrest"]),
    ("se llevaron a mi vecino", ["arrest"]),
    ("agents w masks taking a guy", ["arrest"]),
    ("redada en una fabrica", ["raid"]),
    ("hay un reten", ["checkpoint"]),
    ("agentes tocando puertas", ["door_knocking"]),
    ("3 unmarked cars parked on Cermak", ["waiting"]),
    ("asking ppl for papers", ["surveillance"]),
    ("border patrol en Albany Park", []),
])
def test_activity(text, activity):
    assert salute(text)["activity"] == activity


@pytest.mark.parametrize(("text", "uniform"), [
    ("la migra", ["ice"]),
    ("Immigration agents", ["ice"]),
    ("border patrol", ["cbp"]),
    ("DPS y migra", ["ice", "police"]),
    ("agents in tactical vests", ["vests"]),
    ("agents in plain clothes", ["plain_clothes"]),
    ("agentes con mascaras", ["masks"]),
    ("the ice cream truck", []),
])
def test_uniform(text, uniform):
    assert salute(text)["uniform"] == uniform


@pytest.mark.parametrize(("text", "equipment"), [
    ("2 camionetas sin placas", ["unmarked_vehicles", "van"]),
    ("5 trocas", ["truck"]),
    ("agents w guns", ["weapons"]),
    ("immigration agents with dogs", ["dogs"]),
    ("checking papers at the bus stop", []),
    ("migra en la parada del bus", []),
    ("helicoptero", ["helicopter"]),
])
def test_equipment(text, equipment):
    assert salute(text)["equipment"] == equipment


def test_place_names_are_not_equipment(gazetteer):
    result = triage_text("CBP agents in Pacoima near Van Nuys Blvd", gazetteer, now=NOW)
    assert result.salute["equipment"] == []


@pytest.mark.parametrize(("text", "timezone", "at"), [
    # "a las 3" during a raid is the afternoon; today, or yesterday if that is still ahead
    ("la migra llego a las 11", "America/Los_Angeles", "2025-06-12T11:00-07:00"),
    ("la migra llego a las 3", "America/Los_Angeles", "2025-06-11T15:00-07:00"),
    ("la migra llego a las 3", "America/New_York", "2025-06-12T15:00-04:00"),
    ("la migra llego a las 7 am", "America/Chicago", "2025-06-12T07:00-05:00"),
    ("came at 9:15am", "America/Denver", "2025-06-12T09:15-06:00"),
    ("a la una", "America/Chicago", "2025-06-12T13:00-05:00"),
    ("right now", "America/Chicago", "2025-06-12T13:30-05:00"),
    ("hace 20 minutos", "America/New_York", "2025-06-12T14:10-04:00"),
    ("hace media hora", "America/Los_Angeles", "2025-06-12T11:00-07:00"),
    ("2 hours ago", "America/Los_Angeles", "2025-06-12T09:30-07:00"),
    ("esta mañana", "America/Chicago", "2025-06-12T08:00-05:00"),
    ("esta noche", "America/Chicago", "2025-06-12T13:30-05:00"),
    ("ahorita", None, "2025-06-12T18:30+00:00"),
])
def test_time_in_the_jurisdictions_timezone(text, timezone, at):
    assert salute(text, timezone)["time"]["at"] == at


@pytest.mark.parametrize("text", [
    "ICE at 8th and Cherry",
    "agents in vests at 16th St BART",
    "ICE at 1300 S Main St",
    "heard ICE is in nyc today",
    "la migra en la 24 y mission",
])
def test_no_time_mentioned(text):
    assert salute(text)["time"] is None


def test_time_uses_the_jurisdiction_of_the_message(gazetteer):
    result = triage_text("la migra en Pilsen a las 12", gazetteer, now=NOW)
    assert result.jurisdiction == "chicago"
    assert result.salute["time"]["at"] == "2025-06-12T12:00-05:00"
    # 15:00 is still ahead in Chicago (13:30): the report means yesterday's
    later = triage_text("la migra en Pilsen a las 3", gazetteer, now=NOW)
    assert later.salute["time"]["at"] == "2025-06-11T15:00-05:00"


def test_counters_after_the_number_count_agents_and_vehicles_not_people_taken(gazetteer):
    """Korean counts after the number: 요원 5명 is five agents, 2대 two vehicles; 가족 3명
    (three of my family) taken is no agent count, and 3가지 (three kinds) is no 3rd Street."""
    from hotline.triage import triage_text

    agents = triage_text("요원 5명 밴 2대 윌셔 하고 버몬트 지금", gazetteer).salute["size"]
    assert agents == {"agents": 5, "vehicles": 2}
    family = triage_text("우리 가족 3명이 윌셔에서 잡혀갔어요", gazetteer).salute["size"]
    assert not (family or {}).get("agents")
    kinds = triage_text("이민국 요원들이 집에 와서 3가지 질문을 했어요", gazetteer,
                        "+12135550100")
    assert kinds.needs_location and kinds.location.street is None
