"""Logout ends the session on the server: a cookie copied before logout is dead after it, and so are the
other sessions after a password change or a deactivation."""
from datetime import timedelta

from sqlalchemy import update

from core.accounts import User
from core.db import utcnow
from core.staff_sessions import StaffSession
from tests.support.staff import PASSWORD, login, make_user
from tests.support.web import hidden_fields


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value):
    thief = app.test_client()
    thief.set_cookie("session", value)
    return thief


def logged_in(app, session, username="hh"):
    make_user(session, username, role="handler", unit="health", display_name="王医政")
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/queue").status_code == 200
    return client


def logout(client):
    token = hidden_fields(client.get("/queue").get_data(as_text=True)).get("csrf_token", "")
    return client.post("/logout", data={"csrf_token": token})


def test_a_cookie_copied_before_logout_gets_the_login_page_after(app, session):
    client = logged_in(app, session)
    copied = session_cookie(client)
    assert with_cookie(app, copied).get("/queue").status_code == 200  # the copy works while the session lives
    assert logout(client).status_code == 302
    replayed = with_cookie(app, copied).get("/queue")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]
    assert client.get("/queue").status_code == 302


def test_logging_in_again_does_not_revive_the_old_cookie(app, session):
    client = logged_in(app, session)
    copied = session_cookie(client)
    logout(client)
    assert login(client, "hh").status_code == 302
    assert client.get("/queue").status_code == 200
    assert with_cookie(app, copied).get("/queue").status_code == 302


def test_a_password_change_ends_every_other_session(app, session):
    client = logged_in(app, session)
    other = with_cookie(app, session_cookie(logged_in_again(app)))
    page = client.get("/account/password").get_data(as_text=True)
    data = hidden_fields(page)
    data.update({"current_password": PASSWORD, "new_password": "another long passphrase", "confirm": "another long passphrase"})
    assert client.post("/account/password", data=data).status_code == 302
    assert client.get("/queue").status_code == 200  # this one goes on
    assert other.get("/queue").status_code == 302


def logged_in_again(app):
    client = app.test_client()
    assert login(client, "hh").status_code == 302
    return client


def test_deactivation_ends_the_session(app, session):
    client = logged_in(app, session)
    session.execute(update(User).where(User.username == "hh").values(active=False))
    session.commit()
    assert client.get("/queue").status_code == 302


def test_a_session_older_than_its_maximum_age_is_over(app, session):
    client = logged_in(app, session)
    session.execute(update(StaffSession).values(created_at=utcnow() - timedelta(hours=13)))
    session.commit()
    assert client.get("/queue").status_code == 302


def test_a_forged_session_id_in_a_signed_cookie_does_not_log_in(app, session):
    client = logged_in(app, session)
    with client.session_transaction() as cookie:
        cookie["sid"] = "guessed-" + "x" * 30
    assert client.get("/queue").status_code == 302
