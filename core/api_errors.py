"""The JSON error body of every API answer: a stable code and a translated message."""
from __future__ import annotations

from flask import jsonify


def api_error(status: int, code: str, message: str, **extra):
    body = {"error": code, "message": message}
    body.update(extra)
    return jsonify(body), status
