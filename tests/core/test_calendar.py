"""The working-day calendar against an independent computation with chinese_calendar."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.actors import SystemActor
from core.calendar import add_working_days, is_working_day, working_days_between
from core.exceptions import RuleViolation
from core.models import CalendarDay, CalendarYear, Division
from core.services import ScheduleDay, load_calendar_year
from tests.reference_calendar import reference_deadline


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (dt.date(2025, 9, 26), 10, dt.date(2025, 10, 16)),  # across National Day
        (dt.date(2026, 2, 13), 1, dt.date(2026, 2, 14)),  # Saturday 调休 working day
        (dt.date(2026, 2, 27), 1, dt.date(2026, 2, 28)),  # Saturday 调休 working day
        (dt.date(2026, 9, 30), 1, dt.date(2026, 10, 8)),  # National Day week
        (dt.date(2026, 10, 9), 1, dt.date(2026, 10, 10)),  # Saturday 调休 working day
        (dt.date(2026, 3, 2), 0, dt.date(2026, 3, 2)),  # 即办件: the same day
    ],
)
def test_known_dates(start, days, expected):
    result = add_working_days(start, days, "210200")
    assert result.date == expected == reference_deadline(start, days)
    assert not result.provisional


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=dt.date(2005, 1, 1), max_value=dt.date(2026, 10, 1)),
    days=st.integers(min_value=0, max_value=40),
)
def test_matches_chinese_calendar(start, days):
    result = add_working_days(start, days, "210000")
    if result.date.year <= 2026:
        assert result.date == reference_deadline(start, days)
        assert working_days_between(start, result.date, "210000").days == days


def test_new_year_boundary_is_provisional_not_a_crash():
    result = add_working_days(dt.date(2026, 12, 24), 10, "220100")
    # 2026-12-25 Fri .. Monday–Friday fallback in 2027 (no schedule published yet)
    assert result.date == dt.date(2027, 1, 7)
    assert result.provisional
    assert result.provisional_years == (2027,)
    count = working_days_between(dt.date(2026, 12, 31), dt.date(2027, 1, 4))
    assert count.days == 2 and count.provisional


def test_loading_next_year_replaces_the_fallback():
    days = [
        ScheduleDay(dt.date(2027, 1, 1), False, "元旦"),
        ScheduleDay(dt.date(2027, 1, 4), False, "元旦"),
        ScheduleDay(dt.date(2027, 1, 9), True, "元旦调休上班"),
    ]
    load_calendar_year(2027, days, source="国务院办公厅通知", actor=SystemActor("test"))
    result = add_working_days(dt.date(2026, 12, 31), 3)
    assert not result.provisional
    # 2027-01-01 holiday, 01-04 holiday, so: 01-05, 01-06, 01-07
    assert result.date == dt.date(2027, 1, 7)
    assert is_working_day(dt.date(2027, 1, 9))
    # Loading again replaces, it does not add.
    load_calendar_year(2027, days[:1], source="更正", actor=SystemActor("test"))
    assert CalendarDay.objects.filter(date__year=2027).count() == 1
    assert CalendarYear.objects.get(year=2027, province=None).source == "更正"


def test_province_adjustment_overrides_national_only_inside_the_province():
    liaoning = Division.objects.get(code="210000")
    load_calendar_year(
        2026,
        [ScheduleDay(dt.date(2026, 3, 3), False, "地方调整")],
        source="辽宁省通知",
        actor=SystemActor("test"),
        province=liaoning,
    )
    assert not is_working_day(dt.date(2026, 3, 3), "210200")
    assert is_working_day(dt.date(2026, 3, 3), "220100")
    # The national schedule of 2026 still applies in Liaoning.
    assert is_working_day(dt.date(2026, 2, 14), "210200")


def test_bad_schedule_changes_nothing():
    before = CalendarDay.objects.count()
    with pytest.raises(RuleViolation) as info:
        load_calendar_year(
            2027,
            [
                ScheduleDay(dt.date(2027, 1, 5), True, "本是工作日"),
                ScheduleDay(dt.date(2028, 1, 3), False, "错年"),
                ScheduleDay(dt.date(2027, 1, 2), False, "周六"),
            ],
            source="x",
            actor=SystemActor("test"),
        )
    assert info.value.code == "calendar_invalid"
    assert len(info.value.problems) == 3
    assert CalendarDay.objects.count() == before
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_seeded_years():
    assert CalendarYear.objects.filter(province=None, year__range=(2004, 2026)).count() == 23


def test_load_calendar_command(tmp_path):
    from django.core.management import CommandError, call_command

    good = tmp_path / "2027.csv"
    good.write_text(
        "date,is_working_day,name\n2027-01-01,false,元旦\n2027-01-09,true,调休\n", encoding="utf-8"
    )
    call_command("load_calendar", str(good), "--year", "2027", "--source", "国办发明电")
    assert not add_working_days(dt.date(2027, 1, 1), 1).provisional
    bad = tmp_path / "bad.json"
    bad.write_text('[{"date": "2027-02-30", "is_working_day": false}]', encoding="utf-8")
    with pytest.raises(CommandError, match="第 1 行"):
        call_command("load_calendar", str(bad), "--year", "2027")
    assert CalendarDay.objects.filter(date__year=2027).count() == 2
