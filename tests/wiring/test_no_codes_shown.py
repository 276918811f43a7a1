"""Issue 17, point 2: no page a person reads and no .xlsx the service writes shows an internal code (unit,
channel, case status, role, referral target, reveal state, audit event name). On demo data (`demo seed`),
every staff page for every role and every public page is rendered in Chinese; its visible text (no tags,
no attributes, no script/style) and every cell of every workbook (ledgers, bulletin, weekly, weekly .zip)
are searched for the codes as whole words."""
from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser

import openpyxl
import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.models import Case, RevealRequest
from core.accounts import User
from core.audit import record
from core.units import UNIT_CODES
from demo.seed import TOTP_SECRET
from intake.models import Report
from tests.support.staff import login, otp_code
from tests.support.web import hidden_fields

CHANNELS = ("web", "app", "phone", "letter", "visit", "email", "self", "message")
STATUSES = ("triage", "to_accept", "in_progress", "closed", "not_accepted", "transferred", "merged", "received",
            "accepted", "pending", "approved", "refused")
ROLES = ("clerk", "handler", "unit_head", "coordinator", "admin")
TARGETS = ("discipline", "police", "transfer")
EVENTS = ("case.accepted", "case.closed", "case.viewed", "case.assigned", "identity.viewed",
          "identity.reveal_requested", "identity.reveal_decided", "ledger.exported", "bulletin.exported",
          "weekly.exported", "weekly.submitted", "login.ok", "report.registered")
CODES = sorted(set(UNIT_CODES + CHANNELS + STATUSES + ROLES + TARGETS + EVENTS))
# a code as a whole word: not inside a user name (demo-health-h1), an address or another word
CODE = re.compile(r"(?<![A-Za-z0-9_.@/-])(" + "|".join(re.escape(c) for c in CODES) + r")(?![A-Za-z0-9_@/-])")


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style") or (tag != "input" and any(k == "hidden" for k, _v in attrs)):
            self._skip += 1

    def handle_endtag(self, tag):
        if self._skip and tag in ("script", "style", "span", "div", "p", "section"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.parts)


def leaks(text: str) -> list[str]:
    return sorted({m.group(1) for m in CODE.finditer(text)})


def workbook_text(data: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                    if v is not None)


def test_the_finder_sees_codes_and_ignores_urls_and_names():
    assert leaks(visible_text('<td>health</td><td>to_accept</td><p>identity.viewed</p>')) == \
        ["health", "identity.viewed", "to_accept"]
    assert leaks(visible_text('<a href="/queue?lead_unit=health" class="closed">演示 demo-health-h1</a>'
                              '<option value="web">网站</option><script>var web=1</script>')) == []


STAFF_PAGES = ("/queue", "/queue?tab=overdue", "/queue?tab=all", "/queue?tab=closed", "/dashboard", "/supervision",
               "/weekly", "/bulletin", "/bulletin?print=1", "/ledgers", "/reveals", "/self-inspection", "/clerk/new",
               "/admin/users", "/admin/mail", "/account/password", "/account/totp")
PUBLIC_PAGES = ("/", "/channels", "/report", "/followup", "/login")
ACCOUNTS = ("demo-health-head", "demo-health-h1", "demo-market-h1", "demo-medinsure-head", "demo-health-clerk",
            "demo-taskforce-coord", "demo-admin")


@pytest.fixture
def demo(app, runner, session):
    """`demo seed`, then what the seed does not do through the workflow: an acceptance, identity requests
    in every state and a logged identity view, so timelines and /reveals have events with actors."""
    result = runner.invoke(args=["demo", "seed", "--cases", "80"])
    assert result.exit_code == 0, result.output
    handler = session.scalar(select(User).where(User.username == "demo-health-h1"))
    coordinator = session.scalar(select(User).where(User.username == "demo-taskforce-coord"))
    cases = list(session.scalars(select(Case).where(Case.lead_unit == "health", Case.status == "to_accept")
                                 .order_by(Case.id).limit(3)))
    assert len(cases) == 3
    with app.test_request_context():
        casework.accept(session, handler, cases[0])
        for case, state in zip(cases, ("pending", "approved", "refused")):
            session.add(RevealRequest(case_id=case.id, requester_id=handler.id, reason="回访核实", status=state,
                                      decided_by_id=None if state == "pending" else coordinator.id))
            record(session, "identity.reveal_requested", actor=handler, case_id=case.id, reason="回访核实")
        record(session, "identity.viewed", actor=coordinator, case_id=cases[1].id, reason="回访核实")
        session.commit()
    return session


def _login(app, username: str):
    client = app.test_client()
    with app.app_context():
        needs_otp = username in ("demo-taskforce-coord", "demo-admin")
    response = login(client, username, "demo-password-2026", otp=otp_code(TOTP_SECRET) if needs_otp else None)
    assert response.status_code == 302, username
    return client


def test_no_page_and_no_file_shows_a_code(app, demo):
    found: dict[str, list[str]] = {}
    anonymous = app.test_client()
    for path in PUBLIC_PAGES:
        page = anonymous.get(path)
        assert page.status_code == 200, path
        found.setdefault(path, []).extend(leaks(visible_text(page.get_data(as_text=True))))
    references = list(demo.scalars(select(Report.reference).order_by(Report.id).limit(40)))
    for username in ACCOUNTS:
        client = _login(app, username)
        role = demo.scalar(select(User.role).where(User.username == username))
        for path in STAFF_PAGES + tuple(f"/cases/{r}" for r in references):
            page = client.get(path)
            if page.status_code in (403, 404):
                continue  # not for this role / not this unit's case
            assert page.status_code == 200, (username, path, page.status_code)
            hits = leaks(visible_text(page.get_data(as_text=True)))
            if hits:
                found[f"{username} {path}"] = hits
        if role in ("coordinator", "admin"):
            for path in ("/bulletin.xlsx", "/weekly.xlsx", "/queue.xlsx", "/supervision.xlsx"):
                data = client.get(path)
                assert data.status_code == 200, path
                found[f"{username} {path}"] = leaks(workbook_text(data.data))
            archive = zipfile.ZipFile(io.BytesIO(client.get("/weekly.zip").data))
            for name in archive.namelist():
                if name.endswith(".xlsx"):
                    found[f"weekly.zip:{name}"] = leaks(workbook_text(archive.read(name)))
        if role != "clerk":
            for kind in ("institution", "individual"):
                form = hidden_fields(client.get("/ledgers").get_data(as_text=True))
                unit = "all" if role in ("coordinator", "admin") else None
                data = client.post("/ledgers/export", data={**form, "kind": kind,
                                                            "unit": unit or username.split("-")[1]})
                assert data.status_code == 200, (username, kind)
                found[f"{username} ledger {kind}"] = leaks(workbook_text(data.data))
    leaked = {where: hits for where, hits in found.items() if hits}
    assert not leaked, "codes shown:\n" + "\n".join(f"{where}: {', '.join(hits)}" for where, hits in leaked.items())
