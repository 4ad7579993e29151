"""The set-based rebuild (supervision/sql.py) says exactly what the incremental path says:
the same facts, case by case, and the same rollups — on cases made through the services
(SQLite and PostgreSQL) and on the bench's generated cases (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection

from cases import services
from cases.models import Case
from cases.selectors import licence_coverage
from core.models import Organisation
from supervision import facts, figures, selectors
from supervision.models import (
    CaseFact,
    DivisionMonth,
    HandlingDays,
    ItemMonth,
    ItemTotal,
    OrgMonth,
    OrgTotal,
)

ROLLUPS = [OrgMonth, ItemMonth, HandlingDays, ItemTotal, OrgTotal, DivisionMonth]


def _snapshot() -> dict[str, Any]:
    """Every fact and rollup row, without the surrogate ids, in a stable order."""
    out: dict[str, Any] = {
        "facts": sorted(
            (tuple(sorted(r.items())) for r in CaseFact.objects.values()),
            key=lambda r: dict(r)["case_id"],
        )
    }
    for model in ROLLUPS:
        rows = [
            tuple(sorted((k, v) for k, v in r.items() if k != "id")) for r in model.objects.values()
        ]
        out[model.__name__] = sorted(rows, key=repr)
    return out


def _incremental_then_rebuilt() -> tuple[dict[str, Any], dict[str, Any]]:
    ids = list(Case.objects.values_list("pk", flat=True))
    pairs = facts.update_facts(ids)  # the Python facts of the incremental path
    facts.rollup(pairs)
    incremental = _snapshot()
    assert facts.rebuild(chunk=7) == len(incremental["facts"])  # several id ranges
    return incremental, _snapshot()


def test_rebuild_equals_the_incremental_path(province, monkeypatch):
    p = province
    long_ago = dt.date(2026, 10, 12)
    p.decided(p.item)
    p.decided(p.item, monkeypatch, long_ago)  # late
    p.decided(p.water_item, approve=False)
    p.decided(p.water_item, monkeypatch, dt.date(2026, 11, 2))
    p.accepted(p.water_item, monkeypatch, long_ago)  # red after the scan
    p.accepted(p.shenyang_item)
    p.not_accepted(p.shenyang_item)
    p.submitted(p.item)
    services.refresh_warnings()
    incremental, rebuilt = _incremental_then_rebuilt()
    assert len(incremental["facts"]) == 8
    assert sum(1 for r in incremental["facts"] if dict(r)["late"]) == 2
    assert {dict(r)["handling_days"] for r in incremental["facts"]} - {None, 0}  # some took days
    assert rebuilt == incremental


def test_totals_answer_like_the_months(province):
    p = province
    for version in (p.item, p.item, p.water_item, p.shenyang_item):
        p.submitted(version)
    facts.refresh()
    assert ItemTotal.objects.count() == 3
    scope = selectors.scope_for(p.province_supervisor)
    all_time = figures.breakdown(scope, "item")
    this_month = dt.date.today().replace(day=1)
    by_months = figures.breakdown(scope.narrowed(since=this_month, until=this_month), "item")
    assert all_time == by_months
    assert [r["received"] for r in all_time] == [2, 1, 1]
    # The organisation totals answer the period-less summary and breakdowns the same way.
    assert OrgTotal.objects.count() == 3
    period = scope.narrowed(since=this_month, until=this_month)
    assert figures.summary(scope) == figures.summary(period)
    for by in ("organisation", "division", "scope", "mode", "month"):
        assert figures.breakdown(scope, by) == figures.breakdown(period, by), by
    # The month trend of a division's view from the division months, equal to the
    # organisation months of a view of organisations.
    assert DivisionMonth.objects.count() == 2  # 大连, 沈阳
    orgs = scope.narrowed(organisations=(p.dalian.pk, p.dalian_water.pk, p.shenyang.pk))
    assert figures.breakdown(scope, "month") == figures.breakdown(orgs, "month")
    assert figures.breakdown(scope, "month")[0]["received"] == 4
    # A refresh keeps the totals of the organisations it touched.
    p.submitted(p.water_item)
    facts.refresh()
    assert ItemTotal.objects.get(item_id=p.water_item.item_id).received == 2


def test_licence_library_rate_from_the_rollups_equals_the_coverage(province):
    p = province
    p.decided(p.item)
    p.decided(p.water_item)
    p.decided(p.shenyang_item, approve=False)
    facts.refresh()
    scope = selectors.scope_for(p.province_supervisor)
    got = figures.licence_figures(scope)
    rows = licence_coverage(Organisation.objects.all())
    assert got["approved_licence_cases"] == sum(r.approved for r in rows)
    assert got["in_library"] == sum(r.with_licence for r in rows)
    assert got["approved_licence_cases"] == CaseFact.objects.filter(licence_cases=True).count()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the case generator is PostgreSQL SQL"
)
def test_rebuild_equals_the_incremental_path_on_generated_cases():
    from bench import cases as generator
    from bench.catalog import generate_items
    from cases.engine import current_definition

    for mode in ("online", "proxy", "joint"):
        current_definition(mode)
    generate_items(40)
    generator.generate_cases(1500, citizens=30, today=dt.date(2026, 12, 5))
    incremental, rebuilt = _incremental_then_rebuilt()
    assert len(incremental["facts"]) > 1000
    flags = {k for r in incremental["facts"] for k, v in r if v is True}
    assert {"accepted", "decided", "on_time", "finished", "approved"} <= flags
    assert rebuilt == incremental


def test_the_bench_builds_the_facts_once_per_data_set(province, capsys, client, settings):
    from bench import dashboard

    settings.NODE_DIVISION = "210000"
    p = province
    p.submitted(p.item)

    def run() -> dict[str, Any]:
        assert dashboard.main(["--rounds", "1"]) == 0
        return json.loads(capsys.readouterr().out)

    first = run()
    assert first["rebuilt"] is True and first["cases"] == first["facts"] == 1
    assert run()["rebuilt"] is False  # recorded: the same cases are not built again
    p.submitted(p.water_item)
    again = run()
    assert again["rebuilt"] is True and again["facts"] == 2
    # The page the HTTP scenario asks, signed in as the bench's province supervisor.
    name, value = dashboard.supervisor_cookie().split("=", 1)
    client.cookies[name] = value
    page = client.get("/supervision/")
    assert page.status_code == 200 and "辽宁" in page.content.decode()
