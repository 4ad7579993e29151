"""The 一件事 pages in Chromium at 360 px: axe-core's WCAG 2.1 A/AA rules, no sideways
scrolling, and the merged form filled and saved by keyboard."""

from __future__ import annotations

from typing import Any

import pytest

from cases import bundles
from tests.cases.test_bundles import decide, make_world, submitted
from tests.portal.test_browser import _axe, browser_page  # noqa: F401 - a fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def scene() -> dict[str, Any]:
    world = make_world()
    applicant = world["applicant"]
    draft = bundles.start_bundle_case(
        bundle_version=world["version"],
        form_data={"baby_name": "刘小宝", "birth_date": "2024-05-01", "reason": "x", "card": "是"},
        actor=applicant.user,
    )
    # A second one whose first step was refused: the page shows what it blocks.
    failed = submitted(world)
    decide(world, failed.sub_cases.order_by("order").first(), "deny")
    failed.refresh_from_db()
    assert failed.status == "failed"
    return {"username": applicant.user.username, "number": draft.number, "failed": failed.number}


def test_bundle_pages_at_360_px(live_server, scene, browser_page):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(live_server.url + "/login/")
    page.get_by_label("账号").fill(scene["username"])
    page.get_by_label("密码").fill("pw-123456")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    failures = []
    for path in (
        "/bundles/",
        "/bundles/newborn/",
        "/bundles/newborn/apply/",
        "/my/bundles/",
        f"/my/bundles/{scene['number']}/",
        f"/my/bundles/{scene['failed']}/",
    ):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1, path
        failures += [f"{path}: {v['id']} {v['nodes']}" for v in _axe(page)]
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} 横向溢出：{width}px"
    assert not failures, failures
    page.goto(live_server.url + f"/my/bundles/{scene['failed']}/")
    assert "未通过" in page.locator("main").inner_text()

    page.goto(live_server.url + "/bundles/newborn/apply/")
    page.get_by_label("新生儿姓名").focus()
    page.keyboard.type("刘小宝")
    page.get_by_label("出生日期").fill("2024-05-01")
    page.get_by_label("申领原因").fill("新生儿")
    page.get_by_label("是否申领社保卡").select_option("否")
    page.get_by_role("button", name="保存并继续").press("Enter")
    page.wait_for_load_state()
    assert "/my/bundles/" in page.url
    assert "申请表已保存" in page.locator("main").inner_text()
