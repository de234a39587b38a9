"""Shared fixtures: the demo gazetteer straight from config/ (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.triage import Gazetteer, gazetteer_from_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return gazetteer_from_config(ROOT / "config")
