"""Issue 17, point 3: every time a person reads in a file is the district's time. 2026-03-31 17:30 UTC is
2026-04-01 01:30 in Shanghai: it must print 04-01 01:30, never 03-31."""
from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl

from casework.queue import QueueFilters
from casework.queue_export import write_queue
from core.localtime import local_datetime
from oversight.weekly import submit_weekly, weekly_status
from oversight.xlsx import write_weekly
from tests.support.staff import Team, open_case

NEAR_MIDNIGHT = datetime(2026, 3, 31, 17, 30)  # UTC, as stored
LOCAL = datetime(2026, 4, 1, 1, 30)


def test_local_datetime_crosses_the_date_line():
    assert local_datetime(NEAR_MIDNIGHT) == LOCAL


def test_the_weekly_workbook_writes_the_sending_time_in_district_time(app, session):
    team = Team(session)
    report = submit_weekly(session, team.head, "本周完成两件核查", date(2026, 4, 1))
    report.submitted_at = NEAR_MIDNIGHT
    session.commit()
    out = io.BytesIO()
    write_weekly(weekly_status(session, date(2026, 3, 30)), out, date(2026, 3, 30))
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "兴隆台区卫生健康局")
    assert row[1] == LOCAL and ws.cell(2, 2).value == "报送时间（北京时间）"


def test_the_queue_workbook_writes_receipt_times_in_district_time(app, session, ctx):
    team = Team(session)
    case, _ = open_case(app, session, ctx)
    case.report.received_at = NEAR_MIDNIGHT
    session.commit()
    out = io.BytesIO()
    with app.test_request_context():
        assert write_queue(session, team.handler, QueueFilters(tab="to_accept"), out, "待受理") == 1
    rows = list(openpyxl.load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True))
    assert rows[2][0] == case.report.reference and rows[2][2] == LOCAL
    assert rows[2][5] == "兴隆台区卫生健康局" and rows[2][7] == "待受理"
