"""`manage.py import_catalog FILE`: import a catalog file (CSV, XLSX or JSON, see
docs/catalog-format.md). All or nothing: on any problem the report names each row, column
and reason, nothing is written, and the command exits non-zero."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from catalog.transfer import import_catalog
from core.actors import SystemActor
from core.exceptions import RuleViolation


class RichProgress:
    """Draws the import's progress over the rows as a rich progress bar."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: Any = None

    def start(self, stage: str, total: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.bar.tasks[-1].total)
        self.task = self.bar.add_task(stage, total=total)

    def advance(self, rows: int = 1) -> None:
        self.bar.advance(self.task, rows)


def problem_table(exc: RuleViolation) -> Table:
    """The problems of a failed import as a table: row, column, reason."""
    table = Table(title=exc.message, title_justify="left", show_lines=False)
    table.add_column("行", justify="right")
    table.add_column("字段")
    table.add_column("原因", overflow="fold")
    for problem in exc.problems:
        table.add_row(
            "" if problem.row is None else str(problem.row), problem.field or "", problem.reason
        )
    return table


def stream(wrapper: Any) -> TextIO:
    """The stream under a command's stdout/stderr wrappers: they end every write with a
    newline, and rich writes partial lines."""
    while hasattr(wrapper, "_out"):
        wrapper = wrapper._out
    return cast(TextIO, wrapper)


class Command(BaseCommand):
    help = "导入事项目录文件（.csv、.xlsx 或 .json）：逐行校验，全部无误才写入"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="目录文件，格式见 docs/catalog-format.md")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--actor", default="import_catalog", help="审计日志中的操作方")

    def handle(self, *args: Any, **options: Any) -> None:
        errors = Console(file=stream(self.stderr), width=120)
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("行"),
            console=errors,
            transient=True,
        )
        try:
            with bar:
                result = import_catalog(
                    options["file"],
                    actor=SystemActor(options["actor"]),
                    dry_run=options["dry_run"],
                    progress=RichProgress(bar),
                )
        except RuleViolation as exc:
            if exc.problems:
                errors.print(problem_table(exc))
            raise CommandError(exc.message) from exc
        self.stdout.write(result.summary())
