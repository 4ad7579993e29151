"""对账 now: compare the gateway's statement of a day (yesterday by default) with our
payments, refund double payments, and print what was found (no personal data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.exceptions import RuleViolation
from payments import services


class Command(BaseCommand):
    help = "对账：比对支付平台某日对账单与本节点缴费记录（默认昨日），重复缴费原路退回"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="对账日期 YYYY-MM-DD（默认昨日）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError("日期格式应为 YYYY-MM-DD") from exc
        else:
            day = timezone.localdate() - dt.timedelta(days=1)
        try:
            run = services.reconcile(day)
        except RuleViolation as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"{run.gateway} {run.day}: 对账单 {run.entries} 笔，相符 {run.matched} 笔，"
            f"差异 {run.discrepancies} 笔"
        )
        for row in run.found.order_by("pk"):
            self.stdout.write(f"  {row.get_kind_display()} {row.order_number} {row.amount} 元")
