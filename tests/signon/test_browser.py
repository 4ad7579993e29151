"""The identity pages in a real browser at 360 px: 我的企业 (the representative's and the
agent's), 经办人管理, 登录设备与应用, the sign-in page with the other members, the consent page — no axe-core WCAG 2.1 A/AA violation, every
control labelled, and no sideways scrolling of the page."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.agents import authorise_agent, register_company_online
from accounts.models import AgentAction
from core.actors import SystemActor
from signon import keys
from signon.provider import register_client, s256
from tests import builders
from tests.accounts.test_agents import enterprise_uscc
from tests.portal.test_browser import _axe, browser_page  # noqa: F401 - the fixture
from tests.signon.pkce import APP, REDIRECT, authorize_url, exchange, redirected_params

pytestmark = pytest.mark.browser


@pytest.fixture
def scene(transactional_db, federation, settings, live_server) -> dict[str, Any]:
    settings.PUBLIC_BASE_URL = live_server.url
    federation.publish(
        [{**federation.local_entry(), "oidc": keys.directory_part()}, federation.jilin.entry()],
        serial=2,
    )
    boss, agent = builders.person("王大海"), builders.person("李经办")
    company = register_company_online(
        uscc=enterprise_uscc(7), name="大连海洋科技有限公司", actor=boss.user
    )
    authorise_agent(
        company,
        agent_name=agent.name,
        agent_id_number=agent.id_number,
        items=[],
        actions=[AgentAction.APPLY],
        valid_until=timezone.now() + dt.timedelta(days=30),
        actor=boss.user,
    )
    client = Client()
    client.force_login(boss.user)
    agent_client = Client()
    agent_client.force_login(agent.user)
    # The boss signed in to the app too: 登录设备 lists a session and an app.
    register_client(APP, name="辽事通", redirect_uris=[REDIRECT], actor=SystemActor("test"))
    verifier = "w" * 43
    code = redirected_params(client.get(authorize_url(verifier)))["code"]
    assert exchange(Client(), code, verifier).status_code == 200
    consent = "/oidc/authorize?" + urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": "node:jilin",
            "redirect_uri": "http://127.0.0.1:9/signon/callback/liaoning/",
            "scope": "openid identity",
            "state": "s",
            "nonce": "n",
            "code_challenge": s256("v" * 43),
            "code_challenge_method": "S256",
        }
    )
    return {
        "session": client.cookies["sessionid"].value,
        "agent_session": agent_client.cookies["sessionid"].value,
        "uscc": company.uscc,
        "consent": consent,
    }


def test_identity_pages_are_accessible_at_360_px(live_server, scene, browser_page):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 800})
    boss, agent = scene["session"], scene["agent_session"]
    pages = [
        ("我的企业", boss, "/my/companies/"),
        ("经办人管理", boss, f"/my/companies/{scene['uscc']}/agents/"),
        ("我的企业（经办人）", agent, "/my/companies/"),
        ("登录设备与应用", boss, "/my/sign-ins/"),
        ("授权提供身份信息", boss, scene["consent"]),
        ("登录（其他平台用户）", "", "/login/"),
    ]
    failures: list[str] = []
    for name, session, path in pages:
        page.context.clear_cookies()
        if session:
            page.context.add_cookies(
                [{"name": "sessionid", "value": session, "url": live_server.url}]
            )
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, f"{name} {path}"
        violations = _axe(page)
        if violations:
            failures.append(f"{name}: {json.dumps(violations, ensure_ascii=False)}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            failures.append(f"{name}: 页面宽 {width}px，出现横向滚动")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll(
                    "input:not([type=hidden]):not([type=submit]), select, textarea")]
                .filter(el => el.labels.length === 0).map(el => el.name)"""
        )
        if unlabelled:
            failures.append(f"{name}: 没有 <label> 的表单控件 {unlabelled}")
    assert "用jilin 节点账号登录" not in page.content()  # jilin lists no provider
    assert not failures, "\n".join(failures)
