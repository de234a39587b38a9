"""The OpenAPI 3.1 description served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from hotline.models import INCIDENT_STATUSES

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_NUM = {"type": ["number", "null"]}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_document() -> dict[str, Any]:
    """The document (built on request; small)."""
    incident = {
        "type": "object",
        "required": ["code", "status", "jurisdiction", "location", "score", "report_count",
                     "first_seen_at", "last_seen_at"],
        "properties": {
            "code": {"type": "string"},
            "status": {"type": "string", "enum": list(INCIDENT_STATUSES)},
            "jurisdiction": _NULLABLE_STR,
            "location": {"type": "object", "properties": {
                "text": _NULLABLE_STR, "lat": _NULLABLE_NUM, "lon": _NULLABLE_NUM}},
            "score": {"type": "number"},
            "salute": {"type": "object"},
            "report_count": {"type": "integer"},
            "first_seen_at": {"type": "string", "format": "date-time"},
            "last_seen_at": {"type": "string", "format": "date-time"},
            "verified_at": _NULLABLE_TIME,
            "resolved_at": _NULLABLE_TIME,
        },
    }
    detail = {"allOf": [{"$ref": "#/components/schemas/Incident"}, {
        "type": "object",
        "required": ["reports", "timeline", "alerts"],
        "properties": {
            "score_reasons": {"type": "array"},
            "flags": {"type": "object"},
            "reports": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "text": _NULLABLE_STR, "language": {"type": "string"},
                "salute": {"type": "object"}, "location": {"type": "object"},
                "created_at": {"type": "string", "format": "date-time"}}}},
            "timeline": {"type": "array", "items": {"type": "object", "properties": {
                "at": {"type": "string"}, "kind": {"type": "string"},
                "actor": {"type": "string"}, "data": {"type": "object"}}}},
            "alerts": {"type": "array", "items": {"type": "object"}},
        }}]}
    code_param = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    secured = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hotline API", "version": "1.0.0",
                 "description": "Incidents, reports and jurisdictions of a Hotline instance. "
                                "Phone numbers never appear in clear."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR, "Incident": incident, "IncidentDetail": detail},
        },
        "paths": {
            "/incidents": {"get": {
                "summary": "List incidents", "security": secured,
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string"},
                     "description": "Comma-separated statuses, or `open`."},
                    {"name": "jurisdiction", "in": "query", "schema": {"type": "string"},
                     "description": "A jurisdiction slug, or `none` for the fallback queue."},
                    {"name": "since", "in": "query",
                     "schema": {"type": "string", "format": "date-time"}},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                ],
                "responses": {
                    "200": {"description": "Incidents", "content": {"application/json": {
                        "schema": {"type": "object", "required": ["incidents"], "properties": {
                            "incidents": {"type": "array", "items": {
                                "$ref": "#/components/schemas/Incident"}}}}}}},
                    "400": _error("Bad filter"), "401": _error("No valid token")}}},
            "/incidents/{code}": {"get": {
                "summary": "One incident with reports, timeline and alerts", "security": secured,
                "parameters": [code_param],
                "responses": {
                    "200": {"description": "The incident", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/IncidentDetail"}}}},
                    "401": _error("No valid token"), "404": _error("No such incident")}}},
            "/incidents/{code}/actions": {"post": {
                "summary": "Apply a dispatcher action", "security": secured,
                "parameters": [code_param],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["action"], "properties": {
                        "action": {"type": "string",
                                   "enum": ["verify", "dismiss", "resolve", "merge", "note"]},
                        "note": {"type": "string", "maxLength": 4000},
                        "into": {"type": "string"}}}}}},
                "responses": {
                    "200": {"description": "Applied", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "code": {"type": "string"}, "status": {"type": "string"}}}}}},
                    "400": _error("Bad action"), "401": _error("No valid token"),
                    "404": _error("No such incident"),
                    "409": _error("Not allowed in the incident's status")}}},
            "/jurisdictions": {"get": {
                "summary": "Jurisdictions with open-incident counts", "security": secured,
                "responses": {
                    "200": {"description": "Jurisdictions", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "jurisdictions": {"type": "array", "items": {"type": "object"}},
                            "unassigned": {"type": "object"}}}}}},
                    "401": _error("No valid token")}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {
                "200": {"description": "OpenAPI document"}}}},
        },
    }
