"""`manage.py export_catalog FILE`: write this node's published catalog as CSV, XLSX or
JSON (by the file's extension), in the layout `import_catalog` reads
(docs/catalog-format.md). Items cached from other nodes (the regional zone) are not in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.transfer import encoding_of, export_catalog
from core.exceptions import RuleViolation


class Command(BaseCommand):
    help = (
        "导出本节点已发布的事项目录（.csv、.xlsx 或 .json），格式与 import_catalog 相同；"
        "从其他节点同步来的区域通办事项不在其中"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="输出文件，扩展名决定格式")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            encoding_of(path.name)
            count = export_catalog(path)
        except RuleViolation as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"无法写入 {path}：{exc.strerror}") from exc
        self.stdout.write(f"已导出 {count} 条记录到 {path}")
