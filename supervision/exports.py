"""Exports of a dashboard table as CSV (UTF-8 with BOM, so that Excel reads Chinese) and as
XLSX (openpyxl). Formula-safe: a text cell beginning with = + - @ or a tab or carriage
return is prefixed with an apostrophe, so no spreadsheet runs it as a formula (OWASP
"CSV injection"); numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from openpyxl import Workbook

from supervision.tables import Table

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell value a spreadsheet will not evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def header(table: Table) -> list[str]:
    return [f"{c.label}（{c.unit}）" if c.unit else c.label for c in table.columns]


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe(h) for h in header(table)])
    for row in table.cells():
        writer.writerow([safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, *, title: str = "") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.name[:31]
    if title:
        sheet.append([safe(title)])
    sheet.append([safe(h) for h in header(table)])
    for row in table.cells():
        sheet.append([safe(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
