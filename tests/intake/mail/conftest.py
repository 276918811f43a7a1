"""Fixtures for the email channel: a real dovecot IMAP server for the session, a fresh IMAP user per
test, and an SMTP sink. Where dovecot is not installed the IMAP tests skip with a notice; with
XLT_REQUIRE_ALL=1 (CI) they fail instead."""
from __future__ import annotations

import os
from typing import NamedTuple

import pytest

from tests.support.mailserver import Dovecot, DovecotError, SmtpSink, find_dovecot

try:  # share the root conftest's end-of-run notice list where it has one
    from tests.conftest import NOTICES as _NOTICES
except ImportError:  # pragma: no cover
    _NOTICES = []


def _require_or_skip(reason: str):
    if os.environ.get("XLT_REQUIRE_ALL") == "1":
        pytest.fail(f"required part missing (XLT_REQUIRE_ALL=1): {reason}", pytrace=False)
    _NOTICES.append(reason)
    pytest.skip(reason)


class MailUser(NamedTuple):
    name: str
    password: str
    url: str


@pytest.fixture(scope="session")
def dovecot():
    """A running ``tests.support.mailserver.Dovecot`` on 127.0.0.1 (one per test session)."""
    binary = find_dovecot()
    if binary is None:
        _require_or_skip("dovecot is not installed (apt-get install dovecot-imapd)")
    server = Dovecot(binary)
    try:
        server.start()
    except DovecotError as exc:
        server.stop()
        _require_or_skip(f"a throwaway dovecot IMAP server could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def mail_user(dovecot) -> MailUser:
    """A fresh IMAP user with an empty INBOX: (name, password, url)."""
    if not dovecot.running:  # a previous test left an outage behind
        dovecot.start()
    name, password = dovecot.add_user()
    yield MailUser(name, password, dovecot.url(name))
    if not dovecot.running:  # this test simulated an outage: bring the shared server back
        dovecot.start()


@pytest.fixture
def smtp_sink():
    """A started ``SmtpSink`` (stopped afterwards)."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_app(app_factory, dovecot, mail_user, smtp_sink):
    """An app fetching two real mailboxes (health, market) and sending to the SMTP sink; `app.mail_users`
    names each mailbox's IMAP user."""
    second, _pw = dovecot.add_user()
    app = app_factory(env={"MAILBOX_HEALTH": mail_user.url, "MAILBOX_MARKET": dovecot.url(second),
                           "SMTP_URL": smtp_sink.url, "MAIL_FROM": "desk@xlt.example"})
    app.mail_users = {"health": mail_user.name, "market": second}
    return app
