"""Working-day arithmetic on the platform's own calendar (DESIGN.md §4.4).

The calendar is data: `CalendarDay` rows list the exceptions to Monday–Friday (national,
and per province), `CalendarYear` rows say which years have an official schedule. A year
without one falls back to Monday–Friday, and any answer that relied on such a year is
marked provisional rather than refused: a deadline in 2027 must not crash while the State
Council has not yet published 2027's holidays.

Counting follows 行政许可法 practice: the day of receipt is day 0, the clock starts the day
after, so `add_working_days(start, 1)` is the first working day after `start`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from core.models import CalendarDay, CalendarYear, Division

# How far to read ahead per working day asked for; holidays never exceed this ratio.
_SPAN_PER_DAY = 2
_SPAN_MARGIN = 21


@dataclass(frozen=True)
class WorkingDate:
    """A date computed on the calendar; provisional if a year on the way had no schedule."""

    date: dt.date
    provisional: bool
    provisional_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorkingCount:
    days: int
    provisional: bool
    provisional_years: tuple[int, ...] = ()


def chinese_date(day: dt.date) -> str:
    """2026年12月4日: how a date reads on every page and message."""
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class DateWindow:
    """The dates a deadline may be set to: after today, no later than `latest`."""

    earliest: dt.date
    latest: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.earliest <= day <= self.latest

    @property
    def hint(self) -> str:
        return f"可选 {chinese_date(self.earliest)} 至 {chinese_date(self.latest)}（含）"


def province_code_of(division: Division | str | None) -> str | None:
    if division is None:
        return None
    code = division.code if isinstance(division, Division) else str(division)
    return code[:2] + "0000"


class _Window:
    """The exceptions and published years between two dates, read in two queries."""

    def __init__(self, province: str | None, first: dt.date, last: dt.date) -> None:
        self.first, self.last = first, last
        scope = Q(province__isnull=True)
        if province:
            scope |= Q(province__code=province)
        national: dict[dt.date, bool] = {}
        local: dict[dt.date, bool] = {}
        rows = CalendarDay.objects.filter(scope, date__range=(first, last)).values_list(
            "date", "is_working_day", "province_id"
        )
        for day, working, province_id in rows:
            (national if province_id is None else local)[day] = working
        self.exceptions = {**national, **local}
        self.published = set(
            CalendarYear.objects.filter(
                province__isnull=True, year__range=(first.year, last.year)
            ).values_list("year", flat=True)
        )

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def unpublished(self, years: set[int]) -> tuple[int, ...]:
        return tuple(sorted(y for y in years if y not in self.published))


def working_days_in(
    first: dt.date, last: dt.date, division: Division | str | None = None
) -> list[dt.date]:
    """Every working day from `first` to `last` (inclusive) for `division`'s province, read
    in two queries (a set-based count of working days joins these, supervision/sql.py)."""
    window = _Window(province_code_of(division), first, last)
    days = []
    current = first
    while current <= last:
        if window.is_working_day(current):
            days.append(current)
        current += dt.timedelta(days=1)
    return days


def is_working_day(day: dt.date, division: Division | str | None = None) -> bool:
    return _Window(province_code_of(division), day, day).is_working_day(day)


def add_working_days(
    start: dt.date, days: int, division: Division | str | None = None
) -> WorkingDate:
    """The date `days` working days after `start` in `division`'s calendar.

    `days=0` is `start` itself (a 即办件 is due the day it is accepted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    province = province_code_of(division)
    span = days * _SPAN_PER_DAY + _SPAN_MARGIN
    window = _Window(province, start, start + dt.timedelta(days=span))
    current, remaining = start, days
    years = {start.year}
    while remaining:
        current += dt.timedelta(days=1)
        if not window.covers(current):
            window = _Window(province, current, current + dt.timedelta(days=span))
        years.add(current.year)
        if window.is_working_day(current):
            remaining -= 1
    missing = _unpublished_years(years)
    return WorkingDate(current, bool(missing), missing)


def working_days_between(
    start: dt.date, end: dt.date, division: Division | str | None = None
) -> WorkingCount:
    """How many working days lie after `start` up to and including `end`.

    Negative when `end` is before `start` (a deadline already passed)."""
    if end < start:
        count = working_days_between(end, start, division)
        return WorkingCount(-count.days, count.provisional, count.provisional_years)
    window = _Window(province_code_of(division), start, end)
    total = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if window.is_working_day(current):
            total += 1
    missing = window.unpublished(set(range(start.year, end.year + 1)))
    return WorkingCount(total, bool(missing), missing)


def _unpublished_years(years: set[int]) -> tuple[int, ...]:
    published = set(
        CalendarYear.objects.filter(province__isnull=True, year__in=years).values_list(
            "year", flat=True
        )
    )
    return tuple(sorted(years - published))
