"""`manage.py worker`: the node's one background process. Round after round (one a second
by default) it runs every periodic job that is due (`core.scheduler`): outbox delivery,
directory refresh, regional zone sync, shipment tracking, the deadline scan. Run one per
node next to the web server; Ctrl-C or SIGTERM stops it after the current round, and what
it had not done yet (undelivered envelopes, a scan) is done by the next start."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from core import scheduler


def _every(job: scheduler.PeriodicJob) -> str:
    return "每轮" if job.every_seconds == 0 else f"每 {job.every_seconds:g} 秒"


class Command(BaseCommand):
    help = "节点的后台进程：每轮运行各应用登记的到期定时任务（报文投递、目录刷新、区域通办同步、寄递轨迹、期限扫描）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="只运行一轮（每个任务都到期）")
        parser.add_argument("--interval", type=float, default=1.0, help="两轮之间的秒数")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        worker = scheduler.Worker()
        jobs = "、".join(f"{job.name}（{_every(job)}）" for job in scheduler.schedule.all())
        self.stdout.write(f"后台进程已启动，定时任务：{jobs or '无'}")
        while True:
            outcomes = worker.run_round()
            if options["once"]:
                failed = [o.name for o in outcomes if not o.ok]
                if failed:
                    raise CommandError(f"定时任务失败：{'、'.join(failed)}（见日志）")
                return
            if stopping:
                return
            # A long-lived process: drop the connections that broke or outlived
            # CONN_MAX_AGE between rounds, as Django does between requests.
            close_old_connections()
            try:
                time.sleep(options["interval"])
            except KeyboardInterrupt:
                return
            if stopping:
                return
