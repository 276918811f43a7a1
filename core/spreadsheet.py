"""The one way a workbook of ours starts: a sheet with a bold title line and a bold header row."""
from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Font

from core.xlsx_cells import append_text_row

BOLD = Font(bold=True)


def titled_sheet(sheet_name: str, title: str, header: tuple[str, ...]):
    """(workbook, its first sheet) with `title` on row 1 and `header` on row 2."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name
    append_text_row(ws, [title])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    append_text_row(ws, list(header))
    for cell in ws[2]:
        cell.font = BOLD
    return wb, ws
