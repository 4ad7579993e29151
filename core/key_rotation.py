"""Key rotation: rewrite every ciphertext under the current key (`manage.py reencrypt`).

A rotation is: configure the new key as current and the old one in the `…_OLD_KEYS` list
(both decrypt), restart, run `reencrypt`, then remove the old key (docs/deploy.md). The
rewrite works on the stored tokens themselves — decrypt with whichever configured key made
it, encrypt with the current one — so it changes no clear value, no `updated_at`, no
lookup hash. It goes in batches, each in its own transaction with its rows locked, and
skips what is already current: run it again after an interruption and it carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from core.personal_data import SealedColumn, current_prefix, decrypt, encrypt, sealed_columns

DEFAULT_BATCH_SIZE = 500


@dataclass
class ColumnReport:
    column: SealedColumn
    rewritten: int
    remaining: int


def _stale(column: SealedColumn) -> models.QuerySet[models.Model]:
    """Rows of the column whose token is not under the current key, by primary key."""
    model = apps.get_model(column.model)
    prefix = current_prefix(ring=column.ring, purpose=column.purpose)
    return (
        model._base_manager.annotate(_token=Cast(column.field, models.TextField()))
        .exclude(_token__isnull=True)
        .exclude(_token="")
        .exclude(_token__startswith=prefix)
        .order_by("pk")
    )


def remaining(column: SealedColumn) -> int:
    return _stale(column).count()


def reencrypt_column(
    column: SealedColumn,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rewrite the column's stale tokens under the current key; the number rewritten."""
    model = apps.get_model(column.model)
    prefix = current_prefix(ring=column.ring, purpose=column.purpose)
    done = 0
    while True:
        with transaction.atomic():
            pks = list(_stale(column).values_list("pk", flat=True)[:batch_size])
            if not pks:
                return done
            rows = (
                model._base_manager.select_for_update()
                .filter(pk__in=pks)
                .annotate(_token=Cast(column.field, models.TextField()))
                .values_list("pk", "_token")
            )
            for pk, token in rows:
                if not token or token.startswith(prefix):
                    continue  # changed since the batch was chosen
                clear = decrypt(token, ring=column.ring, purpose=column.purpose)
                fresh = encrypt(clear, ring=column.ring, purpose=column.purpose)
                # A Value with a plain text type: written as it is, not encrypted again by
                # the field.
                model._base_manager.filter(pk=pk).update(
                    **{column.field: models.Value(fresh, output_field=models.TextField())}
                )
                done += 1
        if progress is not None:
            progress(done)


def reencrypt_all(*, batch_size: int = DEFAULT_BATCH_SIZE) -> list[ColumnReport]:
    reports = []
    for column in sealed_columns():
        rewritten = reencrypt_column(column, batch_size=batch_size)
        reports.append(ColumnReport(column, rewritten, remaining(column)))
    return reports
