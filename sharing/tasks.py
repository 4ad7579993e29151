"""Periodic work of the sharing app."""

from __future__ import annotations

REFRESH_WARNINGS_EVERY_SECONDS = 60


def refresh_warnings() -> str | None:
    """The yellow/red warnings of open sharing requests (the provider's clock)."""
    from sharing.engine import PROCESS

    counts = PROCESS.refresh_warnings()
    if counts["yellow"] or counts["red"]:
        return f"共享需求预警：黄 {counts['yellow']}，红 {counts['red']}"
    return None
