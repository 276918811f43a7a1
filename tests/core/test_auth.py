"""Staff login: passwords, lockout, TOTP enrolment and replay, logout, sessions, next, CSRF, rate
limit, audit events, and the `users` commands."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from flask_login import login_required
from sqlalchemy import select, text

from core.accounts import User, check_password
from core.audit import AuditEvent
from core.db import utcnow
from tests.support.staff import PASSWORD, login, logout, make_user, otp_code
from tests.support.web import hidden_fields, text_of

GENERIC = "登录失败"  # the start of the one message every failed login gets


def events(session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def fresh(session, username: str) -> User:
    session.rollback()
    session.expire_all()  # rollback alone keeps objects loaded before the last commit as they were
    return session.scalar(select(User).where(User.username == username))


def secret_on(page: str) -> str:
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


# --- password login ----------------------------------------------------------------------------

def test_login_ok_lands_on_the_queue_and_is_audited(client, session):
    make_user(session, "wang", display_name="王明")
    response = login(client, "wang")
    assert response.status_code == 302
    assert response.headers["Location"] in ("/queue", "/")
    assert client.get("/account/password").status_code == 200
    ok = events(session, "login.ok")
    assert len(ok) == 1 and ok[0].actor_id == fresh(session, "wang").id
    assert fresh(session, "wang").last_login_at is not None


def test_login_page_is_chinese_and_has_exactly_the_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert "工作人员登录" in page
    assert set(re.findall(r'<input[^>]*name="([^"]+)"', page)) == {"csrf_token", "username", "password", "otp"}


@pytest.mark.parametrize("username,password", [("nobody", PASSWORD), ("wang", "wrong password 123")])
def test_failed_login_gets_one_generic_message_and_the_reason_is_audited(client, session, username, password):
    make_user(session, "wang")
    response = login(client, username, password)
    assert response.status_code == 401
    assert GENERIC in text_of(response.get_data(as_text=True))
    assert client.get("/account/password").status_code == 302  # not logged in
    failed = events(session, "login.failed")
    assert len(failed) == 1
    assert failed[0].detail["reason"] == ("unknown user" if username == "nobody" else "wrong password")
    if username == "nobody":  # not an account: only a keyed hash of what was typed (tests/core/test_audit.py)
        assert "username" not in failed[0].detail and len(failed[0].detail["username_hash"]) == 16
    else:
        assert failed[0].detail["username"] == username


def test_inactive_user_gets_the_same_message(client, session):
    make_user(session, "wang", active=False)
    response = login(client, "wang")
    assert response.status_code == 401 and GENERIC in text_of(response.get_data(as_text=True))
    assert events(session, "login.failed")[0].detail["reason"] == "inactive account"


def test_lockout_after_five_failures_and_unlock_after_the_period(client, session):
    make_user(session, "wang")
    messages = set()
    for _ in range(5):
        response = login(client, "wang", "wrong password 123")
        messages.add(text_of(response.get_data(as_text=True)).split("登录失败")[1][:40])
    user = fresh(session, "wang")
    assert user.failed_logins == 5 and user.locked_until > utcnow() + timedelta(minutes=14)
    assert len(events(session, "login.locked")) == 1

    response = login(client, "wang")  # the right password, but locked: the same message as before
    assert response.status_code == 401
    messages.add(text_of(response.get_data(as_text=True)).split("登录失败")[1][:40])
    assert len(messages) == 1
    locked = events(session, "login.locked")
    assert len(locked) == 2 and locked[-1].detail["reason"] == "attempt while locked"

    session.execute(text("UPDATE users SET locked_until = :t WHERE username = 'wang'"),
                    {"t": utcnow() - timedelta(seconds=1)})
    session.commit()
    assert login(client, "wang").status_code == 302
    user = fresh(session, "wang")
    assert user.failed_logins == 0 and user.locked_until is None


def test_lockout_threshold_and_period_are_configurable(app_factory, session):
    app = app_factory(LOGIN_MAX_FAILURES=2, LOGIN_LOCK_MINUTES=1)
    client = app.test_client()
    make_user(session, "wang")
    login(client, "wang", "wrong password 123")
    assert fresh(session, "wang").locked_until is None
    login(client, "wang", "wrong password 123")
    until = fresh(session, "wang").locked_until
    assert until is not None and until < utcnow() + timedelta(minutes=1, seconds=5)
    assert login(client, "wang").status_code == 401


def test_a_success_resets_the_failure_count(client, session):
    make_user(session, "wang")
    for _ in range(4):
        login(client, "wang", "wrong password 123")
    assert login(client, "wang").status_code == 302
    assert fresh(session, "wang").failed_logins == 0


# --- TOTP ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinators_and_admins_enrol_before_anything_else(client, session, role):
    make_user(session, "li", role=role, unit="taskforce")
    response = login(client, "li")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/totp")
    for path in ("/account/password", "/admin/users", "/queue", "/login"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"].startswith("/account/totp"), path
    assert client.get("/").status_code == 200  # the public site stays open

    page = client.get("/account/totp").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = secret_on(page)
    assert secret_on(client.get("/account/totp").get_data(as_text=True)) == secret  # stable across reloads
    stored = fresh(session, "li").totp_secret
    assert stored and secret.encode() not in stored  # encrypted at rest

    token = hidden_fields(page)["csrf_token"]
    wrong = client.post("/account/totp", data={"csrf_token": token, "otp": "000000" if otp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 400 and not fresh(session, "li").totp_confirmed
    code = otp_code(secret)
    done = client.post("/account/totp", data={"csrf_token": token, "otp": code})
    assert done.status_code == 302
    assert fresh(session, "li").totp_confirmed
    enrolled = events(session, "totp.enrolled")
    assert len(enrolled) == 1 and enrolled[0].detail["otp_counter"] == pyotp.TOTP(secret).timecode(time.time())
    assert client.get("/account/password").status_code == 200  # no longer held at enrolment

    logout(client)
    assert login(client, "li").status_code == 401  # the code is now required
    assert events(session, "login.failed")[-1].detail["reason"] == "one-time code missing"
    assert login(client, "li", otp=code).status_code == 401  # the enrolment code cannot be replayed
    assert events(session, "login.failed")[-1].detail["reason"] == "one-time code used before"
    next_code = otp_code(secret, steps=1)
    assert login(client, "li", otp=next_code).status_code == 302
    logout(client)
    assert login(client, "li", otp=next_code).status_code == 401  # nor a login code
    assert events(session, "login.failed")[-1].detail["reason"] == "one-time code used before"


def test_login_with_the_otp_field(client, session):
    secret = pyotp.random_base32()
    make_user(session, "zhao", role="coordinator", unit="taskforce", totp_secret=secret)
    response = login(client, "zhao", otp="123456" if otp_code(secret) != "123456" else "654321")
    assert response.status_code == 401 and GENERIC in text_of(response.get_data(as_text=True))
    assert events(session, "login.failed")[-1].detail["reason"] == "wrong one-time code"
    assert login(client, "zhao", "wrong password 123", otp=otp_code(secret)).status_code == 401
    response = login(client, "zhao", otp=otp_code(secret))
    assert response.status_code == 302 and not response.headers["Location"].startswith("/account/totp")
    assert client.get("/account/password").status_code == 200


def test_wrong_codes_count_towards_the_lockout(client, session):
    secret = pyotp.random_base32()
    make_user(session, "zhao", role="admin", unit="taskforce", totp_secret=secret)
    wrong = "123456" if otp_code(secret) != "123456" else "654321"
    for _ in range(5):
        login(client, "zhao", otp=wrong)
    assert login(client, "zhao", otp=otp_code(secret)).status_code == 401
    assert fresh(session, "zhao").locked_until is not None


def test_a_handler_logs_in_without_a_second_factor(client, session):
    make_user(session, "wang", role="handler")
    response = login(client, "wang")
    assert response.status_code == 302 and "/account/totp" not in response.headers["Location"]


# --- sessions ------------------------------------------------------------------------------------

def test_logout_needs_post_and_csrf_and_is_audited(client, session):
    make_user(session, "wang")
    login(client, "wang")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/account/password").status_code == 200
    response = logout(client)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/account/password").status_code == 302
    assert len(events(session, "logout")) == 1


def test_csrf_is_required_on_login(client, session):
    make_user(session, "wang")
    response = client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account/password").status_code == 302
    assert events(session, "login.ok") == []


def test_deactivation_ends_a_running_session(client, session):
    make_user(session, "wang")
    login(client, "wang")
    assert client.get("/account/password").status_code == 200
    user = fresh(session, "wang")
    user.active = False
    user.session_version += 1
    session.commit()
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_stale_session_version_logs_out(client, session):
    make_user(session, "wang")
    login(client, "wang")
    session.execute(text("UPDATE users SET session_version = session_version + 1 WHERE username = 'wang'"))
    session.commit()
    assert client.get("/account/password").status_code == 302


def test_session_expires_after_the_idle_lifetime_and_slides(app_factory, session):
    app = app_factory(env={"SESSION_LIFETIME_SECONDS": "2"})
    client = app.test_client()
    make_user(session, "wang")
    login(client, "wang")
    for _ in range(3):  # activity keeps it alive past the lifetime: the cookie is renewed on each request
        time.sleep(1.1)
        response = client.get("/account/password")
        assert response.status_code == 200
        assert "Expires=" in response.headers.get("Set-Cookie", "")
    time.sleep(3.2)
    assert client.get("/account/password").status_code == 302


def test_login_clears_the_session_before(client, session):
    make_user(session, "wang")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    login(client, "wang")
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.permanent


@pytest.mark.parametrize("target,expected", [
    ("/account/password", "/account/password"),
    ("/account/password?x=1", "/account/password?x=1"),
    ("//evil.example/x", None), ("https://evil.example/", None), ("/\\evil.example", None),
    ("javascript:alert(1)", None), ("account", None),
])
def test_next_is_followed_only_to_a_same_site_path(client, session, target, expected):
    make_user(session, "wang")
    response = login(client, "wang", next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == expected if expected else location in ("/queue", "/")


def test_a_protected_page_sends_to_login_with_next(client, session):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account/password"
    make_user(session, "wang")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert hidden_fields(page)["next"] == "/account/password"


def test_api_paths_get_401_json(app_factory):
    app = app_factory()

    @login_required
    def staff_api():
        return {"ok": True}

    app.add_url_rule("/api/v1/staff-probe", "staff_probe", staff_api)
    response = app.test_client().get("/api/v1/staff-probe")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_rate_limit_on_login(app_factory, session):
    app = app_factory(env={"RATELIMIT_ENABLED": "true"}, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    make_user(session, "wang")
    statuses = [login(client, "wang", "wrong password 123").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert client.get("/login").status_code == 200  # the form itself is not limited


# --- own password ----------------------------------------------------------------------------------

def test_change_own_password_ends_other_sessions(app, session):
    make_user(session, "wang")
    mine, other = app.test_client(), app.test_client()
    login(mine, "wang")
    login(other, "wang")
    token = hidden_fields(mine.get("/account/password").get_data(as_text=True))["csrf_token"]
    short = mine.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                 "new_password": "short", "confirm": "short"})
    assert short.status_code == 400 and "12" in text_of(short.get_data(as_text=True))
    wrong = mine.post("/account/password", data={"csrf_token": token, "current_password": "not it at all",
                                                 "new_password": "a new long password", "confirm": "a new long password"})
    assert wrong.status_code == 400
    done = mine.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                "new_password": "a new long password", "confirm": "a new long password"})
    assert done.status_code == 302
    assert mine.get("/account/password").status_code == 200  # this session continues
    assert other.get("/account/password").status_code == 302  # the other one ended
    assert check_password(fresh(session, "wang"), "a new long password")
    assert len(events(session, "password.changed")) == 1


# --- commands ------------------------------------------------------------------------------------

def test_users_create_reads_the_password_from_stdin(runner, client, session):
    result = runner.invoke(args=["users", "create", "--username", "zhang", "--unit", "health", "--role", "handler",
                                 "--email", "zhang@xlt.gov.cn", "--display-name", "张伟", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "created zhang" in result.output
    user = fresh(session, "zhang")
    assert (user.unit_code, user.role, user.display_name, user.email) == ("health", "handler", "张伟", "zhang@xlt.gov.cn")
    assert check_password(user, "a long enough password")
    assert events(session, "user.created")[0].actor == "cli"
    assert login(client, "zhang", "a long enough password").status_code == 302

    listing = runner.invoke(args=["users", "list"])
    assert listing.exit_code == 0 and "zhang" in listing.output and "handler" in listing.output


@pytest.mark.parametrize("args,password,message", [
    (["--username", "zhang", "--unit", "health", "--role", "handler"], "too short", "at least 12 characters"),
    (["--username", "wang", "--unit", "health", "--role", "handler"], "a long enough password", "user 'wang' exists"),
    (["--username", "zhang", "--unit", "nowhere", "--role", "handler"], "a long enough password", "unknown unit 'nowhere'"),
    (["--username", "zhang", "--unit", "health", "--role", "boss"], "a long enough password", "unknown role 'boss'"),
    (["--username", "zhang", "--unit", "health", "--role", "handler", "--display-name", "张"], "a long enough password",
     "real name of at least two characters"),
    (["--username", "zhang", "--unit", "taskforce", "--role", "coordinator", "--display-name", " · "],
     "a long enough password", "real name of at least two characters"),
])
def test_users_create_errors(runner, session, args, password, message):
    make_user(session, "wang")
    # The case's own --display-name comes after the default one, so click keeps the case's.
    result = runner.invoke(args=["users", "create", "--display-name", "张三", *args, "--email", "x@xlt.gov.cn",
                                 "--password-stdin"], input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output
    session.rollback()
    assert session.scalar(select(User).where(User.username == "zhang")) is None


def test_users_deactivate_unlock_and_reset_totp(runner, client, session):
    make_user(session, "zhao", role="coordinator", unit="taskforce", totp_secret=pyotp.random_base32())
    make_user(session, "wang")
    login(client, "wang")
    result = runner.invoke(args=["users", "deactivate", "wang"])
    assert result.exit_code == 0, result.output
    assert client.get("/account/password").status_code == 302  # the running session ended
    assert not fresh(session, "wang").active
    assert runner.invoke(args=["users", "reset-totp", "zhao"]).exit_code == 0
    user = fresh(session, "zhao")
    assert user.totp_secret is None and not user.totp_confirmed
    assert runner.invoke(args=["users", "deactivate", "nobody"]).exit_code == 1
    assert [e.action for e in events(session, "user.deactivated") + events(session, "user.totp_reset")] == \
        ["user.deactivated", "user.totp_reset"]
