"""One rule for every .xlsx the service writes: a text that a spreadsheet would take for a formula
(it starts with =, +, -, @, a tab or a CR) is written as a text cell, never as a formula.

openpyxl turns any str that starts with "=" into a formula cell; Excel and LibreOffice re-read a text
starting with +, - or @ as a formula once someone edits the cell. So such a text gets data_type "s" (a
string cell in the file) and the quote prefix (the cell stays text when edited), and is shown as typed.
Works in normal and write-only workbooks: every writer appends through `text_row`."""
from __future__ import annotations

from typing import Any, Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def as_text(cell: Cell) -> Cell:
    """`cell` itself, made a text cell when its value would read as a formula."""
    if is_formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def text_row(ws, values: Iterable[Any]) -> list[Any]:
    """The row to `ws.append`: plain values stay as they are, formula-like texts become text cells."""
    row = []
    for value in values:
        if isinstance(value, Cell):
            row.append(as_text(value))
        elif is_formula_like(value):
            row.append(as_text(WriteOnlyCell(ws, value=value)))
        else:
            row.append(value)
    return row


def append_text_row(ws, values: Iterable[Any]) -> None:
    ws.append(text_row(ws, values))
