"""Recusal as an attacker tries to dodge it: the person a report names — under another spelling, in
another field, by mail, with an account made or renamed after the report came in, at any unit — tries
every way a case shows. Each gets a 404 or finds nothing; an unnamed colleague in the same place sees the
case (so the walls are not simply closed for everyone); people who only share the surname are not
recused. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pyotp
import pytest
from sqlalchemy import select, update

from casework import workflow as casework
from casework.deadline_models import CaseDeadline, Supervision
from casework.models import Case, LedgerPerson, RevealRequest
from casework.recusal_models import Recusal
from casework.reveal import decide_reveal, request_reveal, reveal_identity
from casework.rules import NamedInCase, NoRealName, NotAllowed
from core.accounts import AccountError, create_user
from core.localtime import week_of
from intake.mail_ingest import MailSettings, ingest_message
from intake.models import Attachment, Report
from oversight.weekly import week_figures
from tests.support import mail_samples
from tests.support.factories import file_report
from tests.support.files import PDF
from tests.support.staff import make_user
from tests.support.visibility import LEDGER_KINDS, Viewer

SECRET = pyotp.random_base32()
NAME = "金晓峰"  # the accused; 金 has a compatibility ideograph (U+F90A) that NFKC folds to it
TEXTS = {  # a report each unit leads, with the place where a name goes
    "health": "区人民医院外科医生{n}收受患者红包五千元，手术前暗示家属不给红包就往后排。",
    "market": "某医药公司医药代表{n}以学术推广费的名义给区人民医院医生回扣，每开一盒药返现二十元，月底现金结算。",
    "medinsure": "兴隆台区某医院长期挂床住院，病人白天回家，晚上也不在病房，医院照样记住院天数向医保报销，还串换药品，"
                 "经办人是{n}。",
}
PLAIN = {unit: text.format(n="某某") for unit, text in TEXTS.items()}
UNITS = tuple(TEXTS)

# (how the report names the accused, unit, report fields)
SPELLINGS = [
    ("accused field, traditional", "health", {"accused_name": "金曉峰"}),
    ("accused field, spaces", "market", {"accused_name": "金  晓 峰", "accused_institution": "某医药公司"}),
    ("accused field, middle dot", "medinsure", {"accused_name": "金·晓峰"}),
    ("accused field, full-width space", "health", {"accused_name": "金\u3000晓峰"}),
    ("accused field, compatibility ideograph", "market", {"accused_name": "\uf90a晓峰"}),
    ("accused position field", "medinsure", {"accused_position": "经办人金晓峰"}),
    ("text only, traditional with a dot", "health", {"text": TEXTS["health"].format(n="金・曉峰")}),
    ("text only, zero-width space", "market", {"text": TEXTS["market"].format(n="金\u200b晓峰")}),
    ("text only, punctuation between", "medinsure", {"text": TEXTS["medinsure"].format(n="金（晓）峰")}),
    ("title only", "health", {"title": "举报 金·晓·峰 收红包"}),
    ("when and where", "market", {"occurred": "2026年10月，金晓峰的办公室"}),
]


def _file(app, session, ctx, unit: str, **fields):
    values = {"title": "举报", "text": PLAIN[unit], "files": [("证据.pdf", PDF)], **fields}
    with app.app_context():
        receipt = file_report(session, ctx, **values)
    session.expire_all()
    case = session.scalar(select(Case).where(Case.report_id == receipt.report_id))
    assert case is not None and case.lead_unit == unit, (case.lead_unit if case else None, unit)
    attachment = session.scalar(select(Attachment).where(Attachment.report_id == receipt.report_id))
    return case, receipt.reference, attachment.id if attachment else None


class People(dict):
    """For every unit an unnamed colleague handler and a namesake by surname, and a coordinator: each
    made when first used."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    def __missing__(self, key):
        if key == "coordinator":
            user = make_user(self.session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET,
                             display_name="专班协调员乙")
        else:
            unit, kind = key.rsplit("_", 1)
            user = make_user(self.session, f"{unit}-{kind}", role="handler", unit=unit,
                             display_name=f"{unit}同事甲" if kind == "colleague" else "金海涛")
        self[key] = user
        return user


