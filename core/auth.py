"""Staff login: Flask-Login sessions, password + TOTP, lockout, enrolment, own password change.

One generic answer for every failed login (unknown user, wrong password or code, locked, inactive);
the reason goes to the log and the audit trail. A TOTP code is used once: the counter of the last
code accepted is kept in the audit trail ("login.ok" / "totp.enrolled"), so the guard holds across
processes without a column of its own."""
from __future__ import annotations

import hmac
import logging
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import segno
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import update
from wtforms import PasswordField, StringField

from core.accounts import (
    AccountError,
    User,
    burn_password_check,
    check_password,
    end_sessions,
    find_user,
    hash_password,
)
from core.api_errors import api_error
from core.audit import latest, record
from core.db import get_session, utcnow
from core.extensions import csrf, limiter
from core.staff_sessions import SESSION_KEY, close_all, close_session, is_open, open_session

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()
OTP_ACTIONS = ("login.ok", "totp.enrolled")  # events whose detail holds the last used otp_counter
# Endpoints a user who still has to enrol TOTP may reach; public pages and the citizens' API stay open.
ENROLMENT_OPEN = {"auth.totp", "auth.logout", "static", "set_language", "healthz"}
OPEN_BLUEPRINTS = {"public", "api"}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"})
    otp = StringField(_l("One-time code (if you have set up an authenticator app)"),
                      render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 10})


class TotpForm(FlaskForm):
    otp = StringField(_l("Code shown by the app"),
                      render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 10})


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password (at least 12 characters)"),
                                 render_kw={"autocomplete": "new-password", "minlength": 12})
    confirm = PasswordField(_l("New password again"), render_kw={"autocomplete": "new-password"})


# --- settings, helpers ---------------------------------------------------------------------------

def max_failures() -> int:
    return int(current_app.config.get("LOGIN_MAX_FAILURES", 5))


def lock_minutes() -> int:
    return int(current_app.config.get("LOGIN_LOCK_MINUTES", 15))


def login_limit() -> str:
    return current_app.config.get("RATELIMIT_LOGIN") or "20 per minute"


def generic_error() -> str:
    return _("Login failed: the user name, password or one-time code is wrong, or the account is "
             "temporarily locked. Please try again later or ask the administrator.")


def landing_url(user: User | None = None) -> str:
    user = user or current_user
    if getattr(user, "role", None) == "clerk" and "clerk.new" in current_app.view_functions:
        return url_for("clerk.new")
    if getattr(user, "role", None) == "coordinator" and "reporting.dashboard" in current_app.view_functions:
        return url_for("reporting.dashboard")  # the task force's landing page
    return url_for("staff.queue") if "staff.queue" in current_app.view_functions else "/"


def safe_next(target: str | None) -> str | None:
    """A same-site path, or None: no scheme, no host, no `//` or `/\\` (read as a host by browsers)."""
    if not target or len(target) > 2000 or any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def session_max_age() -> timedelta:
    return timedelta(hours=int(current_app.config.get("STAFF_SESSION_MAX_HOURS", 12)))


def start_session(db, user: User) -> None:
    """Log the user in under a fresh session id that the server holds (core/staff_sessions.py)."""
    session.clear()  # no session fixation: nothing from before the login survives
    token = open_session(db, user.id, session_max_age())
    db.commit()
    login_user(user)
    session[SESSION_KEY] = token
    session.permanent = True


def client_address() -> str:
    return request.remote_addr or ""


def totp_secret(user: User) -> str | None:
    if not user.totp_secret:
        return None
    return current_app.extensions["intake"].cipher.decrypt_json(user.totp_secret)["secret"]


def set_totp_secret(user: User, secret: str | None) -> None:
    user.totp_secret = None if secret is None else current_app.extensions["intake"].cipher.encrypt_json({"secret": secret})


