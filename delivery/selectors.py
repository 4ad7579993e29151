"""Reads of shipments shared by pages, the API and exports.

`delivery` does not know who may see which case (that is `cases`' scoping primitive):
callers pass a case number they have already authorised the reader for.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from delivery.models import Shipment, ShipmentEvent


def shipments_for_case(case_number: str) -> QuerySet[Shipment]:
    """The shipments of one case, oldest first, each with its events in time order
    (`shipment.events.all()`), in two queries however many there are."""
    events = ShipmentEvent.objects.order_by("at", "id")
    return (
        Shipment.objects.filter(case_number=case_number)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("events", queryset=events))
    )
