"""`manage.py federation_log verify|stats`: check the envelope and receipt log again from
storage, or count what is in it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from federation.models import LogEntry, Outbox, Refusal
from federation.services import verify_log


class Command(BaseCommand):
    help = "报文日志：verify 逐条核验签名与哈希链，stats 统计（--json 输出机器可读结果）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "stats"])
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            check = verify_log()
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {"entries": check.entries, "problems": check.problems}, ensure_ascii=False
                    )
                )
            else:
                for problem in check.problems:
                    self.stderr.write(problem)
                self.stdout.write(f"核验 {check.entries} 条记录，发现问题 {len(check.problems)} 处")
            if not check.ok:
                raise CommandError("报文日志核验未通过")
            return
        stats = {
            "log": {
                f"{row['entry_type']}:{row['direction']}": row["n"]
                for row in LogEntry.objects.values("entry_type", "direction").annotate(
                    n=Count("id")
                )
            },
            "received_ids": LogEntry.objects.filter(entry_type="envelope", direction="in")
            .values("envelope_id")
            .distinct()
            .count(),
            "outbox": {
                row["status"]: row["n"]
                for row in Outbox.objects.values("status").annotate(n=Count("id"))
            },
            "refusals": {
                row["code"]: row["n"]
                for row in Refusal.objects.values("code").annotate(n=Count("id"))
            },
        }
        self.stdout.write(
            json.dumps(stats, ensure_ascii=False)
            if options["json"]
            else json.dumps(stats, ensure_ascii=False, indent=1)
        )
