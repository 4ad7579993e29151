"""`manage.py give_default_ratings`: one run of the periodic job — the default rating of
every invitation past its date, and the rectifications whose fix the citizen did not rate
in time closed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ratings import tasks


class Command(BaseCommand):
    help = "给出逾期未评价的系统默认评价，并办结群众逾期未评价整改结果的差评整改"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(tasks.give_default_ratings() or "没有需要处理的评价")
