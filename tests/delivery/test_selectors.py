"""Reading a case's shipments: events prefetched, a constant number of queries."""

from __future__ import annotations

import datetime as dt

from delivery.selectors import shipments_for_case
from delivery.services import refresh_tracking
from tests.delivery.conftest import STEP, T0


def test_shipments_for_case_in_two_queries(book, django_assert_num_queries):
    late = T0 + dt.timedelta(seconds=10 * STEP)
    for _ in range(3):
        refresh_tracking(book(case_number="LN-20260511-000042"), now=late)
    book(case_number="LN-20260511-000099")  # another case's parcel

    with django_assert_num_queries(2):
        shipments = list(shipments_for_case("LN-20260511-000042"))
        timelines = [[e.status for e in s.events.all()] for s in shipments]

    assert len(shipments) == 3
    assert timelines == [["picked_up", "in_transit", "delivering", "delivered"]] * 3


def test_no_shipments_for_an_unknown_case(book):
    book()

    assert list(shipments_for_case("LN-20990101-000001")) == []
