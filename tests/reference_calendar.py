"""An independent working-day computation, the oracle the calendar and deadline tests
compare against: chinese_calendar's schedule, Monday–Friday for years it does not cover
(2027 on), counted the legal way (the day after `start` is day 1)."""

import datetime as dt

import chinese_calendar


def reference_is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def reference_deadline(start: dt.date, days: int) -> dt.date:
    """The `days`-th working day after `start`."""
    current = start
    while days:
        current += dt.timedelta(days=1)
        if reference_is_workday(current):
            days -= 1
    return current


def reference_count(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end`."""
    return sum(
        reference_is_workday(start + dt.timedelta(days=n)) for n in range(1, (end - start).days + 1)
    )
