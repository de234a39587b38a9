"""Checks on an action's payload before it reaches `hotline.incidents.actions` (shared with
the dashboard): ids must be whole numbers a database column can hold."""

from __future__ import annotations

from typing import Any

from hotline.incidents.actions import ActionError

MAX_ID = 2**31 - 1
MAX_SPLIT = 500


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ActionError("%(field)s: must be a report id", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ActionError("%(field)s: must be a report id", field=field) from None
    if isinstance(value, float) and not value.is_integer():
        raise ActionError("%(field)s: must be a report id", field=field)
    if not 1 <= number <= MAX_ID:
        raise ActionError("%(field)s: no such report", field=field)
    return number


def check_action_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with report ids checked and normalised; raises ActionError (400)."""
    cleaned = dict(payload)
    if "report" in cleaned and cleaned["report"] is not None:
        cleaned["report"] = _id(cleaned["report"], "report")
    reports = cleaned.get("reports")
    if reports is not None:
        if not isinstance(reports, list) or len(reports) > MAX_SPLIT:
            raise ActionError("reports: give a list of at most %(n)s report ids", n=MAX_SPLIT)
        cleaned["reports"] = [_id(r, "reports") for r in reports]
    into = cleaned.get("into")
    if into is not None and (not isinstance(into, str) or len(into) > 16):
        raise ActionError("into: the code of the incident to merge into")
    return cleaned
