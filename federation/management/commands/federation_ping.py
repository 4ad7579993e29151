"""`manage.py federation_ping <node>`: check a route to another node — queue pings for the
node's worker (each in its own transaction, like any business change), or ask the node
for its status and wait for the signed answer."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.exceptions import RuleViolation
from federation import services


class Command(BaseCommand):
    help = "检查到其他节点的通路：--count 条 ping 报文放入发件箱（由投递进程送达），或 --ask 即时查询对方状态"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--ask", action="store_true", help="即时查询对方节点状态并等待签名答复")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["ask"]:
                answer = services.ask(options["node"], "federation.status", {})
                self.stdout.write(json.dumps(answer, ensure_ascii=False))
                return
            for n in range(options["count"]):
                with transaction.atomic():
                    entry = services.send(
                        options["node"], "federation.ping", {"note": f"ping {n + 1}"}
                    )
                self.stdout.write(str(entry.envelope_id))
        except RuleViolation as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except services.FederationUnavailable as exc:
            raise CommandError(f"对方节点不可达：{exc}") from exc
