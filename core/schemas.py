"""Shapes of core's JSON API: problems, divisions, organisations and the calendar.

Choice fields carry the stable code and its Chinese label side by side (`level`,
`level_label`); the label is read from the model's `get_<field>_display`, so pages and
API show the same words.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ValidationInfo, field_validator

from core.models import Division, Organisation

# A primary key as callers send it: a positive 64-bit integer, so that a huge number is a
# 422 problem rather than an overflow in the database driver (decision 84).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
# A version number (a PositiveIntegerField: 32 bits on PostgreSQL).
MAX_VERSION = 2**31 - 1
VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION)]
# The largest page number a listing accepts; past it the answer is a 422 problem.
MAX_PAGE = 100_000

# Dates the calendar answers for: wide enough for any case, narrow enough that arithmetic
# never leaves the calendar (year 9999) and a range never loops for minutes.
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)
MAX_DEADLINE_DAYS = 3650
MAX_RANGE_DAYS = 3660


class ProblemDetailOut(Schema):
    """One thing wrong with a request: which field (or row) and why, in Chinese."""

    field: str | None = None
    reason: str
    row: int | None = None
    code: str | None = None


class ProblemOut(Schema):
    """An RFC 9457 problem document (`application/problem+json`); switch on `code`."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    errors: list[ProblemDetailOut] | None = None


class CodeLabel(Schema):
    """A coded value with its Chinese label."""

    code: str
    label: str


def code_labels(codes: list[str], labels: dict[str, str]) -> list[dict[str, str]]:
    """Codes stored in a JSON list, each with its label (an unknown code labels itself)."""
    return [{"code": code, "label": labels.get(code, code)} for code in codes]


class DivisionRef(Schema):
    code: str
    name: str


class DivisionOut(Schema):
    """An administrative division (GB/T 2260) or a functional zone with a local code."""

    code: str
    name: str
    level: Division.Level
    level_label: str = Field(validation_alias="get_level_display")
    code_kind: Division.CodeKind
    code_kind_label: str = Field(validation_alias="get_code_kind_display")
    parent: DivisionRef | None = None


class DivisionDetailOut(DivisionOut):
    children: list[DivisionOut]


class OrganisationRef(Schema):
    uscc: str
    name: str


class OrganisationOut(Schema):
    """A department or other body, identified by its 统一社会信用代码."""

    uscc: str
    name: str
    short_name: str
    kind: Organisation.Kind
    kind_label: str = Field(validation_alias="get_kind_display")
    division: DivisionRef


# Calendar --------------------------------------------------------------------------------


def _division_param() -> Any:
    return Field(None, description="行政区划代码（6 位），按其所在省的日历计算；缺省为全国日历")


def _calendar_date(description: str) -> Any:
    return Field(..., ge=FIRST_DATE, le=LAST_DATE, description=description)


class DeadlineQuery(Schema):
    division: str | None = _division_param()
    start: dt.date = _calendar_date("起算日（当日不计入），YYYY-MM-DD")
    days: int = Field(..., ge=0, le=MAX_DEADLINE_DAYS, description="工作日数")


class WorkingDaysQuery(Schema):
    division: str | None = _division_param()
    start: dt.date = _calendar_date("起算日（当日不计入），YYYY-MM-DD")
    end: dt.date = _calendar_date("截止日（当日计入），YYYY-MM-DD")

    @field_validator("end")
    @classmethod
    def _range_not_too_long(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and abs((end - start).days) > MAX_RANGE_DAYS:
            raise ValueError(f"起止日期相隔不能超过 {MAX_RANGE_DAYS} 天")
        return end


class YearQuery(Schema):
    division: str | None = _division_param()
    year: int = Field(..., ge=FIRST_DATE.year, le=LAST_DATE.year, description="年份")


class DeadlineOut(Schema):
    """The date `days` working days after `start`; provisional if it relied on a year whose
    official schedule is not loaded (that year counted Monday–Friday)."""

    division: DivisionRef | None
    start: dt.date
    days: int
    deadline: dt.date
    provisional: bool
    provisional_years: list[int]


class WorkingDaysOut(Schema):
    """Working days after `start` up to and including `end` (negative if `end` is earlier)."""

    division: DivisionRef | None
    start: dt.date
    end: dt.date
    working_days: int
    provisional: bool
    provisional_years: list[int]


class CalendarDayOut(Schema):
    """A holiday on a weekday or a worked weekend day (调休); `local` if the province's own."""

    date: dt.date
    is_working_day: bool
    name: str
    local: bool


class YearCalendarOut(Schema):
    division: DivisionRef | None
    year: int
    provisional: bool
    days: list[CalendarDayOut]
