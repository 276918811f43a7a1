"""The supervision list (督办) as people read it (issue 17, point 5): one row per case, with every stage of
it that is overdue and on the list, counted in cases, not deadlines; filtered by lead unit; the same rows as
an .xlsx. Access and recusal are those of every staff view (casework.access.visible_clause)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from casework.access import visible_clause
from casework.deadline_models import Supervision
from casework.models import Case
from casework.states import OPEN_STATUSES
from core.accounts import User
from core.labels import in_chinese, label
from core.localtime import local_datetime
from core.spreadsheet import titled_sheet
from core.xlsx_cells import append_text_row
from intake.models import Report


@dataclass
class SupervisedCase:
    case: Case
    reference: str
    stages: list[Supervision] = field(default_factory=list)  # oldest deadline first

    @property
    def oldest(self) -> Supervision:
        return self.stages[0]


def supervised_cases(session: Session, user: User, unit: str | None = None,
                     limit: int = 2000) -> list[SupervisedCase]:
    """Cases under supervision that `user` may see (optionally led by `unit`), oldest deadline first."""
    where = [Supervision.ended_at.is_(None),  # a review of an objection is supervised on a closed case too
             or_(Case.status.in_(OPEN_STATUSES), Supervision.stage == "review"), visible_clause(session, user)]
    if unit:
        where.append(Case.lead_unit == unit)
    rows = session.execute(select(Supervision, Case, Report.reference).join(Case, Case.id == Supervision.case_id)
                           .join(Report, Report.id == Case.report_id).where(and_(*where))
                           .order_by(Supervision.due_on, Supervision.id).limit(limit * 4)).all()
    by_case: dict[int, SupervisedCase] = {}
    for supervision, case, reference in rows:
        by_case.setdefault(case.id, SupervisedCase(case, reference)).stages.append(supervision)
    return list(by_case.values())[:limit]


HEADER = ("编号", "牵头单位", "逾期环节", "最早到期日", "逾期天数", "列入督办时间（北京时间）")


def write_supervision(cases: list[SupervisedCase], out: BinaryIO, today: date, unit_title: str) -> None:
    wb, ws = titled_sheet("督办", f"督办案件清单（{unit_title}，{today:%Y-%m-%d}，共 {len(cases)} 件）", HEADER)
    with in_chinese():
        for row in cases:
            stages = "、".join(f"{label(s.stage, 'stage')}（{s.due_on:%Y-%m-%d}）" for s in row.stages)
            append_text_row(ws, [row.reference, label(row.case.lead_unit, "unit"), stages, row.oldest.due_on,
                       (today - row.oldest.due_on).days, local_datetime(min(s.started_at for s in row.stages))])
            ws.cell(ws.max_row, 6).number_format = "yyyy-mm-dd hh:mm"
    for col, width in (("A", 20), ("B", 36), ("C", 60), ("F", 20)):
        ws.column_dimensions[col].width = width
    wb.save(out)
