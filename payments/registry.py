"""Who is told when a payment is settled.

`payments` is floor 2 and may not import `cases` (DESIGN.md §4.3), yet a case held for
payment must move on once it is paid. So the higher app registers a callback here from its
`AppConfig.ready()` — a named registry, not a Django signal:

    from payments.registry import on_paid

    on_paid(cases.payment.payment_settled)

Callbacks run inside the transaction that settles the payment, so the payment and what
follows it (the case released) are written together or not at all. A callback must not
refuse a payment that was really made: it does nothing when there is nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.registry import RegistryError

if TYPE_CHECKING:
    from payments.models import Payment

PaidCallback = Callable[["Payment"], None]

_CALLBACKS: list[PaidCallback] = []


def on_paid(callback: PaidCallback) -> PaidCallback:
    """Register `callback(payment)`; registering it twice is an error."""
    if callback in _CALLBACKS:
        raise RegistryError(f"payment callback {callback.__qualname__!r} is already registered")
    _CALLBACKS.append(callback)
    return callback


def remove_paid_callback(callback: PaidCallback) -> None:
    """Unregister `callback` (for tests and for apps that are switched off)."""
    if callback not in _CALLBACKS:
        raise RegistryError(f"payment callback {callback.__qualname__!r} is not registered")
    _CALLBACKS.remove(callback)


def paid(payment: Payment) -> None:
    """Tell every registered callback that `payment` was settled (inside the transaction)."""
    for callback in list(_CALLBACKS):
        callback(payment)
