"""Poll the carrier for every shipment still on its way, once (the node's worker does it
every 30 seconds)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from delivery.services import refresh_open_shipments


class Command(BaseCommand):
    help = "向承运方查询所有在途邮件的最新轨迹，更新邮件状态"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(refresh_open_shipments().line())
