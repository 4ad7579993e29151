"""Who is told when a shipment's status changes.

`delivery` is floor 2 and may not import `cases` (DESIGN.md §4.3), yet a case wants to
know when its materials arrived or its result was signed for. So the higher app registers
a callback here from its `AppConfig.ready()` — a named registry, not a Django signal:

    from delivery.registry import on_status_change

    on_status_change(cases.deliveries.shipment_moved)

Each callback runs after the change is committed, with the shipment and the events stored
by that change. A failing callback is logged and does not stop the others (the change it
reports is already committed).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import TYPE_CHECKING

from django.db import transaction

from core.registry import RegistryError

if TYPE_CHECKING:
    from delivery.models import Shipment, ShipmentEvent

StatusCallback = Callable[["Shipment", list["ShipmentEvent"]], None]

_CALLBACKS: list[StatusCallback] = []


def on_status_change(callback: StatusCallback) -> StatusCallback:
    """Register `callback(shipment, new_events)`; registering it twice is an error (two
    apps, or one app's `ready()` run twice, would report every change twice). Returns the
    callback, so it also works as a decorator."""
    if callback in _CALLBACKS:
        raise RegistryError(
            f"shipment status callback {callback.__qualname__!r} is already registered"
        )
    _CALLBACKS.append(callback)
    return callback


def remove_status_callback(callback: StatusCallback) -> None:
    """Unregister `callback` (for tests and for apps that are switched off)."""
    if callback not in _CALLBACKS:
        raise RegistryError(f"shipment status callback {callback.__qualname__!r} is not registered")
    _CALLBACKS.remove(callback)


def status_changed(shipment: Shipment, new_events: list[ShipmentEvent]) -> None:
    """Queue every registered callback to run once the current transaction commits."""
    for callback in list(_CALLBACKS):
        transaction.on_commit(_bound(callback, shipment, list(new_events)), robust=True)


def _bound(
    callback: StatusCallback, shipment: Shipment, new_events: list[ShipmentEvent]
) -> Callable[[], None]:
    def run() -> None:
        callback(shipment, new_events)

    # Django names the function in the log when a robust on-commit callback fails.
    return update_wrapper(run, callback)
