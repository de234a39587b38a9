"""Helpers for routing tests: who the demo responders are, and what the stand-in sent."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Incident

ROOT = Path(__file__).resolve().parents[2]


@cache
def members() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((ROOT / "config" / "networks.yaml").read_text())
    return {m["key"]: m for n in data["networks"] for m in n["members"]}


def phone(key: str) -> str:
    return members()[key]["phone"]


def sent_to(standin, key: str) -> list[str]:
    """Bodies the stand-in accepted for one responder, in order."""
    return [m["body"] for m in standin.sent if m["to"] == phone(key)]


def only_incident(app) -> Incident:
    with app.app_context():
        rows = db.session.scalars(select(Incident).where(Incident.status != "merged")).all()
        assert len(rows) == 1, [r.code for r in rows]
        db.session.expunge_all()
        return rows[0]


def incident_status(app, code: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Incident.status).where(Incident.code == code))
