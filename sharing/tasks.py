"""Periodic work of the sharing app."""

from __future__ import annotations

REFRESH_WARNINGS_EVERY_SECONDS = 60
GRANT_NOTICES_EVERY_SECONDS = 30


def refresh_warnings() -> str | None:
    """The yellow/red warnings of open sharing requests (the provider's clock)."""
    from sharing.engine import PROCESS

    counts = PROCESS.refresh_warnings()
    if counts["yellow"] or counts["red"]:
        return f"共享需求预警：黄 {counts['yellow']}，红 {counts['red']}"
    return None


def send_grant_notices() -> str | None:
    """Grants for organisations of other nodes, announced to those nodes."""
    from sharing.exchange import send_grant_notices as send

    sent = send()
    return f"共享授权通知：{sent} 条" if sent else None
