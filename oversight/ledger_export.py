"""The plan's ledgers as .xlsx, exactly in its form: Attachment 3 (institutions, 14 columns) and
Attachment 4 (individuals, 15 columns) — title line, the 填报单位 / 填报人 / 联系方式 line, the column
headers in the plan's order and wording, one row per institution or person. Streams the rows through
openpyxl's write-only mode, so memory stays flat however many rows there are. Every export is audited."""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.access import visible_case_ids_clause
from casework.models import LedgerInstitution, LedgerPerson, NegativeListItem
from casework.rules import TASKFORCE
from core.accounts import User
from core.audit import record
from core.units import Unit
from core.xlsx_cells import append_text_row

KINDS = ("institution", "individual")
TITLES = {"institution": "兴隆台区医药领域腐败问题集中整治工作台账（机构）",
          "individual": "兴隆台区医药领域腐败问题集中整治工作台账（个人）"}
HEADERS = {
    "institution": ("序号", "存在问题机构名称", "主管部门", "违反腐败问题负面清单条目", "腐败问题具体表现", "发现途径",
                    "发现问题日期", "整治措施", "处理意见", "处理政策依据", "整改是否完成", "整改完成日期",
                    "整改部门负责人", "手机号码"),
    "individual": ("序号", "存在问题人员姓名", "所属单位", "所属单位主管部门", "违反腐败问题负面清单条目", "腐败问题具体表现",
                   "发现途径", "发现问题日期", "整治措施", "处理意见", "处理政策依据", "整改是否完成", "整改完成日期",
                   "整治工作负责人", "手机号码"),
}
WIDTHS = {"序号": 6, "发现问题日期": 12, "整改完成日期": 12, "整改是否完成": 8, "手机号码": 14}
DATE_FORMAT = "yyyy-mm-dd"
WRAP = Alignment(wrap_text=True, vertical="top")  # style objects made once: openpyxl hashes each one it meets
BOLD, TITLE_FONT = Font(bold=True), Font(bold=True, size=14)


class LedgerExportError(ValueError):
    pass


@dataclass(frozen=True)
class FilledBy:
    """The 填报单位 / 填报人 / 联系方式 line."""
    unit: str
    person: str
    contact: str


def _rows(session: Session, kind: str, unit: str | None, viewer: User | None = None):
    model = LedgerInstitution if kind == "institution" else LedgerPerson
    names = (model.name, model.supervising_dept) if kind == "institution" else \
        (model.name, model.employer, model.employer_supervisor)
    stmt = (select(*names, NegativeListItem.code, NegativeListItem.wording, model.manifestation, model.how_found,
                   model.found_on, model.measures, model.handling_opinion, model.policy_basis, model.rectified,
                   model.rectified_on, model.responsible_person, model.phone)
            .join(NegativeListItem, NegativeListItem.code == model.item_code)
            .order_by(model.found_on.is_(None), model.found_on, model.id))
    if unit:
        stmt = stmt.where(model.unit_code == unit)
    if viewer is not None:  # no row of a case hidden from them (named in it, their unit's leadership accused)
        stmt = stmt.where(visible_case_ids_clause(session, viewer, model.case_id))
    return session.execute(stmt.execution_options(yield_per=2000))


def write_ledger(session: Session, kind: str, out: BinaryIO, filled_by: FilledBy, *, unit: str | None = None,
                 viewer: User | None = None) -> int:
    """Write the ledger of `unit` (None: every unit) to `out`, as `viewer` may see it (None: every row,
    for the operator's command line); the number of rows."""
    if kind not in KINDS:
        raise LedgerExportError(f"kind must be one of {KINDS}")
    headers = HEADERS[kind]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账（机构）" if kind == "institution" else "台账（个人）")
    for index, header in enumerate(headers):
        ws.column_dimensions[_column(index)].width = WIDTHS.get(header, 22)
    ws.freeze_panes = "A4"

    def cell(value, *, font=None, wrap=False, date=False):
        c = WriteOnlyCell(ws, value=value)
        if font is not None:
            c.font = font
        if wrap:
            c.alignment = WRAP
        if date:
            c.number_format = DATE_FORMAT
        return c  # append_text_row makes it a text cell if its text would read as a formula

    append_text_row(ws, [cell(TITLES[kind], font=TITLE_FONT)])
    line = [None] * len(headers)
    line[0], line[5], line[10] = (f"填报单位：{filled_by.unit}", f"填报人：{filled_by.person}",
                                  f"联系方式：{filled_by.contact}")
    append_text_row(ws, line)
    append_text_row(ws, [cell(h, font=BOLD, wrap=True) for h in headers])
    count = 0
    for row in _rows(session, kind, unit, viewer):
        count += 1
        *names, code, wording, manifestation, how_found, found_on, measures, opinion, basis, rectified, \
            rectified_on, responsible, phone = row
        append_text_row(ws, [count, *names, f"{code} {wording}", cell(manifestation, wrap=True), how_found,
                             cell(found_on, date=True), cell(measures, wrap=True), cell(opinion, wrap=True),
                             cell(basis, wrap=True), "是" if rectified else "否", cell(rectified_on, date=True),
                             responsible, phone])
    wb.save(out)
    return count


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(index + 1)


def export_ledger(session: Session, actor: User | None, kind: str, out: BinaryIO, *, unit: str | None,
                  person: str, contact: str, by: str = "") -> int:
    """Check who may export what, write the file, record the export in the audit trail and commit.
    A unit's staff export their own unit's ledger; the task force any unit's or all of them; nobody a
    row of a case hidden from them (casework.access). `actor` None: the operator's command line, every
    row; `by` says who ran it from the command line."""
    if kind not in KINDS:
        raise LedgerExportError(f"kind must be one of {KINDS}")
    if unit is not None and session.get(Unit, unit) is None:
        raise LedgerExportError(f"unknown unit {unit!r}")
    if actor is not None and not actor.is_taskforce and unit != actor.unit_code:
        raise LedgerExportError("a unit exports its own ledger only")
    unit_name = session.get(Unit, unit).name if unit else session.get(Unit, TASKFORCE).name
    rows = write_ledger(session, kind, out, FilledBy(unit_name, person, contact), unit=unit, viewer=actor)
    detail = {"via": f"cli:{by or 'unknown'}"} if by and actor is not None else {}
    record(session, "ledger.exported", actor=actor if actor is not None else f"cli:{by or 'unknown'}", kind=kind,
           unit=unit or "all", rows=rows, **detail)
    session.commit()
    return rows
