"""The console inbox: scoped, most urgent first, warnings in words as well as colours,
filters, pages, and the same number of queries for 3 cases as for 15."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import engine, services
from cases import timeline as case_timeline
from cases.models import Case
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.calendar import add_working_days
from tests import builders
from tests.case_pages import World, quick_item, submitted
from tests.portal.html import assert_accessible_structure, text


def accepted_on(world: World, case: Case, day: dt.date, monkeypatch) -> Case:
    monkeypatch.setattr(case_timeline, "today", lambda: day)
    case = engine.take_action(case, "accept", actor=world.reviewer)
    monkeypatch.undo()
    return case


def acceptance_day_due_within(days: int) -> dt.date:
    """The latest past day on which a 10-working-day case accepted is due within `days`
    working days from today (yellow) but not yet overdue."""
    today = timezone.localdate()
    for back in range(1, 40):
        day = today - dt.timedelta(days=back)
        due = add_working_days(day, 10, "210200").date
        if due < today:
            break
        if add_working_days(today, days, "210200").date >= due:
            return day
    raise AssertionError("no acceptance day found")


@pytest.fixture
def urgent(world, monkeypatch):
    """Three cases of the police: overdue (red), near its deadline (yellow), waiting for
    acceptance; and one of another organisation."""
    version = quick_item(world)
    red = accepted_on(
        world, submitted(world, version), timezone.localdate() - dt.timedelta(60), monkeypatch
    )
    yellow = accepted_on(
        world, submitted(world, version), acceptance_day_due_within(3), monkeypatch
    )
    waiting = submitted(world, version)
    # A draft of another organisation's item: never in the police's inbox.
    other_item = builders.item("营业执照补领", org=world.shenyang)
    other = services.start_case(
        item_version=other_item,
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
        place=world.shenyang.division,
    )
    services.refresh_warnings()
    return {
        "red": red.number,
        "yellow": yellow.number,
        "waiting": waiting.number,
        "other": other.number,
    }


def test_inbox_is_sorted_by_deadline_with_warnings_in_words(client, world, urgent):
    client.force_login(world.reviewer)
    response = client.get("/console/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    html = response.content.decode()
    positions = [html.index(urgent[k]) for k in ("red", "yellow", "waiting")]
    assert positions == sorted(positions)
    assert urgent["other"] not in html
    page = text(response.content)
    assert "已超期" in page and "临近期限" in page
    assert "1 件已超期" in page and "1 件临近期限" in page and "3 件办理中" in page
    assert 'class="warning warning-red"' in html and 'class="warning warning-yellow"' in html
    # The applicant's name is masked for staff.
    assert "张**" in page and "张三丰" not in page


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("?warning=red", ["red"], ["yellow", "waiting"]),
        ("?warning=yellow", ["yellow"], ["red", "waiting"]),
        ("?state=submitted", ["waiting"], ["red", "yellow"]),
        ("?state=accepted&warning=red", ["red"], ["yellow", "waiting"]),
        ("?status=finished", [], ["red", "yellow", "waiting"]),
        ("?status=all", ["red", "yellow", "waiting"], []),
    ],
)
def test_inbox_filters(client, world, urgent, query, present, absent):
    client.force_login(world.reviewer)
    html = client.get("/console/" + query).content.decode()
    for key in present:
        assert urgent[key] in html, key
    for key in absent:
        assert urgent[key] not in html, key


def test_unknown_filter_values_are_named_and_ignored(client, world, urgent):
    client.force_login(world.reviewer)
    response = client.get("/console/?state=flying&warning=purple")
    assert response.status_code == 200
    page = text(response.content)
    assert "未知的状态“flying”" in page and "未知的预警级别“purple”" in page
    assert urgent["red"] in response.content.decode()


def test_the_inbox_is_paginated(client, world):
    version = quick_item(world)
    for _ in range(22):
        submitted(world, version)
    client.force_login(world.reviewer)
    first = client.get("/console/").content.decode()
    second = client.get("/console/?page=2").content.decode()
    assert "第 1 页，共 2 页" in text(first) and "共 22 件" in text(first)
    numbers = set(Case.objects.values_list("number", flat=True))
    on_first = {n for n in numbers if n in first}
    on_second = {n for n in numbers if n in second}
    assert len(on_first) == 20 and len(on_second) == 2 and not on_first & on_second


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/console/", "/console/?status=all&warning=none"])
def test_inbox_queries_do_not_grow_with_cases(client, world, url):
    version = quick_item(world)
    company_item = builders.item("企业证明", org=world.police, audience="both", publish=False)
    company_item.materials.update(necessity="optional")
    publish_item_version(company_item, actor=SystemActor("test"))
    company_item.refresh_from_db()
    client.force_login(world.reviewer)

    def add(n: int) -> None:
        for i in range(n):
            if i % 3 == 0:
                case = services.start_case(
                    item_version=company_item,
                    form_data={"reason": "x"},
                    company=world.company,
                    actor=world.agent,
                )
                engine.take_action(case, "submit", actor=world.agent)
            else:
                submitted(
                    world,
                    version,
                    person=builders.person(f"申请人{'甲乙丙丁戊己庚辛壬癸'[i % 10]}"),
                )

    add(3)
    client.get(url)  # warm the parsed-workflow cache
    small = count_queries(client, url)
    add(12)
    large = count_queries(client, url)
    assert small == large, f"{small} queries with 3 cases, {large} with 15"
    assert large <= 10, large


def test_totals_and_pages_count_each_case_once(client, world, urgent):
    """The inbox is counted and paged on the scope's union alone (decision 310): a case the
    police both received and handle is one case, and the warnings are counted on it."""
    from cases.selectors import ScopedCases, scope_totals

    assert scope_totals(world.reviewer) == {"open": 3, "red": 1, "yellow": 1}
    cases = ScopedCases(world.reviewer, Case.objects.all(), finished=False)
    assert cases.count() == 3
    assert [c.number for c in cases[0:3]] == [urgent["red"], urgent["yellow"], urgent["waiting"]]
    assert [c.number for c in cases[1:2]] == [urgent["yellow"]]
    assert cases[2].number == urgent["waiting"] and len(list(cases)) == len(cases) == 3
    with pytest.raises(IndexError):
        cases[3]
    # One pass gives the count and the tiles of the open cases (decision 315); a narrowed
    # view still shows the tiles of every open case.
    fresh = ScopedCases(world.reviewer, Case.objects.all(), finished=False)
    with CaptureQueriesContext(connection) as one:
        assert fresh.count() == 3
        assert fresh.open_totals() == {"open": 3, "red": 1, "yellow": 1}
    assert len(one.captured_queries) == 1
    narrowed = ScopedCases(world.reviewer, Case.objects.all(), finished=False, warning="red")
    assert narrowed.count() == 1 and [c.number for c in narrowed] == [urgent["red"]]
    assert narrowed.open_totals() == {"open": 3, "red": 1, "yellow": 1}
    client.force_login(world.reviewer)
    page = " ".join(text(client.get("/console/").content).split())
    assert "3 件办理中" in page and "1 件已超期" in page and "1 件临近期限" in page


def test_the_api_lists_the_same_cases_paged_on_the_union(client, world, urgent):
    """`GET /api/v1/cases` pages `ScopedCases` as the inbox does (decision 318): the same
    cases and order as `filter_cases`, counted once, in a constant number of queries."""
    from cases.selectors import filter_cases

    me = builders.bearer(world.reviewer)
    expected = [c.number for c in filter_cases(world.reviewer)]
    first = client.get("/api/v1/cases?page_size=2", **me).json()
    second = client.get("/api/v1/cases?page_size=2&page=2", **me).json()
    assert first["count"] == second["count"] == len(expected) >= 3
    assert [r["number"] for r in first["items"] + second["items"]] == expected[:4]
    assert first["items"][0]["item_code"] and first["items"][0]["state_label"]
    red = client.get("/api/v1/cases?warning=red", **me).json()
    assert [r["number"] for r in red["items"]] == [urgent["red"]] and red["count"] == 1
    wrong = client.get("/api/v1/cases?warning=purple", **me)
    assert wrong.status_code == 422 and wrong.json()["code"] == "unknown_warning"
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/cases?page_size=1", **me)
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/cases?page_size=20", **me)
    assert len(many.captured_queries) == len(few.captured_queries)