@pytest.fixture
def people(session):
    return People(session)


def accused_head(session, unit: str, name: str = NAME):
    return make_user(session, f"{unit}-head", role="unit_head", unit=unit, display_name=name)


def assert_sees_nothing(app, session, runner, tmp_path, viewer: Viewer, case: Case, reference: str, attachment_id,
                        unit: str, colleague):
    """Every way a case shows, for a unit head named in it."""
    assert not viewer.sees(reference, NAME), "queue, search or case page"
    assert viewer.attachment_status(reference, attachment_id) == 404
    for action, data in (("accept", {}), ("request_identity", {"reason": "核实"}), ("message", {"text": "你好"}),
                         ("assign", {"handler": str(colleague.id)})):
        assert viewer.action_status(reference, action, **data) == 404, action
    assert viewer.bulk_assign_status(reference, colleague.id) == 404
    # the head's weekly figures do not count it (one more than the queue shows would tell them)
    assert week_figures(session, unit, week_of(date.today()), date.today())["new"] == 1  # the task force's truth
    assert viewer.weekly_new() == 0
    # ledgers: the row about the accused is in the unit's ledger, but not in what the head exports
    session.add(LedgerPerson(case_id=case.id, unit_code=unit, item_code=case.item_code or "6.4", name="金晓峰本人",
                             manifestation="收受财物"))
    session.commit()
    for kind in LEDGER_KINDS:
        assert "金晓峰本人" not in viewer.ledger_export(kind, unit)
    out = str(tmp_path / "ledger.xlsx")
    result = runner.invoke(args=["ledger", "export", "--kind", "individual", "--as", viewer.user.username,
                                 "--out", out])
    assert result.exit_code == 0 and "0 row(s)" in result.output, result.output
    result = runner.invoke(args=["ledger", "export", "--kind", "individual", "--out", out])
    assert "1 row(s)" in result.output  # the operator's own export has it
    assert session.scalar(select(Case.handler_id).where(Case.id == case.id)) != viewer.user.id


