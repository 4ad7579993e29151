"""Reads of core reference data (divisions, organisations, the calendar), shared by pages,
API and exports so that they agree on lookups, filters and error codes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from core.calendar import province_code_of
from core.exceptions import NotFound, Problem, RuleViolation
from core.models import CalendarDay, CalendarYear, Division, Organisation, division_code_prefix
from core.validators import normalize_uscc


def known_division(code: str, *, field: str = "division") -> Division:
    """The division named by a request parameter; `unknown_division` (422) if none is."""
    division = Division.objects.filter(code=code).first()
    if division is None:
        raise unknown("unknown_division", f"行政区划代码 {code} 不存在", field=field)
    return division


def nearest_division(code: str) -> Division | None:
    """The division of `code`, or the nearest one this node knows above it (its city, then
    its province): an ID number's or another node's county is often not in our table."""
    if len(code) < 6 or not code[:6].isdigit():
        return None
    candidates = [code, code[:6], code[:4] + "00", code[:2] + "0000"]
    found = {d.code: d for d in Division.objects.filter(code__in=candidates)}
    return next((found[c] for c in candidates if c in found), None)


def unknown(code: str, message: str, *, field: str) -> RuleViolation:
    """The error for a parameter that names nothing: 422 with a stable `unknown_*` code."""
    return RuleViolation(code, message, problems=[Problem(reason=message, field=field, code=code)])


# Divisions -------------------------------------------------------------------------------


def list_divisions(*, level: str | None = None, parent: str | None = None) -> QuerySet[Division]:
    """Divisions by code, optionally of one level or directly under one parent division."""
    qs = Division.objects.select_related("parent").order_by("code")
    if level:
        if level not in Division.Level.values:
            raise unknown(
                "unknown_level",
                f"未知的区划层级：{level}（可选：{'、'.join(Division.Level.values)}）",
                field="level",
            )
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent=known_division(parent, field="parent"))
    return qs


def get_division(code: str) -> Division:
    """One division with its parent and its children (`division_not_found` if none)."""
    division = (
        Division.objects.select_related("parent")
        .prefetch_related("children")
        .filter(code=code)
        .first()
    )
    if division is None:
        raise NotFound("division_not_found", f"行政区划 {code} 不存在")
    return division


# Organisations ---------------------------------------------------------------------------


def filter_organisations(
    *, division: str | None = None, q: str | None = None
) -> QuerySet[Organisation]:
    """Organisations inside a division (its code prefix, like the item filter) whose name or
    short name contains `q`."""
    qs = Organisation.objects.select_related("division").order_by("division__code", "name", "uscc")
    if division:
        known_division(division)
        qs = qs.filter(division__code__startswith=division_code_prefix(division))
    if q and q.strip():
        text = q.strip()
        qs = qs.filter(Q(name__contains=text) | Q(short_name__contains=text))
    return qs


def get_organisation(uscc: str) -> Organisation:
    """The organisation with this 统一社会信用代码 (`organisation_not_found` if none)."""
    code = (uscc or "").strip().upper()
    organisation = Organisation.objects.select_related("division").filter(uscc=code).first()
    if organisation is None:
        raise NotFound("organisation_not_found", f"统一社会信用代码为 {code} 的部门机构不存在")
    return organisation


def known_organisation(uscc: str, *, field: str = "organisation") -> str:
    """The normalised USCC of an existing organisation; `unknown_organisation` (422) if none."""
    try:
        code = normalize_uscc(uscc)
    except ValidationError:  # a malformed code names no organisation either
        code = (uscc or "").strip().upper()
    if not Organisation.objects.filter(uscc=code).exists():
        raise unknown(
            "unknown_organisation", f"统一社会信用代码 {uscc} 对应的部门机构不存在", field=field
        )
    return code


# Calendar --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledDay:
    """A day of a year that breaks the Monday–Friday rule in a division's calendar."""

    date: dt.date
    is_working_day: bool
    name: str
    local: bool


@dataclass(frozen=True)
class YearCalendar:
    """The exceptions of one year in a division's calendar (national when no division).

    `provisional` when the State Council's schedule of that year is not loaded: the year is
    then computed Monday–Friday and every answer from it may still change."""

    year: int
    division: Division | None
    provisional: bool
    days: tuple[ScheduledDay, ...]


def year_calendar(year: int, division: Division | None = None) -> YearCalendar:
    """Holidays and 调休 working days of `year`; a province's own rows override the national
    ones for divisions inside it. Two queries."""
    scope = Q(province__isnull=True)
    province = province_code_of(division)
    if province:
        scope |= Q(province__code=province)
    rows = CalendarDay.objects.filter(
        scope, date__range=(dt.date(year, 1, 1), dt.date(year, 12, 31))
    ).order_by("date", "province_id")
    merged: dict[dt.date, ScheduledDay] = {}
    for row in rows:
        # A province's row wins over the national one of the same date, in whatever order
        # the database returns them (NULL sorts differently on SQLite and PostgreSQL).
        local = row.province_id is not None
        if local or row.date not in merged:
            merged[row.date] = ScheduledDay(row.date, row.is_working_day, row.name, local)
    published = CalendarYear.objects.filter(year=year, province__isnull=True).exists()
    return YearCalendar(
        year=year,
        division=division,
        provisional=not published,
        days=tuple(merged[d] for d in sorted(merged)),
    )
