"""The hall pages in a real browser: axe-core's WCAG 2.1 A/AA rules, and readable on a
390 px phone without the page scrolling sideways (tables scroll inside their region)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests import builders
from tests.portal.test_browser import AXE, browser_page  # noqa: F401 - a shared fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def hall_scene():
    centre = builders.organisation("大连市政务服务中心")
    shenyang = builders.organisation("沈阳市公安局", "210100")
    listed = builders.item("开具户籍类证明", org=shenyang, scopes=(("in_province", "proxy"),))
    lst = builders.item_list("in-province", "in_province", name="辽宁省省内通办事项清单")
    builders.list_version(lst, [listed], modes=("proxy",), effective_from=dt.date(2024, 1, 1))
    own = builders.item("个体工商户设立登记", org=centre, scopes=())
    hall = builders.hall(centre, code="dl-centre")
    builders.window(centre, lists=(lst,), number="2", name="省内通办专窗", at=hall)
    builders.window(centre, items=(own,), number="3", name="企业开办专窗", at=hall)
    return hall


def test_hall_pages_have_no_axe_violations_and_fit_a_phone(
    live_server,
    hall_scene,
    browser_page,  # noqa: F811
):
    page = browser_page
    axe = AXE.read_text(encoding="utf-8")
    failures: list[str] = []
    for path in ("/halls/", "/halls/dl-centre/"):
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 844})
            page.goto(live_server.url + path)
            page.evaluate(axe)  # DevTools evaluation: the page's CSP allows no inline script
            result = page.evaluate(
                """async () => {
                    const r = await axe.run(document, {
                        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                        resultTypes: ["violations"],
                    });
                    return r.violations.map(v => ({id: v.id, nodes: v.nodes.length}));
                }"""
            )
            if result:
                failures.append(f"{path} @{width}: {json.dumps(result, ensure_ascii=False)}")
            overflow = page.evaluate("document.documentElement.scrollWidth")
            if overflow > width:
                failures.append(f"{path} @{width}: 页面宽 {overflow}px，需横向滚动")
    assert not failures, "\n".join(failures)
