"""The OpenAPI 3 document of the JSON API v1 (tests check responses against it)."""
from __future__ import annotations

from typing import Any

from intake.feedback_models import RATINGS, RESULT_KINDS

_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_NULL = {"enum": [None], "nullable": True}  # null, in words both OpenAPI 3.0 and JSON Schema read


def _error_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["error", "message"],
            "properties": {"error": _STR, "message": _STR, "reference": _STR, "replaced_on": _STR,
                           "phones": {"type": "array", "items": _STR},
                           "fields": {"type": "object", "additionalProperties": {
                               "type": "object", "required": ["error", "message"],
                               "properties": {"error": _STR, "message": _STR}}}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {400: "Malformed JSON or a field of the wrong type", 404: "Unknown receipt (always the same answer)",
             409: "Replayed submission whose receipt can no longer be shown, a receipt that must be replaced, or "
                  "a rating/objection refused (no result yet, after the 30 days, or a second time)",
             410: "The receipt was replaced (receipt_replaced: replaced_on, and the phones to call if that was "
                  "not you)",
             413: "Too large (a body that is not multipart: MAX_BODY_KB)", 415: "File type not accepted",
             422: "Validation failed (see fields)",
             429: "Too many requests, or the report's follow-up quota is used up (quota_exceeded)",
             503: "Storage or database unavailable (try again later)"}
    return {str(c): {"description": texts[c], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def _receipt_body() -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["receipt"],
        "properties": {"receipt": {"type": "string", "example": "1234-5678-9012-3456"}}}}}}


def openapi_document() -> dict[str, Any]:
    person = {"type": "object", "properties": {"name": _STR, "phone": _STR, "email": _STR}}
    accused = {"type": "object", "properties": {"name": _STR, "institution": _STR, "position": _STR}}
    new_report = {"type": "object", "required": ["text"], "properties": {
        "text": {"type": "string", "minLength": 20, "maxLength": 20000, "description": "What happened"},
        "title": {"type": "string", "maxLength": 200}, "occurred": {"type": "string", "maxLength": 500},
        "anonymous": {"type": "boolean", "default": True}, "own_conduct": {"type": "boolean", "default": False},
        "reporter": person, "accused": accused}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Xinglongtai report desk API", "version": "1.0.0",
                 "description": "Reporting channel for the app / mini-program. Receipts are shown once: "
                                "store them on the device, never send them elsewhere."},
        "paths": {
            "/api/v1/reports": {"post": {
                "summary": "File a report",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "maxLength": 200},
                                "description": "Same key within 10 minutes returns the same receipt (200)"}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/NewReport"}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {
                        "report": {"type": "string", "description": "NewReport as JSON"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {"201": {"description": "Received", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Receipt"}}}},
                    "200": {"description": "Replay of an earlier submission with the same Idempotency-Key",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                    **_errors(400, 409, 413, 415, 422, 429, 503)}}},
            "/api/v1/reports/lookup": {"post": {
                "summary": "Status and messages of a report, by receipt",
                "requestBody": _receipt_body(),
                "responses": {"200": {"description": "Found", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Status"}}}}, **_errors(400, 404, 410, 413, 429, 503)}}},
            "/api/v1/reports/messages": {"post": {
                "summary": "Reply to the handler",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["receipt", "text"],
                    "properties": {"receipt": _STR, "text": {"type": "string", "maxLength": 20000}}}}}},
                "responses": {"201": {"description": "Added", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["created_at"], "properties": {"created_at": _TIME}}}}},
                    **_errors(400, 404, 409, 410, 413, 415, 422, 429, 503)}}},
            "/api/v1/reports/rating": {"post": {
                "summary": "Rate the result once, within 30 days of it (满意 / 基本满意 / 不满意)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["receipt", "rating"],
                    "properties": {"receipt": _STR, "rating": {"type": "string", "enum": list(RATINGS)},
                                   "comment": {"type": "string", "maxLength": 2000}}}}}},
                "responses": {"201": {"description": "Recorded", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["rating", "rated_at"],
                    "properties": {"rating": {"type": "string", "enum": list(RATINGS)}, "rated_at": _TIME}}}}},
                    **_errors(400, 404, 409, 410, 413, 422, 429, 503)}}},
            "/api/v1/reports/objection": {"post": {
                "summary": "Object to the result once, within 30 days of it (复查 request); the task force reviews it",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {
                        "type": "object", "required": ["receipt", "text"],
                        "properties": {"receipt": _STR, "text": {"type": "string", "minLength": 10, "maxLength": 20000}}}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {
                        "report": {"type": "string", "description": "{receipt, text} as JSON"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {"201": {"description": "Received", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["state", "filed_at"],
                    "properties": {"state": {"type": "string", "enum": ["open"]}, "filed_at": _TIME}}}}},
                    **_errors(400, 404, 409, 410, 413, 415, 422, 429, 503)}}},
            "/api/v1/reports/receipt": {"post": {
                "summary": "Replace the receipt with a new one (required once for clerk-issued receipts)",
                "requestBody": _receipt_body(),
                "responses": {"200": {"description": "New receipt", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["reference", "receipt"],
                               "properties": {"reference": _STR, "receipt": _STR}}}}},
                               **_errors(400, 404, 410, 413, 429, 503)}}},
        },
        "components": {"schemas": {
            "NewReport": new_report,
            "Receipt": {"type": "object", "required": ["reference", "receipt", "received_at"], "properties": {
                "reference": {"type": "string", "example": "XLT-2026-000123"},
                "receipt": {"type": "string", "pattern": "^\\d{4}-\\d{4}-\\d{4}-\\d{4}$"},
                "received_at": _TIME}},
            "Status": {"type": "object", "required": ["reference", "status", "received_at", "history", "messages",
                                                      "must_reset_receipt"], "properties": {
                "reference": _STR,
                "status": {"type": "string", "enum": ["received", "accepted", "in_progress", "closed", "not_accepted"]},
                "received_at": _TIME,
                "history": {"type": "array", "items": {"type": "object", "required": ["status", "at"],
                                                       "properties": {"status": _STR, "at": _TIME}}},
                "messages": {"type": "array", "items": {"type": "object", "required": ["author", "text", "created_at"],
                             "properties": {"author": {"type": "string", "enum": ["reporter", "staff"]},
                                            "text": _STR, "created_at": _TIME,
                                            "files": {"type": "array", "items": _STR}}}},
                "must_reset_receipt": {"type": "boolean"},
                "result": {"anyOf": [{"$ref": "#/components/schemas/Result"}, _NULL]}}},
            "Result": {"type": "object",
                       "description": "What the case ended with, written for the reporter; null while it runs",
                       "required": ["text", "decided_on", "kind", "open_until", "rating", "can_rate", "can_object",
                                    "objection"], "properties": {
                "text": _STR, "decided_on": {"type": "string", "format": "date"},
                "kind": {"type": "string", "enum": list(RESULT_KINDS)},
                "open_until": {"type": "string", "format": "date",
                               "description": "The last day a rating or an objection is taken"},
                "rating": {"enum": [*RATINGS, None], "nullable": True},
                "can_rate": {"type": "boolean"}, "can_object": {"type": "boolean"},
                "objection": {"anyOf": [{"type": "object", "required": ["state", "reply"], "properties": {
                    "state": {"type": "string", "enum": ["open", "reopened", "upheld"]},
                    "reply": {"type": "string", "description": "The task force's answer, once reviewed"}}}, _NULL]}}},
            "Error": _error_schema(),
        }},
    }