@pytest.mark.parametrize("how,unit,fields", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_the_accused_finds_the_case_nowhere(app, session, ctx, runner, tmp_path, people, how, unit, fields):
    head = accused_head(session, unit)
    case, reference, attachment_id = _file(app, session, ctx, unit, **fields)
    assert session.scalar(select(Recusal.source).where(Recusal.case_id == case.id, Recusal.user_id == head.id))
    colleague = Viewer(app, people[f"{unit}_colleague"])
    assert colleague.sees(reference) and colleague.attachment_status(reference, attachment_id) == 200
    namesake = Viewer(app, people[f"{unit}_surname"])  # 金海涛: the same surname is not the same person
    assert namesake.sees(reference)
    assert_sees_nothing(app, session, runner, tmp_path, Viewer(app, head), case, reference, attachment_id, unit,
                        people[f"{unit}_colleague"])
    with pytest.raises(NotAllowed):  # and nobody can hand it to them
        casework.assign(session, people["coordinator"], case, head)


@pytest.mark.parametrize("unit", UNITS)
def test_an_account_made_after_the_report_is_recused_from_it(app, session, ctx, runner, tmp_path, people, unit):
    case, reference, attachment_id = _file(app, session, ctx, unit, text=TEXTS[unit].format(n="金 曉 峰"))
    head = accused_head(session, unit, name="金晓峰")  # the account comes later
    assert_sees_nothing(app, session, runner, tmp_path, Viewer(app, head), case, reference, attachment_id, unit,
                        people[f"{unit}_colleague"])


def test_a_renamed_account_is_recused_at_once_whichever_way_it_was_renamed(app, session, ctx, runner, people):
    case, reference, attachment_id = _file(app, session, ctx, "health", accused_name="金曉峰")
    head = accused_head(session, "health", name="王一鸣")
    viewer = Viewer(app, head)
    assert viewer.sees(reference)  # not named yet
    admin = make_user(session, "root", role="admin", unit="taskforce", totp_secret=SECRET, display_name="管理员丙")
    admin_view = Viewer(app, admin, SECRET)
    form = admin_view.page(f"/admin/users/{head.id}")
    assert "王一鸣" in form
    resp = admin_view.post(f"/admin/users/{head.id}", display_name="金 晓峰", unit="health", role="unit_head",
                           email=head.email, password="")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    assert viewer.case_status(reference) == 404 and not viewer.in_queue(reference)
    # by the command line, and by code that sets the attribute: the same
    other_case, other_ref, _att = _file(app, session, ctx, "market", accused_name="李·建设")
    market_head = accused_head(session, "market", name="赵六")
    market_view = Viewer(app, market_head)
    assert market_view.sees(other_ref)
    result = runner.invoke(args=["users", "set-name", market_head.username, "李建設"])
    assert result.exit_code == 0, result.output
    assert market_view.case_status(other_ref) == 404
    third_case, third_ref, _att = _file(app, session, ctx, "medinsure", accused_name="周 七")
    medinsure_head = accused_head(session, "medinsure", name="钱八")
    medinsure_view = Viewer(app, medinsure_head)
    assert medinsure_view.sees(third_ref)
    medinsure_head.display_name = "周七"
    session.commit()
    assert medinsure_view.case_status(third_ref) == 404


def test_a_name_changed_behind_the_services_back_sees_nothing(app, session, ctx, people):
    """A name edited in the database directly (no scan ran): the account sees no case at all until
    `flask recusal rescan`, which recuses it where it is named."""
    from core.accounts import User
    case, reference, _att = _file(app, session, ctx, "health", accused_name="金晓峰")
    other, other_ref, _att = _file(app, session, ctx, "health")
    head = accused_head(session, "health", name="王一鸣")
    session.execute(update(User).where(User.id == head.id).values(display_name="金晓峰"))
    session.commit()
    viewer = Viewer(app, head)
    assert viewer.case_status(reference) == 404 and viewer.case_status(other_ref) == 404
    result = app.test_cli_runner().invoke(args=["recusal", "rescan"])
    assert result.exit_code == 0, result.output
    assert viewer.case_status(reference) == 404 and viewer.case_status(other_ref) == 200


def test_a_name_changed_behind_the_services_back_finds_nothing_by_search_either(app, session, ctx, people):
    """The same account searching: a word of the report's text, its reference, a search with a filter and
    the .xlsx of the search list nothing and count nothing, in every tab (a search's matches once skipped
    the 'may see cases' rule that the case page applies)."""
    from core.accounts import User
    case, reference, _att = _file(app, session, ctx, "health", accused_name="金晓峰")
    head = accused_head(session, "health", name="王一鸣")
    session.execute(update(User).where(User.id == head.id).values(display_name="金晓峰"))
    session.commit()
    viewer = Viewer(app, head)
    assert viewer.case_status(reference) == 404
    link = f'href="/cases/{reference}"'
    for tab in ("to_accept", "in_progress", "due_soon", "overdue", "closed", "assisting"):
        for query in ("", "红包", "收受", reference, "红包&area=6", "红包&sort=relevance"):
            html = viewer.page(f"/queue?tab={tab}&q={query}")
            assert link not in html and "手术前" not in html, (tab, query)  # "手术前": the report's text
    from casework.queue import QueueFilters, queue_page
    session.expire_all()
    shown = session.get(User, head.id)
    for query in ("红包", reference):
        page = queue_page(session, shown, QueueFilters(tab="to_accept", q=query))
        assert page.rows == [] and page.total == 0 and set(page.counts.values()) == {0}
        page = queue_page(session, shown, QueueFilters(tab="to_accept", q=query, area=6))
        assert page.rows == [] and page.total == 0


def test_a_mailed_report_recuses_the_person_it_names(app, session, ctx, runner, people):
    """Mail never fills the accused fields: the name is only in the (Big5, traditional) body."""
    head = accused_head(session, "medinsure")
    body = "興隆臺區某醫院長期掛床住院，病人白天回家，晚上也不在病房，醫院照樣記住院天數向醫保報銷，還串換藥品，經辦人是金曉峰。"
    raw = mail_samples.text_mail(body, charset="big5", subject="醫保報銷問題", from_name="張偉",
                                 date=datetime.now(timezone.utc))
    settings = MailSettings(own_addresses={"desk@xlt.example"}, msgid_key=b"k" * 32, mail_domain="xlt.example",
                            render_ack=None)
    with app.app_context():
        outcome = ingest_message(session, ctx, settings, "health", 1, 1, raw, acknowledge=False)
    assert outcome.status == "report", outcome
    session.expire_all()
    report = session.get(Report, outcome.report_id)
    case = session.scalar(select(Case).where(Case.report_id == report.id))
    assert report.channel == "email" and report.accused_name == "" and case.lead_unit == "medinsure"
    viewer = Viewer(app, head)
    assert not viewer.sees(report.reference, NAME)
    assert Viewer(app, people["medinsure_colleague"]).sees(report.reference)


def test_a_reporters_message_naming_a_handler_takes_them_off_the_case(app, session, ctx, people):
    from intake.followup import add_reporter_message
    case, reference, _att = _file(app, session, ctx, "health")
    handler = people["health_colleague"]
    casework.assign(session, people["coordinator"], case, handler)
    with app.app_context():
        report = session.get(Report, case.report_id)
        add_reporter_message(session, ctx, report, f"补充：这位{handler.display_name}是被举报人的表哥，请换人。")
    session.expire_all()
    assert session.get(Case, case.id).handler_id is None  # taken off, audited
    assert Viewer(app, handler).case_status(reference) == 404


def test_an_account_with_a_case_role_needs_a_real_name(app, session, ctx, runner, people):
    for name in ("", " ", "·", "王", "　・ "):
        with pytest.raises(AccountError):
            create_user(session, username=f"x{len(name)}", unit="health", role="handler", email="x@xlt.gov.cn",
                        password="x" * 12, display_name=name)
    clerk = create_user(session, username="clerk-noname", unit="health", role="clerk", email="c@xlt.gov.cn",
                        password="x" * 12)
    session.commit()
    assert clerk.display_name == ""
    result = runner.invoke(args=["users", "create", "--username", "noname", "--unit", "health", "--role", "handler",
                                 "--email", "n@xlt.gov.cn", "--password-stdin"], input="x" * 12 + "\n")
    assert result.exit_code != 0 and "real name" in result.output
    # an account from before the rule (or whose name was emptied) is marked and sees nothing
    legacy = make_user(session, "legacy", role="handler", unit="health", display_name="赵钱孙")
    legacy.display_name = ""
    session.commit()
    listing = runner.invoke(args=["users", "list"]).output
    assert "MISSING" in [line.split()[6] for line in listing.splitlines() if line.startswith("legacy")][0]
    case, reference, _att = _file(app, session, ctx, "health")
    viewer = Viewer(app, legacy)
    assert not viewer.sees(reference)
    assert "data-testid=\"no-real-name\"" in viewer.page("/queue")
    with pytest.raises(NoRealName):
        casework.assign(session, people["coordinator"], case, legacy)
    assert runner.invoke(args=["users", "set-name", "legacy", "赵 钱孙"]).exit_code == 0
    assert viewer.sees(reference)


def test_the_accused_coordinator_finds_the_case_nowhere(app, session, ctx, runner, tmp_path, people):
    accused = make_user(session, "coord-jin", role="coordinator", unit="taskforce", totp_secret=SECRET,
                        display_name="金晓峰")
    case, reference, attachment_id = _file(app, session, ctx, "health", text=TEXTS["health"].format(n="金曉峰"))
    casework.accept(session, people["health_colleague"], case)
    casework.assign(session, people["coordinator"], case, people["health_colleague"])
    handling = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                         CaseDeadline.stage == "handling"))
    session.add(Supervision(case_id=case.id, stage="handling", due_on=handling.due_on))  # 督办
    session.add(LedgerPerson(case_id=case.id, unit_code="health", item_code="6.4", name="金晓峰本人",
                             manifestation="收受红包"))
    session.commit()
    other = Viewer(app, people["coordinator"], SECRET)
    viewer = Viewer(app, accused, SECRET)
    assert reference in other.supervision_text() and reference in other.dashboard_text()
    assert "金晓峰本人" in other.weekly_zip_text()
    for page in (viewer.supervision_text(), viewer.dashboard_text()):
        assert reference not in page
    assert not viewer.sees(reference, NAME)
    assert viewer.attachment_status(reference, attachment_id) == 404
    assert "金晓峰本人" not in viewer.weekly_zip_text()
    for kind in LEDGER_KINDS:
        assert "金晓峰本人" not in viewer.ledger_export(kind, "all")
    out = str(tmp_path / "ledger-c.xlsx")
    assert "0 row(s)" in runner.invoke(args=["ledger", "export", "--kind", "individual", "--as", "coord-jin",
                                             "--out", out]).output


