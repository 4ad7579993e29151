"""Rewrite every encrypted field, sealed private key and stored file under the current keys.

Run after a key rotation (docs/deploy.md): the new key is TONGBAN_PERSONAL_DATA_KEY (or
TONGBAN_KEY_STORE_KEY), the old one is listed in …_OLD_KEYS. Idempotent and batched, one
transaction per batch: run it again after an interruption. `--check` only counts what is
not yet under the current keys, and exits 1 if anything is.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import blobs
from core.key_rotation import DEFAULT_BATCH_SIZE, reencrypt_column, remaining
from core.personal_data import current_prefix, sealed_columns


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field and sealed key under the current keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument(
            "--check", action="store_true", help="only count what is not under the current keys"
        )

    def handle(self, *args: Any, batch_size: int, check: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        left = 0
        for column in sealed_columns():
            name = f"{column.model}.{column.field}"
            prefix = current_prefix(ring=column.ring, purpose=column.purpose)
            if check:
                count = remaining(column)
                left += count
                self.stdout.write(f"{name}: {count} not under key {prefix[:-1]}")
                continue
            rewritten = reencrypt_column(column, batch_size=batch_size)
            count = remaining(column)
            left += count
            self.stdout.write(
                f"{name}: {rewritten} rewritten under key {prefix[:-1]}, {count} left"
            )
        stale = blobs.stale_files()
        if check:
            self.stdout.write(f"stored files: {len(stale)} not under the current key")
        else:
            for path in stale:
                blobs.reseal(path)
            self.stdout.write(f"stored files: {len(stale)} sealed again under the current key")
            stale = blobs.stale_files()
        left += len(stale)
        if left:
            raise CommandError(f"{left} values are not under the current keys")
        self.stdout.write(
            self.style.SUCCESS("Every value is under the current keys; old keys can be removed.")
        )
