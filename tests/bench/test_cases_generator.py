"""The case generator at a small size (2,000 cases), on PostgreSQL (it is set-based SQL):
the cases it makes have the shape of real ones — states, modes, scopes, years, timelines —
the platform's own pages and selectors read them, and the inbox and the case page cost the
same number of queries whatever the volume."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from bench import cases as generator
from bench.catalog import generate_items
from cases.engine import current_definition
from cases.models import Case, CaseEvent
from cases.selectors import filter_cases, get_case_for

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the case generator is PostgreSQL SQL"
)

TODAY = dt.date(2026, 12, 5)


@pytest.fixture
def generated():
    for mode in ("online", "proxy", "joint"):
        current_definition(mode)
    generate_items(40)
    result = generator.generate_cases(2000, citizens=30, today=TODAY)
    return result


def test_two_thousand_cases_across_states_modes_scopes_and_years(generated):
    assert (generated.created, generated.total) == (2000, 2000)
    cases = Case.objects.filter(number__startswith=generator.NUMBER_PREFIX)
    assert cases.count() == 2000
    by = {
        name: dict(cases.values_list(name).annotate(n=Count("id")))
        for name in ("state", "mode", "scope", "channel", "warning")
    }
    assert {"closed", "not_accepted", "withdrawn", "submitted", "under_review"} <= set(by["state"])
    assert set(by["mode"]) == {"online", "proxy", "joint", "window"}
    assert {"in_province", "regional", "cross_province", "local", ""} <= set(by["scope"])
    years = {c.year for c in cases.values_list("created_at", flat=True)}
    assert years == set(generator.YEARS)
    assert max(cases.values_list("created_at", flat=True)).date() < TODAY
    # Most cases are history; the open ones are young, have deadlines and warnings.
    open_cases = cases.filter(closed_at__isnull=True)
    assert 0 < open_cases.count() < 400
    assert not open_cases.filter(state__in=["closed", "not_accepted", "withdrawn"]).exists()
    assert not cases.filter(closed_at__isnull=False, outcome="").exists()
    assert open_cases.filter(warning="red").exists()
    assert all(
        (TODAY - c.date()).days < generator.OPEN_DAYS
        for c in open_cases.values_list("created_at", flat=True)
    )
    # Organisations and items come from the generated catalog, applicants are citizens.
    assert cases.values("handling_org").distinct().count() == 40
    assert not cases.filter(applicant_person__isnull=True).exists()


def test_each_case_has_its_timeline(generated):
    cases = Case.objects.filter(number__startswith=generator.NUMBER_PREFIX)
    events = CaseEvent.objects.filter(case__in=cases)
    per_case = dict(events.values_list("case").annotate(n=Count("id")))
    assert set(per_case) == set(cases.values_list("pk", flat=True))
    for case in cases.filter(closed_at__isnull=True)[:50]:
        timeline = list(case.events.order_by("at", "id"))
        assert timeline[0].action == "submit" and timeline[-1].to_state == case.state
        assert [e.from_state for e in timeline[1:]] == [e.to_state for e in timeline[:-1]]
    refused = cases.filter(state="not_accepted").first()
    assert [e.action for e in refused.events.order_by("at", "id")] == [
        "submit",
        "refuse_acceptance",
    ]
    old_closed = cases.filter(state="closed", created_at__year=2022).first()
    assert [e.action for e in old_closed.events.order_by("at", "id")] == ["submit", "close"]


def test_made_once_and_extended(generated):
    assert generator.generate_cases(2000, citizens=30, today=TODAY).created == 0
    extended = generator.generate_cases(2300, citizens=30, today=TODAY)
    assert (extended.created, extended.total) == (300, 2300)
    assert generator.generated_cases() == 2300
    assert generator.recorded()[:2] == (generator.GENERATOR_VERSION, 2300)


def test_the_clerk_sees_exactly_the_cases_of_the_organisation(generated):
    clerk = generator.ensure_clerk()
    org = generator.busiest_organisation_id()
    mine = Case.objects.filter(Q(handling_org_id=org) | Q(receiving_org_id=org))
    assert set(Case.objects.for_user(clerk).values_list("pk", flat=True)) == set(
        mine.values_list("pk", flat=True)
    )
    open_ids = set(filter_cases(clerk, finished=False).values_list("pk", flat=True))
    assert open_ids == set(mine.filter(closed_at__isnull=True).values_list("pk", flat=True))
    # Narrowing inside the scope is the same as narrowing after it.
    within = Q(state="closed")
    assert set(Case.objects.for_user(clerk, within).values_list("pk", flat=True)) == set(
        Case.objects.for_user(clerk).filter(within).values_list("pk", flat=True)
    )
    number = generator.sample_numbers(org, 3)[1]
    assert get_case_for(clerk, number).number == number
    other = Case.objects.exclude(handling_org_id=org).exclude(receiving_org_id=org).first()
    assert not Case.objects.for_user(clerk, Q(number=other.number)).exists()


def test_inbox_and_case_page_queries_do_not_grow_with_the_cases(generated, client, settings):
    clerk = generator.ensure_clerk()
    org = generator.busiest_organisation_id()
    client.force_login(clerk)

    def queries(url):
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    inbox_small = queries("/console/")
    long_case = (
        Case.objects.filter(handling_org_id=org, number__startswith=generator.NUMBER_PREFIX)
        .annotate(n=Count("events"))
        .order_by("-n")
        .first()
    )
    short_case = (
        Case.objects.filter(handling_org_id=org, number__startswith=generator.NUMBER_PREFIX)
        .annotate(n=Count("events"))
        .order_by("n")
        .first()
    )
    assert long_case.n > short_case.n
    page_long = queries(f"/console/cases/{long_case.number}/")
    page_short = queries(f"/console/cases/{short_case.number}/")
    generator.generate_cases(4000, citizens=30, today=TODAY)
    assert queries("/console/") == inbox_small
    assert page_long == page_short == queries(f"/console/cases/{long_case.number}/")
