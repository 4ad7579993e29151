from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import RuleViolation
from demo.sharing import load_demo_remote_sharing


class Command(BaseCommand):
    help = (
        "演示数据共享的跨节点部分（demo/sharing.py）：吉林节点的长春市公安局向辽宁节点提出共享需求，"
        "辽宁节点的提供部门审核同意。须在联邦各节点运行后、先吉林后辽宁执行；可重复执行"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = load_demo_remote_sharing()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"跨节点共享需求：{done} 项")
