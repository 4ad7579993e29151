"""The regional view: the four members' aggregates through `supervision.figures`, counts
only — no case number, no applicant crosses a node."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError

from federation import services
from federation.services import FederationUnavailable
from supervision import facts, region
from supervision.models import RegionalFigures, RegionalMonth
from tests.federation.conftest import federation  # noqa: F401 - the signed test directory
from tests.federation.support import ForeignNode
from tests.portal.html import text

MEMBERS = {"jilin": "220000", "heilongjiang": "230000", "neimenggu": "150000"}


@pytest.fixture
def region_members(province, federation) -> None:  # noqa: F811
    """Liaoning and the three other members in the signed directory."""
    entries = [federation.local_entry() | {"division": "210000"}]
    entries += [ForeignNode(node).entry() | {"division": code} for node, code in MEMBERS.items()]
    federation.publish(entries, serial=2)


def _answers(monkeypatch, given: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    asked = []

    def ask(receiver: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        asked.append((receiver, kind, payload))
        if receiver not in given:
            raise FederationUnavailable(f"{receiver}: Connection refused")
        return copy.deepcopy(given[receiver])

    monkeypatch.setattr(services, "ask", ask)
    return asked


def test_the_answer_is_aggregates_only(province):
    p = province
    case = p.decided(p.item)
    facts.refresh()
    answer = region.answer_figures(None, region.FiguresQuestion())  # type: ignore[arg-type]
    assert answer["summary"]["received"] == 1 and answer["summary"]["decided"] == 1
    assert [r["key"] for r in answer["by_division"]] == ["210200"]
    body = json.dumps(answer, ensure_ascii=False, default=str)
    for personal in (case.number, p.applicant.name, p.applicant.user.username, "form_data"):
        assert personal not in body
    with pytest.raises(ValidationError):
        region.FiguresQuestion.model_validate({"cases": True})


def test_regional_view_shows_four_nodes(client, province, region_members, monkeypatch):
    p = province
    p.decided(p.item)
    p.submitted(p.shenyang_item)
    facts.refresh()
    own = region.node_figures()
    answers = {}
    for n, node in enumerate(MEMBERS, start=1):
        answer = copy.deepcopy(own) | {"node": node}
        answer["summary"] = {
            **own["summary"],
            "received": 10 * n,
            "decided": 5 * n,
            "on_time": 5 * n,
        }
        # Its months: 2026-10 and 2026-11, and one malformed entry that is not kept.
        answer["by_month"] = [
            {"key": "2026-10", "received": 4 * n, "decided": 2 * n, "on_time": 2 * n},
            {"key": "2026-11", "received": 6 * n, "decided": 3 * n, "on_time": 3 * n, "red": n},
            {"key": "not-a-month", "received": 1000},
            {"key": "2026-12", "received": "many", "applicant": "某人"},
        ]
        answers[node] = answer
    # A member that sends more than aggregates: the extra is not kept.
    answers["neimenggu"]["cases"] = [{"number": "X-1", "applicant": "某人"}]
    asked = _answers(monkeypatch, answers)
    rows = region.sync_region()
    assert sorted(r.node for r in rows) == ["heilongjiang", "jilin", "liaoning", "neimenggu"]
    assert {kind for _, kind, _ in asked} == {"supervision.figures"}
    assert "liaoning" not in {receiver for receiver, _, _ in asked}  # this node answers itself
    assert "cases" not in RegionalFigures.objects.get(node="neimenggu").figures
    client.force_login(p.province_supervisor)
    page = text(client.get("/supervision/region/").content)
    for name in ("辽宁省", "吉林省", "黑龙江省", "内蒙古自治区", "区域合计"):
        assert name in page
    total = region.regional_rows()[-1]
    assert total["received"] == 2 + 10 + 20 + 30 and total["decided"] == 1 + 5 + 10 + 15
    # A period: the members' monthly rows of those months only.
    november = region.regional_rows(dt.date(2026, 11, 1), dt.date(2026, 11, 1))
    assert [r["received"] for r in november] == [18, 0, 6, 12, 36]  # 内蒙古, 辽宁, 吉林, 黑龙江
    assert november[-1]["red"] == 1 + 2 + 3
    assert RegionalMonth.objects.filter(node="jilin").count() == 3  # 10, 11 and 12 (0 cases)
    page = text(client.get("/supervision/region/?since=2026-10&until=2026-10").content)
    assert "收件月份 2026-10 至 2026-10" in page
    refused = client.get("/supervision/region/?since=2026-11&until=2026-10")
    assert refused.status_code == 422 and "起始月份不能晚于截止月份" in text(refused.content)
    assert client.get("/supervision/region/?since=2026-13").status_code == 422
    # One member down: it keeps its last answer and says so.
    del answers["jilin"]
    client.post("/supervision/region/")
    jilin = RegionalFigures.objects.get(node="jilin")
    assert jilin.last_error.startswith("无法获取") and jilin.figures["summary"]["received"] == 10
    client.force_login(p.admin)
    assert client.get("/supervision/region/").status_code == 403
