from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import RuleViolation
from demo.bundles import load_demo_bundles


class Command(BaseCommand):
    help = (
        "发布本节点的演示一件事（demo/bundles.py）：其事项都已在本节点（含同步来的区域通办事项）"
        "的一件事才发布；可重复执行"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            made = load_demo_bundles()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"演示一件事：新发布 {made} 件")
