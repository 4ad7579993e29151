"""`manage.py load_demo`: load the demo data of a Liaoning node. Idempotent: what is
already there and identical is left alone, so running it twice changes nothing.

The catalog (`demo/data/catalog.json`) goes through `import_catalog`, the same path as any
catalog file: its organisations, licence types, the 东北三省一区 scheme, the items with
their guides, and the three published lists. Its codes are invented (docs/catalog-format.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "data" / "catalog.json"


class Command(BaseCommand):
    help = "载入演示数据（辽宁节点的事项目录与清单）；可重复执行，已有且相同的数据不会改动"

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "import_catalog",
            str(DEMO_CATALOG),
            actor="load_demo",
            stdout=self.stdout,
            stderr=self.stderr,
        )
