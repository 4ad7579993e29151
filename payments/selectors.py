"""Reads of payments: the current one of a case, and a case's payments in one query."""

from __future__ import annotations

from payments.models import OPEN_STATUSES, Payment


def open_payment_of(case_number: str) -> Payment | None:
    """The case's payment that is due or paid (one at most), or None."""
    return (
        Payment.objects.select_related("payee")
        .filter(case_number=case_number, status__in=OPEN_STATUSES)
        .first()
    )


def payments_for_case(case_number: str) -> list[Payment]:
    """Every payment of the case, newest first (one query)."""
    return list(Payment.objects.select_related("payee").filter(case_number=case_number))


def payment_by_order(order_number: str) -> Payment | None:
    return Payment.objects.select_related("payee").filter(order_number=order_number).first()
