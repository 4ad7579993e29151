"""The three encodings of the catalog layout: CSV, XLSX and JSON.

Reading gives the cells of each record as text, with its row number: the spreadsheet row
(header = row 1) for CSV and XLSX, the 1-based index in `records` for JSON. Nothing here
knows what a cell means; that is `columns`. Broken files are refused with a stable code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.conf import settings
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from catalog.transfer.columns import HEADER
from core.exceptions import ProblemList, RuleViolation

FORMAT_NAME = "tongban-catalog"
FORMAT_VERSION = 1
EXTENSIONS = (".csv", ".xlsx", ".json")
SHEET_TITLE = "catalog"


@dataclass(frozen=True)
class RawRecord:
    """The cells of one record as text (stripped, empty cells left out), and its row."""

    row: int
    cells: dict[str, str]


@dataclass
class Sheet:
    """What a file holds: its records, and problems of the file as a whole (its header)."""

    records: list[RawRecord]
    problems: ProblemList = field(default_factory=ProblemList)


def encoding_of(filename: str) -> str:
    """The encoding chosen by the file's extension, or a RuleViolation."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise RuleViolation(
            "catalog_file_type",
            f"不支持的文件类型“{suffix or filename}”，请使用 {'、'.join(EXTENSIONS)} 文件",
        )
    return suffix


def check_size(size: int) -> None:
    limit = settings.CATALOG_IMPORT_MAX_BYTES
    if size > limit:
        raise RuleViolation(
            "catalog_file_too_large",
            f"文件大小 {size:,} 字节，超过导入上限 {limit:,} 字节",
            status=413,
        )


def cell_text(value: Any) -> str:
    """The text of a cell value as a spreadsheet or JSON document holds it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list) and all(not isinstance(v, list | dict) for v in value):
        return ";".join(cell_text(v) for v in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


# A cell a spreadsheet would run as a formula begins with one of these (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What we put in front of such a cell in CSV, and take off again on reading: a quote makes
# Excel and LibreOffice show the cell as text.
TEXT_MARK = "'"


def csv_cell(value: str) -> str:
    """A cell as CSV export writes it (decision 86): a cell that a spreadsheet would read
    as a formula (`=HYPERLINK(…)`) gets a leading quote, and so does a cell that already
    starts with one, so that `csv_value` gives back exactly the text exported."""
    if value.startswith((*FORMULA_STARTS, TEXT_MARK)):
        return TEXT_MARK + value
    return value


def csv_value(cell: str) -> str:
    """The text of a CSV cell as `csv_cell` wrote it."""
    return cell.removeprefix(TEXT_MARK)


def read_sheet(data: bytes, filename: str) -> Sheet:
    """Read a catalog file's records; raise RuleViolation when the file itself is unusable."""
    suffix = encoding_of(filename)
    check_size(len(data))
    if suffix == ".json":
        return _read_json(data)
    rows = _csv_rows(data) if suffix == ".csv" else _xlsx_rows(data)
    return _read_table(rows)


def _csv_rows(data: bytes) -> Iterable[list[Any]]:
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleViolation(
            "catalog_file_encoding",
            f"CSV 文件须为 UTF-8 编码（可带 BOM），第 {exc.start + 1} 个字节无法解码；"
            "在 Excel 中请另存为“CSV UTF-8（逗号分隔）”",
        ) from exc
    try:
        rows = list(csv.reader(io.StringIO(content, newline="")))
    except csv.Error as exc:
        raise RuleViolation("catalog_file_unreadable", f"CSV 文件格式错误：{exc}") from exc
    return [[csv_value(cell) for cell in row] for row in rows]


def _xlsx_rows(data: bytes) -> Iterable[list[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = (
            workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
        )
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        workbook.close()
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise RuleViolation(
            "catalog_file_unreadable", "无法读取 XLSX 文件：文件已损坏，或不是 Excel 工作簿"
        ) from exc
    return rows


def _read_table(rows: Iterable[list[Any]]) -> Sheet:
    table = iter(rows)
    header = [cell_text(c) for c in next(table, [])]
    while header and not header[-1]:
        header.pop()
    sheet = Sheet(records=[])
    if "record" not in header:
        raise RuleViolation("catalog_file_invalid", "第 1 行应为表头，且须有 record 列（记录类型）")
    for position, name in enumerate(header):
        if name not in HEADER:
            sheet.problems.add(f"未知的列“{name}”", row=1, field=name or f"第{position + 1}列")
        elif header.index(name) != position:
            sheet.problems.add(f"表头中“{name}”列重复", row=1, field=name)
    for row_number, row in enumerate(table, start=2):
        texts = [cell_text(c) for c in row]
        if not any(texts):
            continue
        if len(texts) > len(header) and any(texts[len(header) :]):
            sheet.problems.add("该行的单元格多于表头的列", row=row_number)
        cells = {
            name: value
            for name, value in zip(header, texts, strict=False)
            if value and name in HEADER
        }
        sheet.records.append(RawRecord(row_number, cells))
    return sheet


def _read_json(data: bytes) -> Sheet:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise RuleViolation("catalog_file_encoding", "JSON 文件须为 UTF-8 编码") from exc
    except json.JSONDecodeError as exc:
        raise RuleViolation(
            "catalog_file_unreadable",
            f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
        ) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise RuleViolation(
            "catalog_file_invalid", f"不是通办事项目录文件：format 应为“{FORMAT_NAME}”"
        )
    if document.get("format_version") != FORMAT_VERSION:
        raise RuleViolation(
            "catalog_file_version",
            f"不支持的格式版本 {document.get('format_version')!r}（支持 {FORMAT_VERSION}）",
        )
    records = document.get("records")
    if not isinstance(records, list):
        raise RuleViolation("catalog_file_invalid", "records 应为记录数组")
    sheet = Sheet(records=[])
    for row_number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            sheet.problems.add("记录应为 JSON 对象", row=row_number)
            continue
        for name in record:
            if name not in HEADER:
                sheet.problems.add(f"未知的列“{name}”", row=row_number, field=name)
        cells = {name: cell_text(value) for name, value in record.items() if name in HEADER}
        sheet.records.append(
            RawRecord(row_number, {name: value for name, value in cells.items() if value})
        )
    return sheet


def write_sheet(records: Sequence[Mapping[str, str]], filename: str) -> bytes:
    """Encode records (cell texts keyed by column) as the file `filename` names."""
    suffix = encoding_of(filename)
    if suffix == ".json":
        document = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "records": [dict(r) for r in records],
        }
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    rows = [[record.get(name, "") for name in HEADER] for record in records]
    if suffix == ".csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([[csv_cell(value) for value in row] for row in rows])
        # The BOM makes Excel open the file as UTF-8.
        return buffer.getvalue().encode("utf-8-sig")
    return _xlsx_bytes(rows)


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET_TITLE
    sheet.append(list(HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row_number, row in enumerate(rows, start=2):
        for column_number, value in enumerate(row, start=1):
            if value:
                cell = sheet.cell(row=row_number, column=column_number)
                cell.value = value
                # Text stays text: codes keep their leading zeros, "=…" is no formula.
                cell.data_type = "s"
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
