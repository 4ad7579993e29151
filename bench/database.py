"""What the bench database needs after a bulk build: fresh planner statistics.

`bench.catalog` inserts tens of thousands of rows at once; until autovacuum gets to them,
PostgreSQL plans with the statistics of empty tables and, for a search, scans every item
version instead of the GIN index (18.8 s instead of 0.1 s for 户口迁移 over 114,000 items,
measured before and after). A real node's catalog grows slowly and autovacuum keeps up.
"""

from __future__ import annotations


def analyze() -> None:
    """`ANALYZE` the database on PostgreSQL (nothing to do on SQLite)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def vacuum_analyze(*tables: str) -> None:
    """After a bulk load of `tables`: `VACUUM (ANALYZE)` them on PostgreSQL, so that the
    visibility map is set (scans can be index-only) and autovacuum does not do it in the
    middle of a later measurement. Inside a transaction (the tests) VACUUM cannot run:
    the statistics are taken alone."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'{command} "{table}"')
