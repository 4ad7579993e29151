"""`manage.py federation_worker`: the delivery worker of a node. Delivers the outbox with
retries and back-off, refreshes the directory from its source, and runs the periodic
jobs other apps registered (`federation.worker.register_periodic`). Stop it with Ctrl-C or
SIGTERM; whatever it had not delivered stays in the outbox for the next start."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from federation import worker


class Command(BaseCommand):
    help = (
        "联邦投递进程：按序投递发件箱（失败重试、退避），定时刷新节点目录，运行各应用登记的定时任务"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="只运行一轮")
        parser.add_argument("--interval", type=float, default=1.0, help="两轮之间的秒数")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        state = worker.WorkerState()
        while True:
            counts = worker.run_round(state)
            if any(counts.values()):
                self.stdout.write(
                    "投递：送达 {delivered}，拒收 {refused}，未通 {failed}".format(**counts)
                )
            if options["once"] or stopping:
                return
            try:
                time.sleep(options["interval"])
            except KeyboardInterrupt:
                return
            if stopping:
                return
