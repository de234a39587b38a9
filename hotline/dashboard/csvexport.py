"""CSV export of incidents: no phone number ever, and no cell a spreadsheet would run.

A text cell that starts with = + - @ (or a tab or carriage return) could be taken for a formula
by Excel or LibreOffice (CSV injection); such cells get a leading apostrophe. Numbers we format
ourselves (coordinates, scores) are written as numbers, and timestamps as ISO 8601 in UTC.
Phone-number-like runs of digits in free text are masked (never in a timestamp, whose digits
look like one).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.accounts.scope import Scope
from hotline.api.serializers import iso
from hotline.dashboard import queries
from hotline.models import Incident

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PHONE_LIKE = re.compile(r"\+?\(?\d[\d\s().-]{8,}\d")
HEADER = ["code", "status", "jurisdiction", "location", "lat", "lon", "score", "reports",
          "first_seen_at", "last_seen_at", "verified_at", "resolved_at"]
BATCH = 1000


# spreadsheets skip these before they look for a formula
INVISIBLE_LEAD = " \u00a0\u200b\u200c\u200d\u2060\ufeff"


def neutralise(value: str) -> str:
    """A text cell that no spreadsheet will evaluate (also behind leading spaces, a no-break
    space or a zero-width character)."""
    return "'" + value if value.lstrip(INVISIBLE_LEAD).startswith(FORMULA_STARTS) else value


def mask_numbers(text: str) -> str:
    """Free text with anything that looks like a phone number masked."""
    return PHONE_LIKE.sub(lambda m: "•••" + re.sub(r"\D", "", m.group())[-2:], text)


def cell(value: Any) -> str:
    """One cell: numbers and timestamps as they are, text masked and neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(round(value, 6)) if isinstance(value, float) else str(value)
    return neutralise(mask_numbers(str(value)))


def incident_row(incident: Incident, slug: str | None, reports: int) -> list[str]:
    """One incident as a CSV row."""
    return [cell(v) for v in (
        incident.code, incident.status, slug or "", incident.location_text, incident.lat,
        incident.lon, incident.score, reports, incident.first_seen_at, incident.last_seen_at,
        incident.verified_at, incident.resolved_at)]


def _line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def export_lines(session: Session, scope: Scope, filters: queries.ListFilters) -> Iterator[str]:
    """The CSV, line by line, in batches by id (any number of incidents in little memory)."""
    yield _line(HEADER)
    after = 0
    while True:
        batch = [(row[0], row[1]) for row in session.execute(
            queries.filtered(session, scope, filters).where(Incident.id > after)
            .order_by(Incident.id).limit(BATCH))]
        if not batch:
            return
        counts = queries.report_counts(session, [i.id for i, _ in batch])
        for incident, slug in batch:
            yield _line(incident_row(incident, slug, counts.get(incident.id, 0)))
        after = batch[-1][0].id
        session.expunge_all()  # keep memory flat over a long export
