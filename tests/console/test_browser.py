"""Applying and case handling in a real browser: axe-core's WCAG 2.1 A/AA rules on the apply
form, my case, the console inbox, the console case page, window intake and the licence,
seal and coverage pages (also in 长辈模式 and with errors shown), and a reviewer accepting a
case with the keyboard only.

Same requirements as tests/portal/test_browser.py: Debian's chromium, playwright, and
axe-core from `make setup`; skipped locally without them, failing on CI.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cases import engine, services
from cases import materials as case_materials
from cases.models import Case
from licences.models import Licence
from tests import builders
from tests.case_pages import World, build_world
from tests.portal.test_browser import AXE, focused

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@dataclass
class Scene:
    world: World
    submitted: str
    supplement: str
    window_draft: str
    sessions: dict[str, str]
    codes: dict[str, str]


def _submitted(world: World) -> Case:
    applicant = world.applicant
    case = services.start_case(
        item_version=world.version,
        form_data={"reason": "夫妻投靠", "contact_id": builders.valid_id_number("19850505")},
        person=applicant,
        actor=applicant.user,
    )
    for material in world.version.materials.all():
        case_materials.add_material(
            case,
            material,
            content=builders.uploaded_pdf(material.name),
            name=f"{material.name}.pdf",
            actor=applicant.user,
        )
    return engine.take_action(case, "submit", actor=applicant.user)


def _session(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def scene(transactional_db) -> Scene:
    """Everything the browser shows, built before the browser starts (the ORM must not run
    inside Playwright's event loop)."""
    world = build_world()
    submitted = _submitted(world)
    supplement = _submitted(world)
    for name in ("accept", "start_review"):
        supplement = engine.take_action(supplement, name, actor=world.reviewer)
    due = timezone.localdate() + dt.timedelta(days=3)
    while due.weekday() >= 5:
        due += dt.timedelta(days=1)
    supplement = engine.take_action(
        supplement,
        "request_supplement",
        actor=world.reviewer,
        note="户口簿复印件不清晰，请重新扫描上传",
        data={"materials": [world.material("居民户口簿").pk], "due_date": due.isoformat()},
    )
    draft = services.apply(
        actor=world.clerk,
        item_version=world.version,
        form_data={"reason": "随子女落户"},
        on_behalf_of={
            "kind": "person",
            "name": "刘奶奶",
            "id_number": builders.valid_id_number("19420808", "110101"),
        },
        assisted=True,
    )
    sessions = {
        "citizen": _session(world.applicant.user),
        "reviewer": _session(world.reviewer),
        "clerk": _session(world.clerk),
    }
    codes = {"item": world.version.item.code, "every_field": world.every_field.item.code}
    return Scene(world, submitted.number, supplement.number, draft.number, sessions, codes)


def sign_in(page: Any, live_server: Any, scene: Scene, who: str, *, elder: bool = False) -> None:
    page.context.clear_cookies()
    cookies = [{"name": "sessionid", "value": scene.sessions[who], "url": live_server.url}]
    if elder:
        cookies.append({"name": "elder_mode", "value": "1", "url": live_server.url})
    page.context.add_cookies(cookies)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not an inline script: the CSP
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                resultTypes: ["violations"],
            });
            return r.violations.map(v => ({
                id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))
            }));
        }"""
    )


def unlabelled_controls(page: Any) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll(
                "input:not([type=hidden]):not([type=submit]), select, textarea")]
            .filter(el => el.labels.length === 0).map(el => el.name)"""
    )


def test_case_pages_have_no_axe_violations(live_server, scene: Scene, browser_page):
    page = browser_page
    pages = [
        ("在线申请（申请表）", "citizen", f"/items/{scene.codes['every_field']}/apply/", False),
        ("在线申请（长辈模式）", "citizen", f"/items/{scene.codes['item']}/apply/", True),
        ("我的办件", "citizen", "/my/cases/", False),
        ("我的办件详情（待补正）", "citizen", f"/my/cases/{scene.supplement}/", False),
        ("我的办件详情（长辈模式）", "citizen", f"/my/cases/{scene.supplement}/", True),
        ("我的消息", "citizen", "/my/messages/", False),
        ("收件箱", "reviewer", "/console/", False),
        ("收件箱（长辈模式）", "reviewer", "/console/?status=all", True),
        ("办件详情（待受理）", "reviewer", f"/console/cases/{scene.submitted}/", False),
        ("办件详情（补正中）", "reviewer", f"/console/cases/{scene.supplement}/", False),
        ("窗口收件", "clerk", "/console/intake/?q=户口", False),
        ("窗口收件表单", "clerk", f"/console/intake/{scene.codes['item']}/", False),
        ("窗口办件（登记材料）", "clerk", f"/console/cases/{scene.window_draft}/", False),
        ("窗口办件（长辈模式）", "clerk", f"/console/cases/{scene.window_draft}/", True),
    ]
    failures: list[str] = []
    for name, who, path, elder in pages:
        sign_in(page, live_server, scene, who, elder=elder)
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, f"{name} {path}"
        violations = axe_violations(page)
        if violations:
            failures.append(f"{name} {path}: {json.dumps(violations, ensure_ascii=False)}")
        unlabelled = unlabelled_controls(page)
        if unlabelled:
            failures.append(f"{name} {path}: 没有 <label> 的表单控件 {unlabelled}")
    assert not failures, "\n".join(failures)


