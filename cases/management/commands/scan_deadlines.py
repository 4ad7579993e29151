"""Run the deadline scan now (for cron), or start the self-rescheduling background scan."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cases.tasks import run_scan, schedule_deadline_scan


class Command(BaseCommand):
    help = "扫描办件期限：终止容缺逾期的办件，更新临近期限（黄）与超期（红）预警"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="不立即扫描，而是排入后台任务队列（每小时自动重复）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["schedule"]:
            queued = schedule_deadline_scan()
            self.stdout.write("已排入后台扫描" if queued else "后台扫描已在队列中")
            return
        result = run_scan()
        self.stdout.write(
            f"终止 {result['terminated']} 件；黄色预警 {result['yellow']} 件；"
            f"红色预警 {result['red']} 件"
        )
