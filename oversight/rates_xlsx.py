"""The three rates (三率) as a sheet of the bulletin workbook: the month and the campaign so far, each
rate with its definition, numerator and denominator, overall and per lead unit."""
from __future__ import annotations

from typing import Callable

from openpyxl.styles import Font

from core.xlsx_cells import append_text_row
from oversight.rates import DEFINITIONS, ThreeRates

BOLD = Font(bold=True)
KEYS = ("response", "on_time", "satisfaction")


def _block(ws, title: str, rates: ThreeRates, unit_name: Callable[[str], str]) -> None:
    append_text_row(ws, [f"{title}（{rates.start:%Y-%m-%d} 至 {rates.end:%Y-%m-%d}）"])
    ws.cell(ws.max_row, 1).font = BOLD
    header = ["单位"]
    for key in KEYS:
        name = DEFINITIONS[key][0]
        header += [f"{name}（%）", f"{name}分子", f"{name}分母"]
    header += ["复查件数", "复查改办", "复查维持", "复查在办"]
    append_text_row(ws, header)
    for cell in ws[ws.max_row]:
        cell.font = BOLD
    for label, r in [("全部单位", rates.overall)] + [(unit_name(c), u) for c, u in rates.by_unit.items()]:
        row = [label]
        for key in KEYS:
            rate = getattr(r, key)
            row += [rate.percent, rate.numerator, rate.denominator]
        append_text_row(ws, row + [r.reviews, r.reviews_reopened, r.reviews_upheld, r.reviews_open])
    append_text_row(ws, [])


def rates_sheet(month: ThreeRates, campaign: ThreeRates, unit_name: Callable[[str], str],
                period_title: str = "本月") -> Callable:
    """The sheet for the bulletin (the month) or the weekly workbook (period_title "本周")."""
    def add(wb) -> None:
        ws = wb.create_sheet("三率")
        ws.column_dimensions["A"].width = 36
        append_text_row(ws, ["三率定义"])
        ws.cell(1, 1).font = BOLD
        for key in KEYS:
            name, _en, definition, _en_def = DEFINITIONS[key]
            append_text_row(ws, [name, definition])
        append_text_row(ws, [])
        _block(ws, period_title, month, unit_name)
        _block(ws, "整治以来", campaign, unit_name)
    return add