def test_the_reveal_chain_of_the_review_is_impossible(app, session, ctx, people):
    """The review: the accused handler accepts, asks for the reporter's identity, a coordinator who is
    not shown whom the report accuses approves, the handler reads it. Each step now fails."""
    accused = make_user(session, "h-jin", role="handler", unit="health", display_name="金晓峰")
    case, reference, _att = _file(app, session, ctx, "health", text=TEXTS["health"].format(n="金 曉峰"),
                                  anonymous=False, reporter_name="举报人甲", reporter_phone="13800001111")
    viewer = Viewer(app, accused)
    assert viewer.action_status(reference, "accept") == 404
    assert viewer.action_status(reference, "request_identity", reason="核实") == 404
    with pytest.raises(NotAllowed):
        casework.accept(session, accused, case)
    with pytest.raises(NotAllowed):
        request_reveal(session, accused, case, "核实")
    # a coordinator decides the accused is only a namesake and lifts the recusal: the handler may work
    # the case, but still never asks for, nor sees, the reporter's identity
    coordinator = Viewer(app, people["coordinator"], SECRET)
    [row] = session.scalars(select(Recusal).where(Recusal.case_id == case.id, Recusal.user_id == accused.id)).all()
    page = coordinator.page(f"/cases/{reference}")
    assert 'data-testid="walls-panel"' in page and "金晓峰" in page
    assert coordinator.post(f"/cases/{reference}/lift_recusal", user=str(accused.id),
                            reason="同名不同人：被举报人是医院医生").status_code == 302
    assert viewer.case_status(reference) == 200
    casework.accept(session, accused, case)
    casework.assign(session, people["coordinator"], case, accused)
    resp = viewer.post(f"/cases/{reference}/request_identity", reason="电话核实")
    assert resp.status_code == 302
    assert "被点名" in viewer.page(f"/cases/{reference}")  # the refusal, translated
    assert session.scalar(select(RevealRequest).where(RevealRequest.case_id == case.id)) is None
    with pytest.raises(NamedInCase):
        request_reveal(session, accused, case, "电话核实")
    with pytest.raises(NamedInCase):
        reveal_identity(session, accused, case, "看看", ctx.cipher)


