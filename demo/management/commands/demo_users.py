"""`manage.py demo_users [--json]`: the demo accounts `load_demo` made on this node
(`settings.NODE_ID`), with their roles and organisations (applicants' personal data
masked). All share the demo password."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from core.exceptions import RuleViolation
from demo.users import DEMO_PASSWORD, list_demo_users


class Command(BaseCommand):
    help = "列出演示账号（工作人员按机构与角色，另有自然人与法人经办人）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="以 JSON 数组输出")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = list_demo_users()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("还没有演示账号：请先运行 `manage.py load_demo`。")
            return
        buffer = io.StringIO()
        console = Console(file=buffer, width=160)
        staff = Table(title=f"工作人员（密码均为 {DEMO_PASSWORD}）", show_lines=False)
        for column in ("账号", "角色", "机构", "区划", "管理后台"):
            staff.add_column(column)
        applicants = Table(title=f"申请人（密码均为 {DEMO_PASSWORD}）")
        for column in ("账号", "类型", "姓名", "公民身份号码", "手机", "法人"):
            applicants.add_column(column)
        for row in rows:
            if "organisation" in row:
                staff.add_row(
                    row["username"],
                    row["role_label"],
                    row["organisation"],
                    f"{row['division_name']}（{row['division']}）",
                    "✓" if row["admin_site"] else "",
                )
            else:
                company = f"{row['company']}（{row['company_uscc']}）" if "company" in row else ""
                applicants.add_row(
                    row["username"],
                    row["role_label"],
                    row["name"],
                    row["id_number"],
                    row["mobile"],
                    company,
                )
        console.print(staff)
        console.print(applicants)
        self.stdout.write(buffer.getvalue(), ending="")
