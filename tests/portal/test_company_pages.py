"""The pages of companies online: the legal representative registers the company,
authorises an agent and revokes them; the agent sees what they may do; bad input comes
back on the form, in Chinese, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AgentAuthorisation, Company
from tests import builders
from tests.accounts.test_agents import enterprise_uscc
from tests.portal.html import assert_accessible_structure, text

pytestmark = pytest.mark.django_db


def test_register_authorise_and_revoke(client):
    boss = builders.person("王大海")
    agent = builders.person("李经办")
    client.force_login(boss.user)
    page = client.get("/my/companies/")
    assert page.status_code == 200
    assert_accessible_structure(page.content)
    bad = client.post("/my/companies/", {"uscc": "91210200000000001X", "name": "某公司"})
    assert bad.status_code == 422 and "统一社会信用代码" in text(bad.content)
    assert not Company.objects.exists()
    uscc = enterprise_uscc(3)
    made = client.post("/my/companies/", {"uscc": uscc, "name": "大连海洋科技有限公司"})
    assert made.status_code == 302 and made["Location"] == f"/my/companies/{uscc}/agents/"
    agents_url = made["Location"]
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    form = {
        "agent_name": "李经办",
        "agent_id_number": agent.id_number,
        "items": "",
        "actions": ["apply", "supplement"],
        "valid_until": until,
    }
    wrong = client.post(agents_url, {**form, "agent_name": "李错名"})
    assert wrong.status_code == 422 and "姓名" in text(wrong.content)
    past = client.post(agents_url, {**form, "valid_until": "2020-01-01"})
    assert past.status_code == 422 and "有效期须晚于现在" in text(past.content)
    assert not AgentAuthorisation.objects.exists()
    granted = client.post(agents_url, form)
    assert granted.status_code == 302
    listed = client.get(agents_url)
    assert_accessible_structure(listed.content)
    assert "李经办 申请（填写、修改、提交申请）、提交材料（上传、补正、承诺） 全部事项" in text(
        listed.content
    )

    client.force_login(agent.user)
    mine = text(client.get("/my/companies/").content)
    assert "大连海洋科技有限公司" in mine and until in mine
    assert client.get(agents_url).status_code == 404  # only the representative manages

    client.force_login(boss.user)
    authorisation = AgentAuthorisation.objects.get()
    revoked = client.post(f"{agents_url}{authorisation.pk}/revoke/")
    assert revoked.status_code == 302
    authorisation.refresh_from_db()
    assert authorisation.revoked_at is not None
    assert "已撤销" in text(client.get(agents_url).content)


def test_the_agents_page_takes_constant_queries(client):
    boss = builders.person("王大海")
    client.force_login(boss.user)
    uscc = enterprise_uscc(4)
    client.post("/my/companies/", {"uscc": uscc, "name": "大连海洋科技有限公司"})
    url = f"/my/companies/{uscc}/agents/"

    def grant(n: int) -> None:
        agent = builders.person("李经办")
        client.post(
            url,
            {
                "agent_name": "李经办",
                "agent_id_number": agent.id_number,
                "actions": ["apply"],
                "valid_until": (dt.date.today() + dt.timedelta(days=n + 1)).isoformat(),
            },
        )

    def measured() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    grant(1)
    few = measured()
    for n in range(2, 6):
        grant(n)
    assert AgentAuthorisation.objects.count() == 5
    assert measured() == few