def test_a_request_whose_requester_becomes_named_cannot_be_approved(app, session, ctx, people):
    handler = people["health_colleague"]
    case, reference, _att = _file(app, session, ctx, "health", anonymous=False, reporter_name="举报人乙",
                                  reporter_phone="13800002222")
    casework.accept(session, handler, case)
    casework.assign(session, people["coordinator"], case, handler)
    request = request_reveal(session, handler, case, "需电话核实")
    # a second report, naming the handler, is merged into the case: they are recused at once
    second, second_ref, _att = _file(app, session, ctx, "health", text=TEXTS["health"].format(n=handler.display_name))
    casework.merge(session, people["coordinator"], second, case)
    session.expire_all()
    assert session.get(Case, case.id).handler_id is None
    coordinator = Viewer(app, people["coordinator"], SECRET)
    page = coordinator.page("/reveals")
    assert 'data-testid="requester-named"' in page and 'value="approve"' not in page
    with pytest.raises(NamedInCase):
        decide_reveal(session, people["coordinator"], request, True, "同意")
    decide_reveal(session, people["coordinator"], session.get(RevealRequest, request.id), False, "申请人被举报")


def test_a_named_coordinator_does_not_decide_even_when_lifted(app, session, ctx, people):
    named = make_user(session, "coord-jin", role="coordinator", unit="taskforce", totp_secret=SECRET,
                      display_name="金晓峰")
    handler = people["health_colleague"]
    case, reference, _att = _file(app, session, ctx, "health", title="金晓峰", anonymous=False,
                                  reporter_name="举报人丙", reporter_phone="13800003333", accused_name="钱某某",
                                  accused_institution="区人民医院", accused_position="外科医生")
    casework.accept(session, handler, case)
    casework.assign(session, people["coordinator"], case, handler)
    request = request_reveal(session, handler, case, "需电话核实")
    from casework.lifting import lift_recusal
    lift_recusal(session, people["coordinator"], case, named.id, "同名")
    page = Viewer(app, named, SECRET).page("/reveals")
    assert 'data-testid="me-named"' in page
    shown = Viewer(app, people["coordinator"], SECRET).reveals_text()  # whom the report accuses, for the decider
    assert "钱某某 · 区人民医院 · 外科医生" in " ".join(shown.split())
    with pytest.raises(NamedInCase):
        decide_reveal(session, named, request, True, "同意")
    with pytest.raises(NamedInCase):
        reveal_identity(session, named, case, "督办", ctx.cipher)
    decide_reveal(session, people["coordinator"], request, True, "同意")
    assert reveal_identity(session, handler, case, None, ctx.cipher).name == "举报人丙"


