"""The figures equal counts made independently from the cases, and follow their changes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from cases import services
from cases.models import Case, CaseEvent
from core.models import Organisation
from supervision import facts, figures, selectors
from supervision.models import CaseFact, DirtyCase, OrgMonth


def _independent(cases, today):
    """What the dashboard must say, counted from the cases and their events alone."""
    received = cases.filter(submitted_at__isnull=False)
    decided = []
    for case in received:
        decision = (
            CaseEvent.objects.filter(case=case, action__in=["approve", "deny", "terminate"])
            .order_by("at")
            .first()
        )
        if decision and case.started_on:
            decided.append((case, decision.at.date()))
    return {
        "received": received.count(),
        "accepted": received.filter(started_on__isnull=False).count(),
        "not_accepted": received.filter(outcome="not_accepted").count(),
        "decided": len(decided),
        "late": sum(1 for c, on in decided if on > c.due_date),
        "on_time": sum(1 for c, on in decided if on <= c.due_date),
        "red": received.filter(warning="red").count(),
    }


def test_figures_equal_independent_counts(province, monkeypatch):
    p = province
    long_ago = dt.date(2026, 10, 12)  # a Monday: accepted then, due long before today
    p.decided(p.item)  # on time
    p.decided(p.item, monkeypatch, long_ago)  # decided late
    p.decided(p.water_item, approve=False)  # denied on time
    p.accepted(p.water_item, monkeypatch, long_ago)  # open, past due: red after the scan
    p.accepted(p.shenyang_item)
    p.not_accepted(p.shenyang_item)
    p.submitted(p.item)
    services.refresh_warnings()
    assert DirtyCase.objects.count() == 7
    assert facts.refresh() == 7
    assert not DirtyCase.objects.exists()

    scope = selectors.scope_for(p.province_supervisor)
    got = figures.summary(scope)
    want = _independent(Case.objects.all(), dt.date.today())
    for key, value in want.items():
        assert got[key] == value, key
    assert got["received"] == 7 and got["late"] == 1 and got["red"] == 1
    assert got["overdue"] == 2
    assert got["on_time_rate"] == round(100 * 2 / 3, 1)

    by_org = {r["label"]: r for r in figures.breakdown(scope, "organisation")}
    for org in (p.dalian, p.dalian_water, p.shenyang):
        cases = Case.objects.filter(handling_org=org)
        assert by_org[org.name]["received"] == cases.count()
        assert by_org[org.name]["decided"] == _independent(cases, None)["decided"]
    by_city = {r["key"]: r["received"] for r in figures.breakdown(scope, "division")}
    assert by_city == {"210100": 2, "210200": 5}
    by_item = {r["key"]: r["received"] for r in figures.breakdown(scope, "item")}
    assert by_item[p.item.item_id] == 3
    by_scope = figures.breakdown(scope, "scope")
    assert sum(r["received"] for r in by_scope) == 7
    assert {r["key"] for r in by_scope} == set(Case.objects.values_list("scope", flat=True))


def test_handling_time_against_limit(province, monkeypatch):
    p = province
    p.decided(p.item, monkeypatch, dt.date(2026, 11, 2))
    p.decided(p.item)
    facts.refresh()
    scope = selectors.scope_for(p.province_supervisor, level="item", code=str(p.item.item_id))
    got = figures.summary(scope)
    days = sorted(CaseFact.objects.values_list("handling_days", flat=True))
    assert days[0] == 0 and days[1] > 20  # November 2 to today is more than 20 working days
    assert got["mean_days"] == round(sum(days) / 2, 1)
    assert got["mean_limit"] == 10 and got["mean_legal"] == 20
    assert got["percentiles"][50] == 0 and got["percentiles"][95] == days[1]
    province_scope = selectors.scope_for(p.province_supervisor)
    assert figures.percentiles(province_scope)[95] == days[1]


def test_rollup_follows_changes(province):
    p = province
    case = p.submitted(p.item)
    facts.refresh()
    row = OrgMonth.objects.get(organisation=p.dalian)
    assert (row.received, row.accepted) == (1, 0)
    from cases import engine

    engine.take_action(case, "accept", actor=p.staff[p.dalian.pk]["reviewer"])
    assert OrgMonth.objects.get(organisation=p.dalian).accepted == 0  # not yet refreshed
    facts.refresh()
    assert OrgMonth.objects.get(organisation=p.dalian).accepted == 1
    # A rebuild from scratch says the same as the incremental refresh.
    before = list(OrgMonth.objects.values())
    assert facts.rebuild() == 1
    assert [dict(r, id=0) for r in OrgMonth.objects.values()] == [dict(r, id=0) for r in before]


def test_scopes_never_reach_beyond_the_viewer(province):
    p = province
    p.submitted(p.item)
    p.submitted(p.shenyang_item)
    facts.refresh()
    city = selectors.scope_for(p.city_supervisor)
    assert city.prefix == "2102" and figures.summary(city)["received"] == 1
    admin = selectors.scope_for(p.admin)
    assert admin.organisations == (p.dalian_water.pk,)
    assert figures.summary(admin)["received"] == 0
    import pytest

    from core.exceptions import NotFound, RuleViolation

    with pytest.raises(NotFound):
        selectors.scope_for(p.city_supervisor, level="city", code="210100")
    with pytest.raises(NotFound):
        selectors.scope_for(p.admin, level="organisation", code=str(p.dalian.pk))
    with pytest.raises(RuleViolation) as refused:
        selectors.scope_for(p.staff[p.dalian.pk]["reviewer"])
    assert refused.value.code == "dashboard_forbidden"
    # The cases behind a figure are the viewer's cases only.
    behind = selectors.cases_behind(p.city_supervisor, city, "received")
    assert [c.handling_org_id for c in behind] == [p.dalian.pk]
    assert Organisation.objects.filter(Q(pk=p.dalian.pk)).exists()


def test_commitments_and_licence_materials_counted(province):
    p = province
    from supervision.facts import facts_of

    case = p.submitted(p.item)
    got, missing = facts_of([case.pk, 999999])
    assert missing == {999999}
    assert got[0].deficiency_used is False and got[0].licence_materials == 0


def test_rebuild_command(province):
    from io import StringIO

    from django.core.management import call_command

    province.submitted(province.item)
    out = StringIO()
    call_command("rebuild_figures", stdout=out)
    assert "统计重建：1 件" in out.getvalue()
    call_command("rebuild_figures", "--refresh", stdout=out)
    assert "统计刷新：0 件" in out.getvalue()


def test_sharing_figure_is_registered_and_read_in_scope(province):
    scope = selectors.scope_for(province.province_supervisor)
    assert figures.sharing_figures(scope) == {"total": 0, "answered": 0, "in_time": 0, "rate": None}