def test_forms_with_errors_have_no_axe_violations(live_server, scene: Scene, browser_page):
    """Errors are shown next to their fields and summed up at the top, accessibly."""
    page = browser_page
    failures: list[str] = []
    sign_in(page, live_server, scene, "citizen")
    page.goto(live_server.url + f"/items/{scene.codes['every_field']}/apply/")
    page.get_by_label("联系人公民身份号码").fill("123")
    with page.expect_navigation():
        page.get_by_role("button", name="保存并继续").click()
    assert "请修改以下内容后重新提交" in page.locator("main").inner_text()
    assert page.get_by_label("联系人公民身份号码").get_attribute("aria-invalid") == "true"
    failures += [f"申请表错误: {v}" for v in axe_violations(page)]

    sign_in(page, live_server, scene, "clerk")
    page.goto(live_server.url + f"/console/intake/{scene.codes['item']}/")
    with page.expect_navigation():
        page.get_by_role("button", name="创建办件").click()
    assert "请填写姓名" in page.locator("main").inner_text()
    failures += [f"窗口收件错误: {v}" for v in axe_violations(page)]
    assert not failures, "\n".join(failures)


def test_a_reviewer_accepts_a_case_with_the_keyboard_only(live_server, scene: Scene, browser_page):
    page = browser_page
    sign_in(page, live_server, scene, "reviewer")
    page.goto(live_server.url + "/console/")
    page.keyboard.press("Tab")
    assert focused(page)["href"] == "#main"
    page.keyboard.press("Enter")
    case_url = f"/console/cases/{scene.submitted}/"
    for _ in range(80):
        page.keyboard.press("Tab")
        if focused(page)["href"] == case_url:
            break
    else:
        raise AssertionError("按 Tab 未能到达办件链接")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + case_url
    for _ in range(120):
        page.keyboard.press("Tab")
        current = focused(page)
        if current["tag"] == "button" and current["text"] == "受理":
            break
    else:
        raise AssertionError("按 Tab 未能到达“受理”按钮")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    main = page.locator("main").inner_text()
    assert "已执行“受理”" in main
    assert page.locator(".case-facts .state").inner_text() == "已受理"


@pytest.fixture
def licence_scene(transactional_db) -> dict[str, str]:
    """A licence of the police issued on approval, and the sessions of its approver and the
    police's organisation admin (built before the browser starts)."""
    from tests.case_pages import (
        approved_licence_case,
        household_licence_type,
        licence_item,
        police_seal,
    )

    world = build_world()
    police_seal(world)
    case = approved_licence_case(world, licence_item(world, household_licence_type()))
    licence = Licence.objects.get(case_number=case.number)
    return {
        "identifier": licence.identifier,
        "approver": _session(world.approver),
        "org_admin": _session(world.org_admin),
    }


def test_licence_pages_of_the_console_have_no_axe_violations(
    live_server, licence_scene, browser_page
):
    page = browser_page
    identifier = licence_scene["identifier"]
    pages = [
        ("电子证照", "approver", "/console/licences/", False),
        ("证照详情（可撤销）", "approver", f"/console/licences/{identifier}/", False),
        ("证照详情（长辈模式）", "approver", f"/console/licences/{identifier}/", True),
        ("电子印章（机构管理员）", "org_admin", "/console/seals/", False),
        ("电子印章（长辈模式）", "org_admin", "/console/seals/", True),
        ("证照库入库率", "org_admin", "/console/coverage/", False),
    ]
    failures: list[str] = []
    for name, who, path, elder in pages:
        page.context.clear_cookies()
        cookies = [{"name": "sessionid", "value": licence_scene[who], "url": live_server.url}]
        if elder:
            cookies.append({"name": "elder_mode", "value": "1", "url": live_server.url})
        page.context.add_cookies(cookies)
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, f"{name} {path}"
        violations = axe_violations(page)
        if violations:
            failures.append(f"{name} {path}: {json.dumps(violations, ensure_ascii=False)}")
        unlabelled = unlabelled_controls(page)
        if unlabelled:
            failures.append(f"{name} {path}: 没有 <label> 的表单控件 {unlabelled}")
    # A refused revocation (empty reason) shows its error accessibly.
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": licence_scene["approver"], "url": live_server.url}]
    )
    page.goto(live_server.url + f"/console/licences/{identifier}/")
    with page.expect_navigation():
        page.get_by_role("button", name="撤销证照").click()
    assert "请填写撤销原因" in page.locator("main").inner_text()
    failures += [f"撤销证照错误: {v}" for v in axe_violations(page)]
    assert not failures, "\n".join(failures)
