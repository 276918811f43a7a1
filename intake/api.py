"""JSON API v1 for the app / mini-program channel. Errors are always JSON with a stable code."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from core.api_errors import api_error
from core.db import get_session
from core.extensions import limiter
from core.localtime import local_today
from intake.errors import (AlreadySubmitted, IntakeError, ReceiptMustReset, ReceiptNotFound, ReceiptReplaced,
                           ValidationFailed)
from intake.feedback import public_result, rate_result
from intake.followup import add_reporter_message, find_by_receipt, object_to_result, public_view, replace_receipt
from intake.messages import field_messages, message_for
from intake.openapi import openapi_document
from intake.public import failed_submit_budget, incoming_files, intake_context, receipt_budget, submit_budget
from intake.receipts import format_receipt
from intake.submit import submit_report
from intake.validate import ReportInput

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadPayload(IntakeError):
    code = "invalid_type"


class MalformedJSON(IntakeError):
    code = "malformed_json"


def api_limit() -> str:
    return current_app.config["RATELIMIT_API"]


# A ceiling on every API request of a client, on top of the submission and receipt budgets.
limiter.shared_limit(api_limit, scope="api")(bp)


def _payload() -> dict[str, Any]:
    """The JSON object of the request: a JSON body, or the `report` part of a multipart body."""
    if request.mimetype == "multipart/form-data":
        raw = request.form.get("report") or request.form.get("data") or "{}"
    else:
        raw = request.get_data(cache=True, as_text=False)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise MalformedJSON()
    if not isinstance(data, dict):
        raise BadPayload(field="(body)")
    return data


def _str(data: dict, key: str, container: str = "") -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadPayload(field=f"{container}{key}")
    return value


def _obj(data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise BadPayload(field=key)
    return value


def _report_input(data: dict) -> ReportInput:
    anonymous = data.get("anonymous", True)
    if not isinstance(anonymous, bool):
        raise BadPayload(field="anonymous")
    own = data.get("own_conduct", False)
    if not isinstance(own, bool):
        raise BadPayload(field="own_conduct")
    reporter, accused = _obj(data, "reporter"), _obj(data, "accused")
    return ReportInput(
        text=_str(data, "text"), title=_str(data, "title"), occurred=_str(data, "occurred"),
        accused_name=_str(accused, "name", "accused."), accused_institution=_str(accused, "institution", "accused."),
        accused_position=_str(accused, "position", "accused."), anonymous=anonymous,
        reporter_name=_str(reporter, "name", "reporter."), reporter_phone=_str(reporter, "phone", "reporter."),
        reporter_email=_str(reporter, "email", "reporter."), own_conduct=own, channel="app")


def _error_response(exc: IntakeError):
    if isinstance(exc, ValidationFailed):
        fields = {name: {"error": err.code, "message": msg}
                  for (name, err), msg in zip(exc.errors.items(), field_messages(exc).values())}
        status = 413 if any(e.code == "file_too_large" for e in exc.errors.values()) else 422
        return api_error(status, "validation_failed", message_for(exc.first), fields=fields)
    if isinstance(exc, AlreadySubmitted):
        return api_error(409, exc.code, message_for(exc), reference=exc.params.get("reference"))
    if isinstance(exc, ReceiptReplaced):
        return api_error(exc.status, exc.code, message_for(exc), replaced_on=exc.params["replaced_on"],
                         phones=exc.params["phones"])
    status = 400 if isinstance(exc, (BadPayload, MalformedJSON)) else exc.status
    return api_error(status, exc.code, message_for(exc))


@bp.errorhandler(IntakeError)
def intake_error(exc: IntakeError):
    return _error_response(exc)


@bp.after_request
def cors(response):
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["CORS_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Vary"] = "Origin"
    return response


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/reports")
@submit_budget
@failed_submit_budget
def create_report():
    data = _payload()
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > 200:
        raise BadPayload(field="Idempotency-Key")
    receipt = submit_report(get_session(), intake_context(), _report_input(data), incoming_files(),
                            submission_token=("api:" + key) if key else None)
    body = {"reference": receipt.reference, "receipt": format_receipt(receipt.receipt),
            "received_at": receipt.received_at.isoformat(timespec="seconds") + "Z"}
    return jsonify(body), 200 if receipt.replayed else 201


def _found():
    data = _payload()
    receipt = data.get("receipt")
    if not isinstance(receipt, str):
        raise ReceiptNotFound()
    return data, find_by_receipt(get_session(), intake_context(), receipt)


@bp.post("/reports/lookup")
@receipt_budget
def lookup():
    _data, report = _found()
    if report.receipt_must_reset:  # a clerk saw this code: nothing is shown until it is replaced
        return jsonify({"reference": report.reference, "status": report.status,
                        "received_at": report.received_at.isoformat(timespec="seconds") + "Z", "history": [],
                        "messages": [], "must_reset_receipt": True, "result": None})
    view = public_view(report)
    return jsonify({
        "reference": view.reference, "status": view.status,
        "received_at": view.received_at.isoformat(timespec="seconds") + "Z",
        "history": [{"status": s, "at": at.isoformat(timespec="seconds") + "Z"} for s, at in view.history],
        "messages": [{"author": m.author, "text": m.body, "created_at": m.created_at.isoformat(timespec="seconds") + "Z",
                      "files": m.files} for m in view.messages],
        "must_reset_receipt": view.must_reset_receipt,
        "result": _result_json(report),
    })


def _result_json(report) -> dict | None:
    result = public_result(get_session(), report, local_today())
    if result is None:
        return None
    objection = ({"state": result.objection_state, "reply": result.objection_reply}
                 if result.objection_state else None)
    return {"text": result.text, "decided_on": result.decided_on.isoformat(), "kind": result.kind,
            "open_until": result.open_until.isoformat(), "rating": result.rating, "can_rate": result.can_rate,
            "can_object": result.can_object, "objection": objection}


@bp.post("/reports/rating")
@receipt_budget
def rate():
    """满意 / 基本满意 / 不满意, once, within 30 days of the result."""
    data, report = _found()
    if report.receipt_must_reset:
        raise ReceiptMustReset()
    comment = _str(data, "comment")
    row = rate_result(get_session(), report, data.get("rating"), comment, source="api")
    return jsonify({"rating": row.rating, "rated_at": row.rated_at.isoformat(timespec="seconds") + "Z"}), 201


@bp.post("/reports/objection")
@receipt_budget
def object_to():
    """A 复查 request, once, within 30 days of the result (files as multipart, like a message)."""
    data, report = _found()
    if report.receipt_must_reset:
        raise ReceiptMustReset()
    row = object_to_result(get_session(), intake_context(), report, _str(data, "text"), incoming_files())
    return jsonify({"state": row.state, "filed_at": row.filed_at.isoformat(timespec="seconds") + "Z"}), 201


@bp.post("/reports/messages")
@receipt_budget
def add_message():
    data, report = _found()
    if report.receipt_must_reset:
        raise ReceiptMustReset()
    message = add_reporter_message(get_session(), intake_context(), report, _str(data, "text"), incoming_files())
    return jsonify({"created_at": message.created_at.isoformat(timespec="seconds") + "Z"}), 201


@bp.post("/reports/receipt")
@receipt_budget
def renew_receipt():
    """Replace the receipt (required once when a clerk issued it)."""
    _data, report = _found()
    return jsonify({"reference": report.reference,
                    "receipt": format_receipt(replace_receipt(get_session(), intake_context(), report))})
