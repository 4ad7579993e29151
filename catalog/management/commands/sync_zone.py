"""`manage.py sync_zone`: bring the cached copy of the regional zone up to date now: ask
every other member node for its items (`catalog.zone`) and import each answer, all or
nothing per node. The worker (`manage.py worker`) does the same every ten minutes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.zone import SYNC_ACTOR, sync_zone
from core.actors import SystemActor
from core.exceptions import RuleViolation


class Command(BaseCommand):
    help = (
        "同步区域通办专区：向节点目录中的其他成员节点查询其区域通办事项，"
        "逐个节点整份导入为本节点的缓存副本（注明所属节点）；有节点同步失败时以非零状态退出"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", default=SYNC_ACTOR.name, help="审计日志中的操作方")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcomes = sync_zone(actor=SystemActor(options["actor"]))
        except RuleViolation as exc:
            raise CommandError(exc.message) from exc
        if not outcomes:
            self.stdout.write("节点目录中没有其他成员节点，无需同步")
        for outcome in outcomes:
            if outcome.imported is not None:
                self.stdout.write(
                    f"{outcome.name}（{outcome.node}）：{outcome.imported.items} 项事项；"
                    f"{outcome.imported.result.summary()}"
                )
            else:
                self.stderr.write(
                    f"{outcome.name}（{outcome.node}）：同步失败，保留已缓存的事项。{outcome.error}"
                )
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise CommandError(f"{len(failed)} 个节点同步失败：{'、'.join(o.name for o in failed)}")
