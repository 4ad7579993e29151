"""S10 tracking numbers (UPU S10 check digit) and the local carrier's numbers."""

from __future__ import annotations

import re

import pytest

from delivery.carriers import BookingRequest, LocalCarrier, is_valid_s10, s10_check_digit


@pytest.mark.parametrize(
    "serial, check",
    [
        ("47312482", "9"),  # the UPU's own example, RR473124829GB
        ("00000000", "5"),  # 11 - 0 = 11 → 5
        ("00300000", "0"),  # 3 × 4 = 12, 11 - 1 = 10 → 0
        ("12345678", "5"),  # 8+12+12+8+15+30+63+56 = 204, 204 % 11 = 6, 11 - 6 = 5
        ("00000001", "4"),  # 7, 11 - 7 = 4
    ],
)
def test_s10_check_digit(serial, check):
    assert s10_check_digit(serial) == check


@pytest.mark.parametrize("serial", ["1234567", "123456789", "1234567a", ""])
def test_s10_check_digit_needs_eight_digits(serial):
    with pytest.raises(ValueError):
        s10_check_digit(serial)


@pytest.mark.parametrize(
    "number, valid",
    [
        ("RR473124829GB", True),
        ("RR473124828GB", False),  # wrong check digit
        ("RR47312482GB", False),  # check digit missing
        ("rr473124829gb", False),  # letters are upper case
        ("LC003000000CN", True),
        ("LC000000005CN", True),
    ],
)
def test_is_valid_s10(number, valid):
    assert is_valid_s10(number) is valid


def test_local_carrier_numbers_are_valid_s10_and_distinct(sender, recipient):
    carrier = LocalCarrier()
    request = BookingRequest("ref", sender, recipient, "申请材料原件 3 份")

    numbers = [carrier.book(request).tracking_number for _ in range(50)]

    assert all(re.fullmatch(r"LC\d{9}CN", n) for n in numbers)
    assert all(is_valid_s10(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
