"""Poll the carrier for every shipment still on its way; run it from cron or a worker."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from delivery.services import refresh_open_shipments


class Command(BaseCommand):
    help = "向承运方查询所有在途邮件的最新轨迹，更新邮件状态"

    def handle(self, *args: Any, **options: Any) -> None:
        summary = refresh_open_shipments()
        self.stdout.write(
            f"已查询 {summary.checked} 件在途邮件：新增轨迹 {summary.new_events} 条，"
            f"状态更新 {summary.advanced} 件，其中已签收 {summary.delivered} 件"
            + (f"；{summary.unavailable} 件因承运方暂不可用未能查询" if summary.unavailable else "")
        )
