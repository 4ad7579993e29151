"""Run the deadline scan once, now. The node's worker (`manage.py worker`) runs it every
`TONGBAN_DEADLINE_SCAN_SECONDS`; this is for an operator, or a timer on a node without one."""

from typing import Any

from django.core.management.base import BaseCommand

from cases.tasks import describe, run_scan


class Command(BaseCommand):
    help = "扫描办件期限：终止容缺逾期的办件，更新临近期限（黄）与超期（红）预警"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(describe(run_scan()))
