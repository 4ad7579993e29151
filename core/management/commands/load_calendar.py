"""Load a year's official holiday schedule (national, or a province's local adjustments).

The file lists only the exceptions to Monday–Friday, as CSV (`date,is_working_day,name`,
UTF-8, header row) or JSON (`[{"date": "2027-01-01", "is_working_day": false, "name":
"元旦"}, …]`). Loading a year replaces that year's previous rows; a year loaded this way is
no longer provisional.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.actors import SystemActor
from core.exceptions import ProblemList, RuleViolation
from core.models import Division
from core.services import ScheduleDay, load_calendar_year

_TRUE = {"1", "true", "yes", "是", "上班", "工作日"}
_FALSE = {"0", "false", "no", "否", "休息", "休息日"}


def parse_schedule(path: Path) -> list[ScheduleDay]:
    """Read a schedule file; raise RuleViolation naming each bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleViolation("calendar_file_unreadable", f"无法读取文件 {path}：{exc}") from exc
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RuleViolation("calendar_file_invalid", f"JSON 格式错误：{exc}") from exc
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise RuleViolation("calendar_file_invalid", "JSON 应为对象列表")
    elif path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        raise RuleViolation("calendar_file_type", "只支持 .csv 或 .json 文件")
    problems = ProblemList()
    days: list[ScheduleDay] = []
    for number, row in enumerate(rows, start=1):
        try:
            day = dt.date.fromisoformat(str(row.get("date", "")).strip())
        except ValueError:
            problems.add("日期应为 YYYY-MM-DD", row=number, field="date")
            continue
        flag = str(row.get("is_working_day", "")).strip().lower()
        if flag not in _TRUE | _FALSE:
            problems.add("is_working_day 应为 true 或 false", row=number, field="is_working_day")
            continue
        days.append(ScheduleDay(day, flag in _TRUE, str(row.get("name", "") or "")))
    problems.raise_if_any("calendar_file_invalid", "工作日历文件有误，未作任何修改")
    return days


class Command(BaseCommand):
    help = "载入某一年的法定节假日与调休安排（全国或省级地方调整）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--province", help="省级区划代码；不填为全国安排")
        parser.add_argument("--source", default="", help="来源，如国务院办公厅通知文号")

    def handle(self, *args: Any, **options: Any) -> None:
        province = None
        if options["province"]:
            province = Division.objects.filter(code=options["province"]).first()
            if province is None:
                raise CommandError(f"行政区划 {options['province']} 不存在")
        try:
            days = parse_schedule(options["file"])
            load_calendar_year(
                options["year"],
                days,
                province=province,
                source=options["source"] or str(options["file"].name),
                actor=SystemActor("load_calendar"),
            )
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已载入 {options['year']} 年工作日历：{len(days)} 个调整日")
