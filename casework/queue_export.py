"""The queue's current filter as an .xlsx (issue 17, point 10): the same rows the person sees on the queue
page — casework.queue applies access and recusal — every page of them, with words instead of codes and
district times. The download is audited with the filter used (core.downloads)."""
from __future__ import annotations

from typing import BinaryIO

from sqlalchemy.orm import Session

from casework.queue import QueueFilters, queue_page
from core.accounts import User
from core.labels import in_chinese, label, person_label
from core.localtime import local_datetime
from core.spreadsheet import titled_sheet
from core.xlsx_cells import append_text_row

MAX_ROWS = 10_000
HEADER = ("编号", "标题", "收到时间（北京时间）", "渠道", "条目", "牵头单位", "承办人", "状态", "下一时限", "举报件数")


def queue_rows(session: Session, user: User, f: QueueFilters):
    f.per_page, f.page = 200, 1
    while True:
        page = queue_page(session, user, f)
        yield from page.rows
        if page.page >= page.pages or f.page * 200 >= MAX_ROWS:
            return
        f.page += 1


def write_queue(session: Session, user: User, f: QueueFilters, out: BinaryIO, tab_title: str) -> int:
    wb, ws = titled_sheet("案件列表", f"案件列表：{tab_title}", HEADER)
    count = 0
    with in_chinese():
        for row in queue_rows(session, user, f):
            case = row.case
            append_text_row(ws, [row.reference, row.title, local_datetime(row.received_at), label(row.channel, "channel"),
                       case.item_code or "", label(case.lead_unit, "unit"), person_label(row.handler) if row.handler else "",
                       label(case.status, "status"), case.next_due_on, row.reports])
            ws.cell(ws.max_row, 3).number_format = "yyyy-mm-dd hh:mm"
            count += 1
    for col, width in (("A", 20), ("B", 40), ("C", 18), ("F", 36)):
        ws.column_dimensions[col].width = width
    wb.save(out)
    return count
