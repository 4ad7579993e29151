"""The sharing pages in a real browser: the data log, the requests and grants (the
provider's review), the requests sent to another node with their status, the alerts, and
the consent preview on the materials step — axe-core's WCAG 2.1 A/AA rules, every control
labelled, the main action reachable with the keyboard, no horizontal overflow at 360 px."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cases import engine as case_engine
from cases import services as case_services
from cases.sharing import consent_to_sharing
from catalog.models import Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.exceptions import RuleViolation
from federation import services as fed_services
from sharing.calls import Call, call_grant
from sharing.exchange import file_remote_request
from sharing.models import Grant
from sharing.services import put_record
from sharing.subjects import subject_of
from tests import builders
from tests.console.test_browser import axe_violations, unlabelled_controls
from tests.portal.test_browser import browser_page, focused  # noqa: F401 - the Chromium page
from tests.sharing import helpers
from tests.sharing.test_remote_requests import clerk, jilin  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _session(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def scene(transactional_db, federation, jilin, clerk) -> dict[str, Any]:  # noqa: F811
    provider = builders.organisation("大连市公安局", division="210200", seed=9800)
    resource = helpers.household_resource(provider)
    handling = builders.organisation("大连市民政局", division="210200", seed=9801)
    helpers.granted(resource, handling)
    waiting = helpers.request(resource, builders.organisation("沈阳市民政局", seed=9802))
    version = builders.item(org=handling, publish=False)
    Material.objects.filter(version=version, position=1).update(code="HJ-HKB")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    applicant = builders.person("钱一")
    put_record(
        resource,
        subject=subject_of("person", applicant.id_number),
        data={"household_division": "210202"},
        actor=SystemActor("test"),
    )
    form = {"reason": "投靠"}
    done = case_services.start_case(
        item_version=version, form_data=form, actor=applicant.user, person=applicant
    )
    consent_to_sharing(done, actor=applicant.user)
    with contextlib.suppress(RuleViolation):  # another material is missing: read all the same
        case_engine.take_action(done, "submit", actor=applicant.user)
    draft = case_services.start_case(
        item_version=version, form_data=form, actor=applicant.user, person=applicant
    )
    reviewer = builders.staff("reviewer", handling)
    with pytest.raises(RuleViolation):  # outside the grant: refused and alerted
        call_grant(
            Call(
                Grant.objects.get(consumer=handling).number,
                "query",
                subject_of("person", applicant.id_number),
                "核验",
                done.number,
                fields=["address"],
            ),
            actor=reviewer,
        )
    org, staff = clerk
    remote = file_remote_request(
        node="jilin",
        resource_code="JL-GA-HJ-001",
        consumer=org,
        fields=["household_division"],
        methods=["verify"],
        purpose="异地婚姻登记核验户籍",
        legal_basis="《婚姻登记条例》第五条",
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        actor=staff,
    )
    notice = {
        "reference": remote.reference,
        "request": "XQ20261205ABCD",
        "state": "refused",
        "resource": "JL-GA-HJ-001",
        "resource_name": "吉林省居民户籍信息",
        "consumer_uscc": org.uscc,
        "reason": "用途与所申请字段不符",
    }
    fed_services.receive(*federation.jilin.envelope("sharing.request_status", notice))
    supervisor = builders.staff(
        "supervisor", builders.organisation("辽宁省数据局", division="210000", seed=9803)
    )
    return {
        "citizen": _session(applicant.user),
        "provider": _session(builders.staff("reviewer", provider)),
        "consumer": _session(staff),
        "supervisor": _session(supervisor),
        "waiting": waiting.number,
        "draft": draft.number,
    }


PAGES = [
    ("数据使用记录", "citizen", "/sharing/my/"),
    ("材料（共享获取预览与同意）", "citizen", "/my/cases/{draft}/materials/"),
    ("共享需求与授权", "provider", "/sharing/requests/"),
    ("共享需求详情（待审核）", "provider", "/sharing/requests/{waiting}/"),
    ("向其他节点提出", "consumer", "/sharing/remote/?node=jilin"),
    ("向其他节点提出的需求", "consumer", "/sharing/remote/requests/"),
    ("越权调用告警", "supervisor", "/sharing/alerts/"),
]


def _as(page: Any, live_server: Any, session: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])


def tab_to_text(page: Any, text: str, *, limit: int = 120) -> None:
    """Press Tab until a link or button whose text contains `text` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if text in focused(page)["text"]:
            return
    raise AssertionError(f"按 Tab {limit} 次仍未到达“{text}”")


def test_sharing_pages_are_accessible_and_fit_a_phone(live_server, scene, browser_page):  # noqa: F811
    page = browser_page
    failures: list[str] = []
    for name, who, path in PAGES:
        url = live_server.url + path.format(**scene)
        _as(page, live_server, scene[who])
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 800})
            response = page.goto(url)
            assert response is not None and response.status == 200, f"{name} {path}"
            if width == 360:
                scroll = page.evaluate("() => document.documentElement.scrollWidth")
                if scroll > 360:
                    failures.append(f"{name} {path}: 360 px 宽度下横向溢出（{scroll} px）")
                continue
            violations = axe_violations(page)
            if violations:
                failures.append(f"{name} {path}: {json.dumps(violations, ensure_ascii=False)}")
            unlabelled = unlabelled_controls(page)
            if unlabelled:
                failures.append(f"{name} {path}: 没有 <label> 的表单控件 {unlabelled}")
    assert not failures, "\n".join(failures)


def test_the_pages_content_is_what_each_reader_needs(live_server, scene, browser_page):  # noqa: F811
    page = browser_page
    _as(page, live_server, scene["citizen"])
    page.goto(live_server.url + "/sharing/my/")
    log = page.inner_text("main")
    assert "大连市民政局" in log and "已答复" in log and "已拒绝" in log
    _as(page, live_server, scene["consumer"])
    page.goto(live_server.url + "/sharing/remote/requests/")
    sent = page.inner_text("main")
    assert "不予共享（可申请协调）" in sent and "用途与所申请字段不符" in sent
    _as(page, live_server, scene["supervisor"])
    page.goto(live_server.url + "/sharing/alerts/")
    assert "method_not_granted" in page.inner_text("main")


def test_the_main_actions_are_reachable_with_the_keyboard(live_server, scene, browser_page):  # noqa: F811
    page = browser_page
    _as(page, live_server, scene["citizen"])
    page.goto(live_server.url + f"/my/cases/{scene['draft']}/materials/")
    tab_to_text(page, "同意共享获取")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "已同意共享获取" in page.inner_text("main")
    _as(page, live_server, scene["provider"])
    page.goto(live_server.url + f"/sharing/requests/{scene['waiting']}/")
    tab_to_text(page, "同意共享并授权")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "已授权" in page.inner_text("main")
    _as(page, live_server, scene["consumer"])
    page.goto(live_server.url + "/sharing/remote/?node=jilin")
    tab_to_text(page, "全部需求及其状态")
    page.keyboard.press("Enter")
    page.wait_for_url("**/sharing/remote/requests/")
    assert "用途与所申请字段不符" in page.inner_text("main")
