"""Delivery's periodic job, run by the node's worker (`core.scheduler`): poll the carrier
for the shipments still on their way."""

from __future__ import annotations

from delivery.services import refresh_open_shipments

# Often enough that a parcel's 签收 shows within a minute; the local carrier moves a parcel
# one step every DELIVERY_LOCAL_STEP_SECONDS (60 by default).
REFRESH_EVERY_SECONDS = 30


def refresh_shipments() -> str | None:
    summary = refresh_open_shipments()
    return summary.line() if summary.checked else None
