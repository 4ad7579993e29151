"""`manage.py rebuild_figures`: every supervision fact and rollup from scratch (first
install, or cases loaded outside the services, as the bench's generated province)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from supervision import facts


class Command(BaseCommand):
    help = "重建督查统计：由全部办件重新计算统计事实与月度汇总"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--refresh", action="store_true", help="只刷新自上次以来变化的办件（与定时任务相同）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["refresh"]:
            self.stdout.write(f"统计刷新：{facts.refresh()} 件")
            return
        self.stdout.write(f"统计重建：{facts.rebuild()} 件")
