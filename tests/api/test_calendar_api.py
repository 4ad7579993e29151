"""/api/v1/calendar/*, checked against an independent count with chinese_calendar."""

import datetime as dt

import chinese_calendar
import pytest

from core.actors import SystemActor
from core.models import Division
from core.services import ScheduleDay, load_calendar_year
from tests.api.helpers import assert_problem, get_json
from tests.reference_calendar import reference_count, reference_deadline


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (dt.date(2026, 2, 13), 1),  # 2026-02-14 is a working Saturday (调休)
        (dt.date(2026, 2, 12), 3),  # across 02-14 and into the Spring Festival
        (dt.date(2026, 2, 13), 10),  # across the whole Spring Festival
        (dt.date(2026, 2, 27), 1),  # 2026-02-28 is a working Saturday
        (dt.date(2026, 9, 25), 10),  # 09-20 … National Day … 10-10
        (dt.date(2026, 9, 30), 1),  # National Day week
        (dt.date(2026, 10, 9), 1),  # 2026-10-10 is a working Saturday
        (dt.date(2026, 3, 2), 0),  # 即办件: the day itself
        (dt.date(2025, 12, 30), 5),  # New Year 2026, both years published
        (dt.date(2025, 1, 1), 400),  # more than a year of holidays
    ],
)
def test_deadline_matches_chinese_calendar(client, start, days):
    body = get_json(client, f"/api/v1/calendar/deadline?division=210200&start={start}&days={days}")
    assert body["deadline"] == reference_deadline(start, days).isoformat()
    assert body["division"] == {"code": "210200", "name": "大连市"}
    assert body["start"] == start.isoformat()
    assert body["days"] == days
    assert body["provisional"] is False
    assert body["provisional_years"] == []


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (dt.date(2026, 12, 24), 10),  # into 2027: Monday–Friday until it is published
        (dt.date(2026, 12, 31), 1),
        (dt.date(2026, 6, 1), 300),
    ],
)
def test_deadline_into_unpublished_year_is_provisional(client, start, days):
    body = get_json(client, f"/api/v1/calendar/deadline?division=220100&start={start}&days={days}")
    assert body["deadline"] == reference_deadline(start, days).isoformat()
    assert body["deadline"].startswith("2027-")
    assert body["provisional"] is True
    assert body["provisional_years"] == [2027]


def test_deadline_without_division_uses_national_calendar(client):
    body = get_json(client, "/api/v1/calendar/deadline?start=2026-02-13&days=1")
    assert body["division"] is None
    assert body["deadline"] == "2026-02-14"


def test_local_day_of_a_province_changes_its_deadlines_only(client):
    liaoning = Division.objects.get(code="210000")
    local = ScheduleDay(dt.date(2026, 3, 3), is_working_day=False, name="地方节日")
    load_calendar_year(
        2026, [local], source="辽宁省人民政府通知", actor=SystemActor("test"), province=liaoning
    )

    url = "/api/v1/calendar/deadline?start=2026-03-02&days=1&division="
    assert get_json(client, url + "210200")["deadline"] == "2026-03-04"
    assert get_json(client, url + "220100")["deadline"] == "2026-03-03"

    days = get_json(client, "/api/v1/calendar/days?year=2026&division=210200")["days"]
    local_day = {"date": "2026-03-03", "is_working_day": False, "name": "地方节日", "local": True}
    assert local_day in days
    national = get_json(client, "/api/v1/calendar/days?year=2026")["days"]
    assert "2026-03-03" not in {d["date"] for d in national}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2026, 2, 1), dt.date(2026, 3, 1)),  # Spring Festival month
        (dt.date(2026, 9, 18), dt.date(2026, 10, 12)),  # National Day with two 调休 days
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_working_days_between_matches_chinese_calendar(client, start, end):
    body = get_json(
        client, f"/api/v1/calendar/working-days?division=210100&start={start}&end={end}"
    )
    assert body["working_days"] == reference_count(start, end)
    assert body["provisional"] is False
    backwards = get_json(client, f"/api/v1/calendar/working-days?start={end}&end={start}")
    assert backwards["working_days"] == -reference_count(start, end)


def test_working_days_into_2027_is_provisional(client):
    body = get_json(client, "/api/v1/calendar/working-days?start=2026-12-01&end=2027-01-31")
    assert body["working_days"] == reference_count(dt.date(2026, 12, 1), dt.date(2027, 1, 31))
    assert body["provisional"] is True
    assert body["provisional_years"] == [2027]


def test_days_of_a_year(client):
    body = get_json(client, "/api/v1/calendar/days?division=210200&year=2026")
    assert body["year"] == 2026
    assert body["provisional"] is False
    days = {d["date"]: d for d in body["days"]}
    for saturday in ("2026-02-14", "2026-02-28", "2026-10-10"):
        assert days[saturday]["is_working_day"] is True
        assert days[saturday]["name"].endswith("调休上班")
    assert days["2026-02-17"] == {
        "date": "2026-02-17",
        "is_working_day": False,
        "name": "春节",
        "local": False,
    }
    assert days["2026-10-01"]["name"] == "国庆节"
    # Exactly the days chinese_calendar says break the Monday–Friday rule.
    expected = {
        day.isoformat()
        for n in range(365)
        if (day := dt.date(2026, 1, 1) + dt.timedelta(days=n))
        and chinese_calendar.is_workday(day) != (day.weekday() < 5)
    }
    assert set(days) == expected

    future = get_json(client, "/api/v1/calendar/days?year=2027")
    assert future == {"division": None, "year": 2027, "provisional": True, "days": []}


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-02-30&days=1",  # no such date
        "start=yesterday&days=1",
        "start=2026-02-13&days=-1",
        "start=2026-02-13&days=3651",
        "start=2026-02-13&days=many",
        "days=1",  # start missing
        "start=2026-02-13",  # days missing
        "start=9999-12-01&days=3650",  # outside the calendar's range
    ],
)
def test_deadline_rejects_bad_parameters(client, query):
    body = assert_problem(client, f"/api/v1/calendar/deadline?{query}", 422, "request_invalid")
    assert body["errors"]


def test_deadline_accepts_the_largest_span(client):
    body = get_json(client, "/api/v1/calendar/deadline?start=2026-01-01&days=3650")
    assert body["provisional"] is True


def test_calendar_rejects_unknown_division(client):
    for url in (
        "/api/v1/calendar/deadline?division=999999&start=2026-02-13&days=1",
        "/api/v1/calendar/working-days?division=abc&start=2026-02-13&end=2026-03-01",
        "/api/v1/calendar/days?division=219900&year=2026",
    ):
        body = assert_problem(client, url, 422, "unknown_division")
        assert body["errors"] == [
            {"field": "division", "reason": body["detail"], "code": "unknown_division"}
        ]


def test_working_days_and_days_reject_bad_ranges(client):
    too_long = "/api/v1/calendar/working-days?start=2000-01-01&end=2026-01-01"
    body = assert_problem(client, too_long, 422, "request_invalid")
    assert body["errors"][0]["field"] == "end"
    assert_problem(client, "/api/v1/calendar/working-days?start=2026-01-01", 422, "request_invalid")
    assert_problem(client, "/api/v1/calendar/days?year=10000", 422, "request_invalid")
