"""App-wide web pieces: health check, language switch, error pages, security headers."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Flask, current_app, jsonify, make_response, redirect, render_template, request
from flask import Request as FlaskRequest
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from core import roles as _roles  # noqa: F401  (they register the unit and role labels)
from core import units as _units  # noqa: F401
from core.api_errors import api_error
from core.auth import safe_next
from core.db import get_session
from core.extensions import LANG_COOKIE
from core.labels import actor_label, label, person_label

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")


class Request(FlaskRequest):
    """Only a multipart body (the one kind that carries files) may be as large as MAX_CONTENT_LENGTH; any
    other body (JSON, url-encoded forms) is capped at MAX_BODY_BYTES. Werkzeug refuses a larger
    Content-Length with 413 before reading a byte, and stops a chunked body at the cap while reading it,
    so nothing too large reaches the JSON parser or the form parser."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and not self.is_multipart:
            return current_app.config.get("MAX_BODY_BYTES") or current_app.config["MAX_CONTENT_LENGTH"]
        return FlaskRequest.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def is_multipart(self) -> bool:
        return self.mimetype == "multipart/form-data"

    @cached_property
    def stream(self):
        """A body without Content-Length (chunked) that the server terminates: Werkzeug would hand the
        reader its first max_content_length bytes and stop there without an error (a truncated body
        reaching the parser); this stream raises 413 instead, as soon as one byte more arrives."""
        limit = self.max_content_length
        if limit is not None and self.content_length is None and "wsgi.input_terminated" in self.environ \
                and not self.shallow:
            return CappedStream(self.environ["wsgi.input"], limit)
        return FlaskRequest.stream.fget(self)


class CappedStream(LimitedStream):
    """Reads at most `cap` bytes; one byte more is 413 (RequestEntityTooLarge)."""

    def __init__(self, stream, cap: int):
        super().__init__(stream, cap + 1, is_max=True)
        self._cap = cap

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        if self._pos > self._cap:
            raise RequestEntityTooLarge()
        return count


def _is_api() -> bool:
    return request.path.startswith("/api/")


def error_messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("You are not allowed to do this."),
        404: _("Nothing was found at this address."),
        405: _("This method is not allowed here."),
        413: (_("What you sent is too large. Files may be at most %(mb)s MB each.", mb=_max_mb())
              if request.is_multipart else
              _("What you sent is too large: at most %(kb)s KB without files.", kb=_max_body_kb())),
        415: _("This type of content is not accepted."),
        429: _("Too many attempts. Please wait a while and try again."),
        500: _("Something went wrong on our side. Nothing you sent before this page was lost."),
        503: _("The service is temporarily unavailable. Please try again later."),
    }


def _max_mb() -> int:
    return current_app.config["MAX_FILE_BYTES"] // (1024 * 1024)


def _max_body_kb() -> int:
    return (current_app.config.get("MAX_BODY_BYTES") or 0) // 1024


def init_app(app: Flask) -> None:
    app.request_class = Request
    @app.get("/healthz")
    def healthz():
        try:
            get_session().execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database did not answer")
            return jsonify(status="database unavailable"), 503
        return jsonify(status="ok")

    @app.get("/lang/<code>")
    def set_language(code: str):
        target = safe_next(request.args.get("next")) or "/"
        response = redirect(target)
        response.set_cookie(LANG_COOKIE, "en" if code == "en" else "zh_CN", max_age=365 * 86400,
                            samesite="Lax", secure=app.config["SESSION_COOKIE_SECURE"], httponly=True)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = _("This form has expired or was already sent. Please go back, reload the page and try again.")
        if _is_api():
            return api_error(400, "csrf", message)
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = error_messages().get(status, exc.description or "")
        if _is_api():
            codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
                     415: "unsupported_media_type", 429: "too_many_requests"}
            return api_error(status, codes.get(status, "http_error"), message)
        response = make_response(render_template("error.html", status=status, message=message), status)
        if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(exc: Exception):
        """The database is down or restarting: a clear 503 (nothing was acknowledged), not a 500."""
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc.orig).__name__
                    if getattr(exc, "orig", None) is not None else type(exc).__name__)
        message = error_messages()[503]
        if _is_api():
            response = make_response(api_error(503, "unavailable", message))
        else:
            response = make_response(render_template("error.html", status=503, message=message), 503)
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = error_messages()[500]
        if _is_api():
            return api_error(500, "internal", message)
        return render_template("error.html", status=500, message=message), 500

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["APP_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint and not request.endpoint.startswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    zone = ZoneInfo(app.config["TIMEZONE"])

    @app.template_filter("local")
    def local_time(value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Stored times are UTC; people read Beijing time (TIMEZONE)."""
        return value.replace(tzinfo=timezone.utc).astimezone(zone).strftime(fmt)

    app.add_template_filter(label, "label")
    app.add_template_global(label, "label")
    app.add_template_global(actor_label, "actor_label")
    app.add_template_filter(person_label, "person")

    @app.context_processor
    def template_globals():
        from flask_babel import get_locale
        return {"current_locale": str(get_locale()), "site_name": app.config.get("SITE_NAME") or _("Xinglongtai District Medical-Sector Corruption Report Desk")}
