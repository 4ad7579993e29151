"""The supervision pages in a real browser: axe-core's WCAG 2.1 A/AA rules, the charts
drawn by the vendored ECharts under the node's CSP (no outside request, nothing blocked:
the `browser_page` fixture checks both), and the dashboard at 360 px."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.actors import SystemActor
from supervision import bulletins, facts, services
from supervision.models import Bulletin, LedgerTask
from tests.console.test_browser import axe_violations, unlabelled_controls
from tests.portal.test_browser import browser_page  # noqa: F401 - the Chromium page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def scene(transactional_db, province, monkeypatch) -> dict[str, Any]:
    p = province
    p.decided(p.item)
    p.decided(p.water_item, monkeypatch, dt.date(2026, 10, 12))
    p.accepted(p.shenyang_item)
    facts.refresh()
    services.route_warnings()
    services.load_plan(actor=SystemActor("test"))
    bulletin = bulletins.generate_bulletin(
        period=Bulletin.Period.MONTH, start=timezone.localdate(), actor=p.province_supervisor
    )
    client = Client()
    client.force_login(p.province_supervisor)
    return {
        "session": client.cookies["sessionid"].value,
        "task": LedgerTask.objects.get(kind="task", number=1).pk,
        "bulletin": bulletin.pk,
        "org": p.dalian.pk,
    }


def test_supervision_pages_have_no_axe_violations(live_server, scene, browser_page):  # noqa: F811
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": scene["session"], "url": live_server.url}]
    )
    pages = [
        ("统计分析", "/supervision/", True),
        ("机构视图", f"/supervision/?level=organisation&code={scene['org']}", True),
        ("大屏", "/supervision/screen/", True),
        ("办件清单", "/supervision/cases/?figure=late", False),
        ("预警督办", "/supervision/cards/", False),
        ("区域", "/supervision/region/", False),
        ("工作台账", "/supervision/ledger/", False),
        ("台账任务", f"/supervision/ledger/{scene['task']}/", False),
        ("通报", "/supervision/bulletins/", False),
        ("通报详情", f"/supervision/bulletins/{scene['bulletin']}/", False),
    ]
    failures: list[str] = []
    for name, path, charts in pages:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, f"{name} {path}"
        if charts:
            page.wait_for_selector("[data-chart] svg")
        violations = axe_violations(page)
        if violations:
            failures.append(f"{name} {path}: {json.dumps(violations, ensure_ascii=False)}")
        unlabelled = unlabelled_controls(page)
        if unlabelled:
            failures.append(f"{name} {path}: 没有 <label> 的表单控件 {unlabelled}")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(live_server.url + "/supervision/")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"360 px 宽度下页面横向溢出：{width}"
    assert not failures, "\n".join(failures)
