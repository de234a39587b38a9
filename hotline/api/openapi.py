"""The OpenAPI 3.1 description served at /api/v1/openapi.json.

Built on request from the same constants the views use (statuses, actions, limits) and the
jurisdictions loaded now, so the document cannot drift from what the API accepts; the test suite
runs schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from hotline.api.payloads import MAX_ID, MAX_SPLIT
from hotline.incidents.actions import ACTIONS
from hotline.models import INCIDENT_STATUSES

MAX_LIMIT = 500
_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_OBJ = {"type": "object"}
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_NUM = {"type": ["number", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _schemas() -> dict[str, Any]:
    incident = _object(
        ["code", "status", "jurisdiction", "location", "score", "salute", "report_count",
         "first_seen_at", "last_seen_at", "verified_at", "resolved_at"],
        code=_STR, status={"type": "string", "enum": list(INCIDENT_STATUSES)},
        jurisdiction=_NULLABLE_STR,
        location=_object(["text", "lat", "lon"], text=_NULLABLE_STR, lat=_NULLABLE_NUM,
                         lon=_NULLABLE_NUM),
        score=_NUM, salute=_OBJ, report_count=_INT, first_seen_at=_TIME, last_seen_at=_TIME,
        verified_at=_NULLABLE_TIME, resolved_at=_NULLABLE_TIME)
    report = _object(
        ["id", "channel", "text", "language", "salute", "location", "needs_location",
         "confidence", "media", "flags", "created_at"],
        id=_INT, channel=_STR,
        text={"type": ["string", "null"],
              "description": "null when purged after retention or for tokens without PII"},
        language=_STR, salute=_OBJ, location=_OBJ, needs_location={"type": "boolean"},
        confidence=_NUM, media={"type": "array", "items": _OBJ}, flags=_OBJ, created_at=_TIME)
    event = _object(["at", "kind", "actor", "data"], at=_TIME, kind=_STR, actor=_STR, data=_OBJ)
    alert = _object(
        ["responder", "role", "kind", "step", "round", "status", "error_code", "created_at",
         "sent_at", "delivered_at", "answered_at"],
        responder=_NULLABLE_STR, role=_NULLABLE_STR, kind=_STR, step=_INT, round=_INT,
        status=_STR, error_code=_NULLABLE_INT, created_at=_TIME, sent_at=_NULLABLE_TIME,
        delivered_at=_NULLABLE_TIME, answered_at=_NULLABLE_TIME)
    detail = {"allOf": [_ref("Incident"), _object(
        ["score_reasons", "flags", "reports", "timeline", "alerts"],
        score_reasons={"type": "array", "items": _OBJ}, flags=_OBJ,
        reports={"type": "array", "items": _ref("Report")},
        timeline={"type": "array", "items": _ref("Event")},
        alerts={"type": "array", "items": _ref("Alert")})]}
    jurisdiction = _object(
        ["slug", "name", "state", "timezone", "active", "open_incidents"],
        slug=_STR, name=_STR, state=_STR, timezone=_STR, active={"type": "boolean"},
        open_incidents=_INT)
    report_id = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    action = {
        "type": "object", "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS),
                       "description": "verify | dismiss (false alarm) | resolve | all_clear "
                                      "(resolve and tell everyone alerted) | merge (needs "
                                      "`into`) | split (needs `reports`) | note (needs `note`) "
                                      "| assign (tokens tied to a user) | block (needs "
                                      "`report`) | reverify | hold (no automatic step) | "
                                      "release (clears hold, denunciation and flood markers)"},
            "note": {"type": "string", "maxLength": 4000},
            "into": {"type": "string", "maxLength": 16},
            "confirm_jurisdiction": {"type": "boolean", "description": "merge into an "
                                     "incident of another jurisdiction (re-routes it)"},
            "reports": {"type": "array", "items": report_id, "maxItems": MAX_SPLIT},
            "report": report_id,
        }}
    result = _object(["code", "status"], code=_STR, status=_STR, into=_STR, new_incident=_STR)
    return {"Error": _object(["error"], error=_STR), "Incident": incident, "Report": report,
            "Event": event, "Alert": alert, "IncidentDetail": detail,
            "Jurisdiction": jurisdiction, "Action": action, "ActionResult": result,
            **_broadcast_schemas()}


def _broadcast_schemas() -> dict[str, Any]:
    texts = {"type": "object", "description": "language tag -> text",
             "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 1600}}
    create = {
        "type": "object", "additionalProperties": False,
        "description": "An alert needs `incident` (verified, routed or acknowledged); a "
                       "follow-up (all clear, correction) needs `follow_up`, the alert's id, "
                       "and goes to exactly its recipients.",
        "properties": {
            "incident": {"type": "string", "minLength": 1, "maxLength": 16},
            "text": texts,
            "radius_m": {"type": "integer", "minimum": 100, "maximum": 100_000,
                         "description": "default: the jurisdiction's broadcast_radius_m"},
            "whole_jurisdiction": {"type": "boolean"},
            "kind": {"type": "string", "enum": ["alert", "all_clear", "correction"]},
            "follow_up": {"type": "integer", "minimum": 1},
        }}
    counts = _object(["queued", "sent", "delivered", "failed", "skipped", "cancelled",
                      "total"], queued=_INT, sent=_INT, delivered=_INT, failed=_INT,
                     skipped=_INT, cancelled=_INT, total=_INT)
    broadcast = _object(
        ["id", "incident", "kind", "status", "parent", "radius_m", "whole_jurisdiction",
         "texts", "recipients", "by_language", "by_area", "estimated_seconds", "approvals",
         "approvals_needed", "counts", "created_by", "created_at", "started_at",
         "finished_at", "cancelled_at"],
        id=_INT, incident=_STR,
        kind={"type": "string", "enum": ["alert", "all_clear", "correction"]},
        status={"type": "string", "enum": ["draft", "sending", "sent", "cancelled"]},
        parent=_NULLABLE_INT, radius_m=_NULLABLE_INT, whole_jurisdiction={"type": "boolean"},
        texts={"type": "object", "additionalProperties": _STR}, recipients=_INT,
        by_language={"type": "array", "items": _object(["language", "name", "recipients"],
                                                       language=_STR, name=_STR,
                                                       recipients=_INT)},
        by_area={"type": "array", "items": _object(["area", "recipients"], area=_STR,
                                                   recipients=_INT)},
        estimated_seconds=_NULLABLE_NUM,
        approvals={"type": "array", "items": _object(["by", "at"], by=_STR, at=_TIME)},
        approvals_needed=_INT, counts=counts, created_by=_STR, created_at=_TIME,
        started_at=_NULLABLE_TIME, finished_at=_NULLABLE_TIME, cancelled_at=_NULLABLE_TIME)
    area_count = _object(["area", "subscribers"], area=_STR, subscribers=_INT)
    language_count = _object(["language", "subscribers"], language=_STR, subscribers=_INT)
    summary = _object(["jurisdictions"], jurisdictions={"type": "array", "items": _object(
        ["jurisdiction", "confirmed", "pending", "areas", "languages"],
        jurisdiction=_NULLABLE_STR, confirmed=_INT, pending=_INT,
        areas={"type": "array", "items": area_count},
        languages={"type": "array", "items": language_count})})
    return {"BroadcastCreate": create, "Broadcast": broadcast, "SubscriberSummary": summary}


def _broadcast_paths(unauthorized: dict[str, Any]) -> dict[str, Any]:
    id_param = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "description": "The broadcast's id."}
    one = _json(_ref("Broadcast"), "The broadcast")
    forbidden = _error("This token's role may not act")
    missing = _error("No such broadcast within this token's scope")
    return {
        "/broadcasts": {"post": {
            "operationId": "createBroadcast",
            "summary": "Draft a community alert of a verified incident, or a follow-up "
                       "(audited): its text per subscriber language and its recipients",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("BroadcastCreate")}}},
            "responses": {
                "201": _json(_ref("Broadcast"), "The draft"),
                "400": _error("A field is not valid"), "401": unauthorized,
                "403": forbidden,
                "404": _error("No such incident or broadcast within this token's scope"),
                "409": _error("The incident is not verified, or the follow-up's alert was "
                              "not sent")}}},
        "/broadcasts/{id}": {"get": {
            "operationId": "getBroadcast",
            "summary": "A broadcast's texts, recipients, approvals and delivery counts",
            "parameters": [id_param],
            "responses": {"200": one, "401": unauthorized, "404": missing}}},
        "/broadcasts/{id}/send": {"post": {
            "operationId": "sendBroadcast",
            "summary": "Approve (audited); sending starts once the jurisdiction's "
                       "`broadcast_approvals` are in, each person counted once",
            "parameters": [id_param],
            "responses": {
                "200": _json(_ref("Broadcast"), "Approved; more approvals needed"),
                "202": _json(_ref("Broadcast"), "Approved; sending"),
                "401": unauthorized, "403": forbidden, "404": missing,
                "409": _error("Not a draft, no recipients, or already approved by you")}}},
        "/broadcasts/{id}/cancel": {"post": {
            "operationId": "cancelBroadcast",
            "summary": "Stop sending (audited): nothing more goes out",
            "parameters": [id_param],
            "responses": {"200": one, "401": unauthorized, "403": forbidden,
                          "404": missing, "409": _error("Already sent or cancelled")}}},
        "/subscribers/summary": {"get": {
            "operationId": "subscriberSummary",
            "summary": "Confirmed and pending subscribers per jurisdiction in scope, by area "
                       "and language (counts only, never a number)",
            "responses": {"200": _json(_ref("SubscriberSummary"), "Counts"),
                          "401": unauthorized}}},
    }


def openapi_document(jurisdiction_slugs: list[str] | None = None) -> dict[str, Any]:
    """The document; `jurisdiction_slugs` are the loaded jurisdictions (the filter's values)."""
    slugs = [*(jurisdiction_slugs or []), "none"]
    code_param = {"name": "code", "in": "path", "required": True,
                  "schema": {"type": "string", "maxLength": 16},
                  "description": "The incident's short code, e.g. 7Q4K (any case)."}
    secured = [{"bearer": []}]
    unauthorized = _error("No valid bearer token")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline API", "version": "1.0.0",
                 "description": "Incidents, reports and jurisdictions of a Hotline instance. "
                                "Phone numbers never appear in clear. Every read of an "
                                "incident (its reports are PII) and every action is audited.\n\n"
                                "**Scopes.** A token is scoped exactly like a dashboard user "
                                "(`hotline tokens create NAME --role ROLE [--jurisdiction SLUG "
                                "...] [--network SLUG]`): it sees only incidents of its "
                                "jurisdictions (none given: all, and the out-of-area queue); a "
                                "lawyer token sees only incidents its legal network was paged "
                                "about; an admin token sees everything. An incident outside the "
                                "scope answers 404, as if it did not exist; a `jurisdiction` "
                                "filter outside it answers 403; lists and counts leave out what "
                                "the scope excludes. admin and dispatcher tokens may act, within "
                                "their scope; viewer tokens read without report texts."},
        "servers": [{"url": "/api/v1"}],
        "security": secured,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A token from `hotline tokens create NAME --role ROLE "
                               "[--jurisdiction SLUG ...] [--network SLUG]` or the admin "
                               "pages, scoped like a dashboard user: admin and dispatcher "
                               "tokens may act within their scope; lawyer tokens read what "
                               "their network was paged about; viewer tokens get no report "
                               "texts."}},
            "schemas": _schemas(),
        },
        "paths": {
            "/incidents": {"get": {
                "operationId": "listIncidents",
                "summary": "Incidents, latest activity first",
                "parameters": [
                    {"name": "status", "in": "query", "style": "form", "explode": False,
                     "description": "Statuses (comma-separated); `open` means every open one.",
                     "schema": {"type": "array", "items": {
                         "type": "string", "enum": [*INCIDENT_STATUSES, "open"]}}},
                    {"name": "jurisdiction", "in": "query",
                     "description": "A jurisdiction slug, or `none` for the out-of-area queue.",
                     "schema": {"type": "string", "enum": slugs}},
                    {"name": "since", "in": "query", "schema": _TIME,
                     "description": "Only incidents with a report at or after this time."},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                "default": 100}},
                ],
                "responses": {
                    "200": _json(_object(["incidents"], incidents={
                        "type": "array", "items": _ref("Incident")}), "Incidents"),
                    "400": _error("A filter is not valid"), "401": unauthorized,
                    "403": _error("The jurisdiction filter is outside this token's scope")}}},
            "/incidents/{code}": {"get": {
                "operationId": "getIncident",
                "summary": "One incident with its reports, timeline and alerts (audited)",
                "parameters": [code_param],
                "responses": {
                    "200": _json(_ref("IncidentDetail"), "The incident"),
                    "401": unauthorized,
                    "404": _error("No such incident within this token's scope")}}},
            "/incidents/{code}/actions": {"post": {
                "operationId": "actOnIncident",
                "summary": "Apply a dispatcher action (audited)",
                "parameters": [code_param],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("Action")}}},
                "responses": {
                    "200": _json(_ref("ActionResult"), "Applied"),
                    "400": _error("The action or its fields are not valid"),
                    "401": unauthorized,
                    "403": _error("This token's role may not act"),
                    "404": _error("No such incident, report or merge target within this "
                                  "token's scope"),
                    "409": _error("Not allowed in the incident's status")}}},
            "/jurisdictions": {"get": {
                "operationId": "listJurisdictions",
                "summary": "The jurisdictions in this token's scope with the open incidents it "
                           "may see, and the out-of-area queue (0 unless the scope includes it)",
                "responses": {
                    "200": _json(_object(["jurisdictions", "unassigned"], jurisdictions={
                        "type": "array", "items": _ref("Jurisdiction")},
                        unassigned=_object(["open_incidents"], open_incidents=_INT)),
                        "Jurisdictions"),
                    "401": unauthorized}}},
            **_broadcast_paths(unauthorized),
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": _json(_OBJ, "The OpenAPI document")}}},
        },
    }
