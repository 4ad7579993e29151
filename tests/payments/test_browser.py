"""Paying a fee in a real browser, on a 360 px phone: the case page's 网上缴费, the local
gateway's cashier, back on the case page in 待受理 — with axe-core's WCAG 2.1 A/AA rules on
both pages and no sideways scrolling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from cases import engine, services
from tests.case_pages import build_world
from tests.payments.helpers import fee_item
from tests.portal.test_browser import AXE, browser_page  # noqa: F401 - a shared fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def waiting_case() -> tuple[str, str]:
    """A case of an item charging 20 元, submitted and waiting for payment, and the
    applicant's session cookie."""
    world = build_world()
    case = services.start_case(
        item_version=fee_item(world),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    engine.take_action(case, "submit", actor=world.applicant.user)  # committed: held at once
    case.refresh_from_db()
    assert case.state == "awaiting_payment"
    client = Client()
    client.force_login(world.applicant.user)
    return case.number, client.cookies["sessionid"].value


def _problems(page: Any, width: int) -> list[Any]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[Any] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                resultTypes: ["violations"],
            });
            return r.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    overflow = page.evaluate("document.documentElement.scrollWidth")
    if overflow > width:
        found.append(f"页面宽 {overflow}px，需横向滚动")
    return found


def test_a_fee_is_paid_through_the_local_gateway_before_the_case_proceeds(
    live_server,
    waiting_case,
    browser_page,  # noqa: F811
):
    number, session = waiting_case
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 800})
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    failures: list[str] = []

    page.goto(f"{live_server.url}/my/cases/{number}/")
    assert "待缴费" in page.inner_text("main")
    failures += [f"case page: {json.dumps(p, ensure_ascii=False)}" for p in _problems(page, 360)]
    page.get_by_role("button", name="网上缴费").click()
    page.wait_for_url("**/payments/local/**")
    assert "确认支付 20.00 元" in page.inner_text("main")
    failures += [f"cashier: {json.dumps(p, ensure_ascii=False)}" for p in _problems(page, 360)]
    page.get_by_role("button", name="确认支付 20.00 元").click()
    page.wait_for_url(f"**/my/cases/{number}/")
    text = page.inner_text("main")
    assert "待受理" in text and "已缴费" in text and "网上缴费" not in text
    assert not failures, "\n".join(failures)


@pytest.fixture
def assessable_case() -> tuple[str, str]:
    """A submitted case of an item with two fees (the department assesses them), and the
    reviewer's session cookie."""
    world = build_world()
    version = fee_item(
        world,
        fees=[
            {"name": "证明驾驶证", "amount": "80", "basis": "公证服务收费标准"},
            {"name": "翻译费（按需）", "amount": "60", "basis": "公证服务收费标准"},
        ],
        name="机动车驾驶证公证（测试）",
    )
    case = services.start_case(
        item_version=version,
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    engine.take_action(case, "submit", actor=world.applicant.user)
    case.refresh_from_db()
    assert case.state == "submitted"
    client = Client()
    client.force_login(world.reviewer)
    return case.number, client.cookies["sessionid"].value


def test_the_reviewer_assesses_the_fee_on_the_console(
    live_server,
    assessable_case,
    browser_page,  # noqa: F811
):
    """核定收费 in a browser: the fee rows are grouped and labelled (axe-core clean), and
    assessing moves the case to 待缴费 with the amount."""
    number, session = assessable_case
    page = browser_page
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page.goto(f"{live_server.url}/console/cases/{number}/")
    failures = [json.dumps(p, ensure_ascii=False) for p in _problems(page, 1280)]
    form = page.locator("form", has=page.get_by_role("heading", name="核定收费"))
    form.get_by_label("证明驾驶证（80.00 元/项）").check()
    form.get_by_label("翻译费（按需）（60.00 元/项）").check()
    form.get_by_label("翻译费（按需） 数量").fill("2")
    form.get_by_role("button", name="核定收费").click()
    page.wait_for_url(f"**/console/cases/{number}/")
    text = page.inner_text("main")
    assert "待缴费" in text and "200.00" in text
    assert not failures, "\n".join(failures)