def test_the_case_pages_list_of_handlers_is_who_may_be_assigned(app, session, ctx, people):
    """The list is found in bulk; it must agree with check_assignable, which assigning goes through."""
    from casework.assignment import assignable_among, check_assignable
    from casework.rules import CaseActionError
    from core.accounts import User
    case, reference, _att = _file(app, session, ctx, "health", text=TEXTS["health"].format(n="金·晓峰"))
    candidates = [make_user(session, "named-h", role="handler", unit="health", display_name="金晓峰"),
                  make_user(session, "plain-h", role="handler", unit="health", display_name="孙立"),
                  make_user(session, "market-h", role="handler", unit="market", display_name="钱立"),
                  make_user(session, "tf-h", role="handler", unit="taskforce", display_name="赵立"),
                  make_user(session, "head-h", role="unit_head", unit="health", display_name="李立"),
                  make_user(session, "off-h", role="handler", unit="health", display_name="周立", active=False),
                  make_user(session, "nameless", role="handler", unit="health", display_name="吴立")]
    candidates[-1].display_name = ""
    session.execute(update(User).where(User.id == candidates[1].id)
                    .values(display_name="孙 立 新"))  # renamed behind the service's back
    session.commit()
    session.expire_all()

    def accepted(user):
        try:
            check_assignable(session, case, user)
        except CaseActionError:
            return False
        return True
    expected = [u.username for u in candidates if accepted(u)]
    assert [u.username for u in assignable_among(session, case, candidates)] == expected == ["tf-h", "head-h"]
    page = Viewer(app, people["coordinator"], SECRET).page(f"/cases/{reference}")
    assign_form = page[page.index('id="assign"'):].split("</details>", 1)[0]
    assert "赵立" in assign_form and "李立" in assign_form and "金晓峰" not in assign_form
