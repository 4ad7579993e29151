"""Deadlines of a case in the unit of its item version (working or calendar days), on the
calendar of the handling organisation's division.

The clock starts on acceptance (the accepted day is day 0, counting from the next day),
stands still during pauses (补正, 特别程序) and stops at the decision. The due date is
recomputed from the acceptance date, the promised limit and the days paused so far, so it
is always explainable: 受理日期 + 承诺时限 + 暂停天数.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from cases.models import Case
from catalog.models import ItemVersion
from core.calendar import add_working_days, working_days_between

WORKING = ItemVersion.LimitUnit.WORKING_DAYS


@dataclass(frozen=True)
class Due:
    date: dt.date
    provisional: bool


def _division(case: Case) -> str:
    return case.handling_org.division.code


def days_after(case: Case, start: dt.date, days: int) -> Due:
    """`days` after `start` in the case's unit and calendar."""
    if case.item_version.promised_limit_unit == WORKING:
        result = add_working_days(start, days, _division(case))
        return Due(result.date, result.provisional)
    return Due(start + dt.timedelta(days=days), False)


def days_between(case: Case, start: dt.date, end: dt.date) -> int:
    """Days after `start` up to and including `end`, in the case's unit."""
    if case.item_version.promised_limit_unit == WORKING:
        return working_days_between(start, end, _division(case)).days
    return (end - start).days


def overall_due(case: Case) -> Due | None:
    if case.accepted_on is None:
        return None
    return days_after(case, case.accepted_on, case.item_version.promised_limit + case.paused_days)


def warning_for(case: Case, today: dt.date) -> str:
    """Red when overdue, yellow within DEADLINE_WARNING_DAYS working days of the due date;
    none while the clock is not running (not started, paused or stopped)."""
    if case.due_date is None or case.clock_state != Case.ClockState.RUNNING:
        return Case.Warning.NONE
    if today > case.due_date:
        return Case.Warning.RED
    remaining = working_days_between(today, case.due_date, _division(case)).days
    if remaining <= settings.DEADLINE_WARNING_DAYS:
        return Case.Warning.YELLOW
    return Case.Warning.NONE
