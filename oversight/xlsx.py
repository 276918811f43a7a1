"""The monthly bulletin and the week's reports of every unit as .xlsx workbooks (small: normal mode). Every
code is written as its Chinese word (core/labels.py), every time in the district's local time."""
from __future__ import annotations

from typing import BinaryIO, Callable

from openpyxl import Workbook
from openpyxl.styles import Font

from core.labels import in_chinese, label
from core.localtime import local_datetime
from core.spreadsheet import BOLD, titled_sheet
from core.xlsx_cells import append_text_row
from oversight.bulletin import RATE_DEFINITIONS, MonthFigures


def _table(ws, title: str, header: tuple[str, ...], rows) -> None:
    if ws.max_row > 1 or ws.cell(1, 1).value is not None:
        append_text_row(ws, [])
    append_text_row(ws, [title])
    ws.cell(ws.max_row, 1).font = BOLD
    append_text_row(ws, list(header))
    for cell in ws[ws.max_row]:
        cell.font = BOLD
    for row in rows:
        append_text_row(ws, list(row))


def _pct(value: float | None):
    return value if value is not None else "—"


def write_bulletin(f: MonthFigures, out: BinaryIO, *, unit_name: Callable[[str], str],
                   item_title: Callable[[str], str], area_title: Callable[[int], str],
                   extra_sheets: list[Callable] = ()) -> None:
    with in_chinese():
        _write_bulletin(f, out, unit_name=unit_name, item_title=item_title, area_title=area_title,
                        extra_sheets=extra_sheets)


def _write_bulletin(f: MonthFigures, out: BinaryIO, *, unit_name, item_title, area_title, extra_sheets=()) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "概况"
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["C"].width = 70
    append_text_row(ws, [f"兴隆台区医药领域腐败问题集中整治工作月通报（{f.month:%Y年%m月}）"])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    append_text_row(ws, [f"统计口径：{f.month:%Y年%m月}收到的举报所形成的案件，按截至导出之日的办理情况统计。"])
    _table(ws, "主要数据", ("项目", "数值", "说明"), [
        ("收到举报（件）", f.received, "本月收到 = 已受理 + 不予受理 + 转办 + 待决定"),
        ("已受理（件）", f.accepted, "其中已作出受理决定的"),
        ("不予受理（件）", f.not_accepted, ""), ("转办（件）", f.transferred, ""),
        ("待决定（件）", f.awaiting, "尚未作出受理决定的"),
        ("已销号（件）", f.closed, "已受理案件中已销号的"),
        ("受理率（%）", _pct(f.acceptance_rate), RATE_DEFINITIONS["acceptance"]),
        ("办结率（%）", _pct(f.closure_rate), RATE_DEFINITIONS["closure"]),
        ("受理用时中位数（天）", f.median_days_to_accept, RATE_DEFINITIONS["median_accept"]),
        ("办结用时中位数（天）", f.median_days_to_close, RATE_DEFINITIONS["median_close"])])
    _table(ws, "按领域", ("领域", "件数"), [(area_title(a), n) for a, n in f.by_area.items()])
    _table(ws, "按条目", ("条目", "件数"), [(item_title(i), n) for i, n in f.by_item.items()])
    _table(ws, "按牵头单位", ("单位", "件数"), [(unit_name(u), n) for u, n in f.by_unit.items()])
    _table(ws, "按渠道", ("渠道", "件数"), [(label(c, "channel"), n) for c, n in f.by_channel.items()])
    _table(ws, "按状态", ("状态", "件数"), [(label(s, "status"), n) for s, n in f.by_status.items()])
    _table(ws, "逾期案件（按单位）", ("单位", "件数"), [(unit_name(u), n) for u, n in f.overdue_by_unit.items()])
    _table(ws, "移送", ("移送对象", "件数"), [(label(t, "referral"), n) for t, n in f.referrals.items()])
    _table(ws, "近月趋势（各月收到的案件，口径同上）", ("月份", "收到", "受理", "不予受理", "转办", "待决定", "销号",
                                          "受理率（%）", "办结率（%）"),
           [(f"{c.month:%Y-%m}", c.received, c.accepted, c.not_accepted, c.transferred, c.awaiting, c.closed,
             _pct(c.acceptance_rate), _pct(c.closure_rate)) for c in f.trend])
    for add_sheet in extra_sheets:  # more sheets (the three rates, oversight.rates_xlsx), each its own writer
        add_sheet(wb)
    wb.save(out)


def write_weekly(status, out: BinaryIO, monday, extra_sheets: list[Callable] = ()) -> None:
    """Every unit's report of the week: figures and progress text, or 未报送; then the extra sheets (the
    week's three rates, oversight.rates_xlsx)."""
    wb, ws = titled_sheet("周调度", f"各单位周调度报送情况（{monday:%Y-%m-%d} 起）",
                          ("单位", "报送时间（北京时间）", "新增", "受理", "不予受理", "移送", "销号", "逾期", "本周工作进展"))
    for unit, report in status:
        if report is None:
            append_text_row(ws, [unit.name, "未报送"])
            continue
        fig = report.figures or {}
        append_text_row(ws, [unit.name, local_datetime(report.submitted_at), *(fig.get(k, 0) for k in
                             ("new", "accepted", "not_accepted", "referred", "closed", "overdue")), report.progress])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd hh:mm"
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 20
    ws.column_dimensions["I"].width = 80
    for add_sheet in extra_sheets:
        add_sheet(wb)
    wb.save(out)
