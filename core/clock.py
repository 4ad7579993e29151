"""The deadline clock of any process (a case, a ticket, a rectification, a sharing request):
a limit in working days, calendar days or hours, counted on the working-day calendar of a
division, standing still while paused.

The due moment is always recomputed from its parts — start + limit + paused time — so it
can be explained to whoever asks (受理日期 + 承诺时限 + 暂停天数). Day limits count from the
day after the start (the start day is day 0); hour limits from the start instant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from core.calendar import add_working_days, working_days_between
from core.models import DeadlineWarning, LimitUnit


@dataclass(frozen=True)
class Limit:
    """How long something may take: `amount` of `unit`."""

    amount: int
    unit: str = LimitUnit.WORKING_DAYS


@dataclass(frozen=True)
class Due:
    """A due date; provisional when a year on the way has no published holiday schedule.
    `at` is the due instant of a limit in hours (its date is `date`)."""

    date: dt.date
    provisional: bool = False
    at: dt.datetime | None = None


def after(start: dt.date, amount: int, unit: str, division: str) -> Due:
    """`amount` days of `unit` after the day `start` (for hours, use `after_hours`)."""
    if unit == LimitUnit.WORKING_DAYS:
        result = add_working_days(start, amount, division)
        return Due(result.date, result.provisional)
    if unit == LimitUnit.CALENDAR_DAYS:
        return Due(start + dt.timedelta(days=amount), False)
    raise ValueError(f"unit {unit!r} counts instants, not days")


def after_hours(start: dt.datetime, hours: int) -> Due:
    """`hours` after the instant `start` (接诉即办 counts round the clock)."""
    at = start + dt.timedelta(hours=hours)
    local = timezone.localtime(at) if timezone.is_aware(at) else at
    return Due(local.date(), False, at)


def between(start: dt.date, end: dt.date, unit: str, division: str) -> int:
    """Days of `unit` after `start` up to and including `end` (negative if `end` is
    earlier). For an hour limit, whole days count as 24 hours."""
    if unit == LimitUnit.WORKING_DAYS:
        return working_days_between(start, end, division).days
    days = (end - start).days
    return days * 24 if unit == LimitUnit.HOURS else days


def hours_between(start: dt.datetime, end: dt.datetime) -> int:
    return int((end - start).total_seconds() // 3600)


def due_of(
    *,
    started_on: dt.date | None,
    started_at: dt.datetime | None,
    limit: Limit,
    paused: int,
    division: str,
) -> Due | None:
    """When a process started at `started_on` / `started_at` is due, having stood still for
    `paused` units; None before its clock has started."""
    if limit.unit == LimitUnit.HOURS:
        if started_at is None:
            return None
        return after_hours(started_at, limit.amount + paused)
    if started_on is None:
        return None
    return after(started_on, limit.amount + paused, limit.unit, division)


def warning_of(
    *,
    due_date: dt.date | None,
    due_at: dt.datetime | None,
    running: bool,
    today: dt.date,
    now: dt.datetime,
    division: str,
    warn_days: int,
    warn_hours: int,
) -> str:
    """Red when overdue, yellow within `warn_days` working days (or `warn_hours` for an hour
    limit) of the due moment; none while the clock is not running."""
    if not running:
        return DeadlineWarning.NONE
    if due_at is not None:
        if now > due_at:
            return DeadlineWarning.RED
        return (
            DeadlineWarning.YELLOW
            if due_at - now <= dt.timedelta(hours=warn_hours)
            else DeadlineWarning.NONE
        )
    if due_date is None:
        return DeadlineWarning.NONE
    if today > due_date:
        return DeadlineWarning.RED
    if working_days_between(today, due_date, division).days <= warn_days:
        return DeadlineWarning.YELLOW
    return DeadlineWarning.NONE


def yellow_before(today: dt.date, warn_days: int, division: str) -> dt.date:
    """Due dates from today up to (not including) this one are yellow: they leave at most
    `warn_days` working days. A set-based refresh compares due dates with it instead of
    counting working days per row."""
    return add_working_days(today, warn_days + 1, division).date
