"""The monthly bulletin and the week's reports of every unit as .xlsx workbooks (small: normal mode)."""
from __future__ import annotations

from typing import BinaryIO, Callable

from openpyxl import Workbook
from openpyxl.styles import Font

from oversight.bulletin import MonthFigures
from oversight.xlsx_cells import append_text_row

BOLD = Font(bold=True)


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


def write_bulletin(f: MonthFigures, out: BinaryIO, *, unit_name: Callable[[str], str],
                   item_title: Callable[[str], str], area_title: Callable[[int], str],
                   extra_sheets: list[Callable] = ()) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "概况"
    ws.column_dimensions["A"].width = 40
    append_text_row(ws, [f"兴隆台区医药领域腐败问题集中整治工作月通报（{f.month:%Y年%m月}）"])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    _table(ws, "主要数据", ("项目", "数值"), [
        ("收到举报（件）", f.received), ("已受理（件）", f.accepted), ("不予受理（件）", f.not_accepted),
        ("已销号（件）", f.closed), ("受理率（%）", f.acceptance_rate), ("办结率（%）", f.closure_rate),
        ("受理平均用时中位数（天）", f.median_days_to_accept), ("办结用时中位数（天）", f.median_days_to_close)])
    _table(ws, "按领域", ("领域", "件数"), [(area_title(a), n) for a, n in f.by_area.items()])
    _table(ws, "按条目", ("条目", "件数"), [(item_title(i), n) for i, n in f.by_item.items()])
    _table(ws, "按牵头单位", ("单位", "件数"), [(unit_name(u), n) for u, n in f.by_unit.items()])
    _table(ws, "按渠道", ("渠道", "件数"), list(f.by_channel.items()))
    _table(ws, "按状态", ("状态", "件数"), list(f.by_status.items()))
    _table(ws, "逾期案件（按单位）", ("单位", "件数"), [(unit_name(u), n) for u, n in f.overdue_by_unit.items()])
    _table(ws, "移送", ("移送对象", "件数"), list(f.referrals.items()))
    _table(ws, "近月趋势", ("月份", "收到", "受理", "销号"), [(f"{m:%Y-%m}", r, a, c) for m, r, a, c in f.trend])
    for add_sheet in extra_sheets:  # more sheets (the three rates, oversight.rates_xlsx), each its own writer
        add_sheet(wb)
    wb.save(out)


def write_weekly(status, out: BinaryIO, monday) -> None:
    """Every unit's report of the week: figures and progress text, or 未报送."""
    wb = Workbook()
    ws = wb.active
    ws.title = "周调度"
    append_text_row(ws, [f"各单位周调度报送情况（{monday:%Y-%m-%d} 起）"])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    header = ("单位", "报送时间", "新增", "受理", "不予受理", "移送", "销号", "逾期", "本周工作进展")
    append_text_row(ws, list(header))
    for cell in ws[2]:
        cell.font = BOLD
    for unit, report in status:
        if report is None:
            append_text_row(ws, [unit.name, "未报送"])
            continue
        fig = report.figures or {}
        append_text_row(ws, [unit.name, report.submitted_at, *(fig.get(k, 0) for k in
                             ("new", "accepted", "not_accepted", "referred", "closed", "overdue")), report.progress])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd hh:mm"
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["I"].width = 80
    wb.save(out)