def otp_counter(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code this is (one step either side allowed, valid_window=1), or None."""
    code = "".join((code or "").split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(time.time() if now is None else now)
    for counter in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def last_otp_counter(db, user: User, before_seq: int | None = None) -> int:
    event = latest(db, actor_id=user.id, actions=OTP_ACTIONS, before_seq=before_seq)
    return int((event.detail or {}).get("otp_counter", -1)) if event is not None else -1


# --- authentication ------------------------------------------------------------------------------

def typed_name(user: User | None, username: str) -> dict:
    """What a failed login keeps of the typed user name: the account's name when there is one; otherwise a
    keyed hash, never the text (it may be a password typed into the wrong field)."""
    if user is not None:
        return {"username": user.username}
    return {"username_hash": current_app.extensions["audit_keys"][0].name_hash(username)}


def _fail(db, user: User | None, username: str, reason: str, *, count: bool = True) -> None:
    detail = {**typed_name(user, username), "reason": reason, "ip": client_address()}
    if user is not None and count:  # counted in SQL: concurrent attempts each count
        user.failed_logins = db.execute(update(User).where(User.id == user.id)
                                        .values(failed_logins=User.failed_logins + 1)
                                        .returning(User.failed_logins)).scalar_one()
        detail["failures"] = user.failed_logins
    record(db, "login.failed", actor=user, **detail)
    if user is not None and count and user.failed_logins >= max_failures():
        user.locked_until = utcnow() + timedelta(minutes=lock_minutes())
        record(db, "login.locked", actor=user, username=user.username, until=user.locked_until.isoformat(),
               failures=user.failed_logins, ip=client_address())
        log.warning("login: %s locked until %s after %d failures", user.username, user.locked_until, user.failed_logins)
    name = detail.get("username") or "unknown user name #" + detail["username_hash"]
    log.warning("login failed for %r from %s: %s", name, client_address(), reason)
    db.commit()


def authenticate(db, username: str, password: str, otp: str) -> User | None:
    """The user when every check passes (committed with the audit event), None otherwise."""
    user = find_user(db, username) if username.strip() else None
    if user is None:
        burn_password_check(password)
        _fail(db, None, username, "unknown user")
        return None
    now = utcnow()
    if user.locked_until is not None:
        if user.locked_until > now:
            record(db, "login.locked", actor=user, username=user.username, reason="attempt while locked",
                   until=user.locked_until.isoformat(), ip=client_address())
            log.warning("login refused for %r from %s: locked", user.username, client_address())
            db.commit()
            return None
        user.locked_until, user.failed_logins = None, 0  # the lock period is over
    if not check_password(user, password):
        _fail(db, user, username, "wrong password")
        return None
    if not user.active:
        _fail(db, user, username, "inactive account", count=False)
        return None
    counter = None
    if user.totp_confirmed:
        secret = totp_secret(user)
        counter = otp_counter(secret, otp) if secret else None
        if counter is None:
            _fail(db, user, username, "wrong one-time code" if otp.strip() else "one-time code missing")
            return None
        if counter <= last_otp_counter(db, user):
            _fail(db, user, username, "one-time code used before")
            return None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    detail = {"ip": client_address()}
    if counter is not None:
        detail["otp_counter"] = counter
    event = record(db, "login.ok", actor=user, **detail)
    db.flush()
    if counter is not None and counter <= last_otp_counter(db, user, before_seq=event.seq):
        db.rollback()  # a concurrent login used the same code first (the audit head serialises us)
        _fail(db, db.get(User, user.id), username, "one-time code used before")
        return None
    db.commit()
    return user


def must_enrol(user) -> bool:
    return bool(user.is_authenticated and user.needs_totp and not user.totp_confirmed)


# --- views ---------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired page is shown again with a message
@limiter.limit(login_limit, methods=["POST"])
def login():
    form = LoginForm()
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("auth.totp") if must_enrol(current_user) else target or landing_url())
        return render_template("auth/login.html", form=form, next=target, error=None)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, next=target,
                               error=_("This form has expired. Please log in again.")), 400
    db = get_session()
    user = authenticate(db, form.username.data or "", form.password.data or "", form.otp.data or "")
    if user is None:
        form.password.data = form.otp.data = ""
        return render_template("auth/login.html", form=form, next=target, error=generic_error()), 401
    start_session(db, user)
    log.info("login: %s from %s", user.username, client_address())
    if must_enrol(user):  # the enrolment page says why
        return redirect(url_for("auth.totp", next=target) if target else url_for("auth.totp"))
    return redirect(target or landing_url(user))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        db = get_session()
        record(db, "logout", actor=current_user._get_current_object(), ip=client_address())
        close_session(db, session.get(SESSION_KEY))  # a copy of this cookie is dead from now on
        db.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."))
    return redirect(url_for("auth.login"))


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def totp():
    db = get_session()
    user: User = current_user._get_current_object()
    form = TotpForm()
    if user.totp_confirmed:
        return render_template("auth/totp.html", enrolled=True, form=form)
    secret = totp_secret(user)
    if secret is None:  # a pending secret survives reloads until it is confirmed
        secret = pyotp.random_base32()
        set_totp_secret(user, secret)
        db.commit()
    error, status = None, 200
    if request.method == "POST":
        counter = otp_counter(secret, form.otp.data or "") if form.validate_on_submit() else None
        if counter is not None and counter > last_otp_counter(db, user):
            user.totp_confirmed = True
            record(db, "totp.enrolled", actor=user, otp_counter=counter, ip=client_address())
            db.commit()
            flash(_("The authenticator app is set up. From now on, enter its code when you log in."))
            return redirect(safe_next(request.args.get("next")) or landing_url(user))
        error, status = _("The code is not correct. Check the time on your phone and enter the current code."), 400
    issuer = current_app.config.get("TOTP_ISSUER") or "XLT report desk"
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/totp.html", enrolled=False, form=form, secret=grouped, qr=qr,
                           error=error), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        db = get_session()
        user: User = current_user._get_current_object()
        if not form.validate_on_submit():
            errors["form"] = _("This form has expired. Please try again.")
        elif not check_password(user, form.current_password.data or ""):
            errors["current_password"] = _("The current password is not correct.")
        elif (form.new_password.data or "") != (form.confirm.data or ""):
            errors["confirm"] = _("The two new passwords differ.")
        else:
            try:
                user.password_hash = hash_password(form.new_password.data or "")
            except AccountError:
                errors["new_password"] = _("A password needs at least 12 characters.")
        if errors:
            db.rollback()
            return render_template("auth/password.html", form=form, errors=errors), 400
        end_sessions(user)  # other sessions of this user end; this one continues under the new version
        close_all(db, user.id)
        record(db, "password.changed", actor=user, ip=client_address())
        db.commit()
        start_session(db, user)
        flash(_("Your password was changed. Other sessions of yours have ended."))
        return redirect(landing_url(user))
    return render_template("auth/password.html", form=form, errors=errors)


# --- wiring --------------------------------------------------------------------------------------

def load_user(user_id: str) -> User | None:
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except (AttributeError, ValueError):
        return None
    user = get_session().get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    if not is_open(get_session(), uid, session.get(SESSION_KEY), session_max_age()):
        return None  # logged out (or the cookie is older than STAFF_SESSION_MAX_HOURS)
    return user


def unauthorized():
    if request.path.startswith("/api/"):
        return api_error(401, "unauthorized", _("Please log in."))
    flash(_("Please log in to see this page."))
    path = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=path))


def enforce_enrolment():
    """Coordinators and admins use nothing but enrolment until their second factor is set up."""
    if request.endpoint is None or request.endpoint in ENROLMENT_OPEN or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if must_enrol(current_user):
        return redirect(url_for("auth.totp"))
    return None


def init_app(app: Flask) -> None:
    app.config.setdefault("LOGIN_MAX_FAILURES", 5)
    app.config.setdefault("LOGIN_LOCK_MINUTES", 15)
    app.config.setdefault("RATELIMIT_LOGIN", "20 per minute")
    app.config.setdefault("SESSION_REFRESH_EACH_REQUEST", True)  # sliding PERMANENT_SESSION_LIFETIME
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.before_request(enforce_enrolment)
