"""The hotline pages and the knowledge base: taking a call, answering a consultation from a
guide article on the spot, an agent's scope (another centre's ticket is a 404), the case
look-up after an identity check, the organisation's inbox, 我的诉求, the statistics — lists
at a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Case
from core.actors import SystemActor
from core.models import PersonalDataAccess
from hotline import knowledge
from hotline.engine import take_action
from hotline.models import Ticket
from hotline.services import TicketIn, open_ticket, save_article
from tests import builders
from tests.builders import uploaded_pdf


@pytest.fixture
def guide():
    return builders.item("户口迁移（夫妻投靠）", keywords="落户")


def _call(client, agent, **fields):
    client.force_login(agent)
    data = {
        "type": "complaint",
        "division": "210200",
        "description": "暖气不热",
        "caller_name": "王芳",
        "caller_phone": "13904112368",
        **fields,
    }
    return client.post("/hotline/calls/", data)


def test_an_agent_takes_a_call(client, world):
    response = _call(client, world.agent, attachment=SimpleUploadedFile("a.pdf", uploaded_pdf()))
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == f"/hotline/tickets/{ticket.number}/"
    assert (
        ticket.centre == world.centre and ticket.attachments.get().content_type == "application/pdf"
    )
    page = client.get(response.url).content.decode()
    assert "王*" in page and "139****2368" in page and "13904112368" not in page


def test_a_bad_call_changes_nothing(client, world):
    response = _call(
        client, world.agent, caller_phone="12", attachment=SimpleUploadedFile("a.pdf", b"not a pdf")
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "联系电话格式不对" in page and "只接受 PDF" in page
    assert Ticket.objects.count() == 0


def test_an_agent_of_another_centre_cannot_read_the_ticket(client, world):
    ticket = world.ticket()
    client.force_login(world.other_agent)
    response = client.get(f"/hotline/tickets/{ticket.number}/")
    assert response.status_code == 404 and "不存在或无权查看" in response.content.decode()
    response = client.post(f"/hotline/tickets/{ticket.number}/actions/accept/")
    assert response.status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).state == "received"
    client.force_login(world.outsider_reviewer)
    assert client.get(f"/hotline/tickets/{ticket.number}/").status_code == 404


def test_a_citizen_is_not_let_into_the_console(client, world):
    client.force_login(builders.person().user)
    assert client.get("/hotline/").status_code == 403


def test_knowledge_search_by_words_and_initials(world, guide):
    save_article(
        title="供暖期室温标准",
        body="供暖期室内温度不低于 18 度。",
        keywords="暖气",
        actor=SystemActor("t"),
    )
    assert [a.title for a in knowledge.search("户口迁移")] == ["户口迁移（夫妻投靠）"]
    assert [a.title for a in knowledge.search("hkqy")] == ["户口迁移（夫妻投靠）"]
    assert [a.title for a in knowledge.search("暖气")] == ["供暖期室温标准"]
    assert [a.title for a in knowledge.search("gnqs")] == ["供暖期室温标准"]
    assert knowledge.search("没有这个词") == []


def test_a_guide_article_follows_the_version_in_force(world, guide):
    from catalog.services import draft_item_version, publish_item_version

    article = knowledge.get_guide_article(guide.item.code)
    assert article.version == guide and "居民户口簿（必要）" in article.text()
    draft = draft_item_version(
        guide.item, effective_from=dt.date(2025, 1, 1), actor=SystemActor("t")
    )
    draft.name = "户口迁移（夫妻投靠，2025 版）"
    draft.save()
    publish_item_version(draft, actor=SystemActor("t"))
    article = knowledge.get_guide_article(guide.item.code)
    assert article.title == "户口迁移（夫妻投靠，2025 版）" and article.version.number == 2
    assert knowledge.search("hkqy")[0].version.number == 2


def test_a_consultation_answered_from_a_guide_on_the_spot(client, world, guide):
    ticket = world.ticket(type="consultation", description="夫妻投靠落户要带什么？")
    client.force_login(world.agent)
    page = client.get(f"/hotline/tickets/{ticket.number}/", {"q": "hkqy"}).content.decode()
    assert "户口迁移（夫妻投靠）" in page and "依知识库当场答复" in page
    response = client.post(
        f"/hotline/tickets/{ticket.number}/actions/answer_on_the_spot/",
        {
            "p_guide": guide.item.code,
            "p_reply": knowledge.get_guide_article(guide.item.code).text(),
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (
        ticket.state == "answered"
        and ticket.answered_guide == guide
        and ticket.outcome == "answered"
    )
    assert "居民户口簿" in ticket.reply


def test_an_on_the_spot_answer_needs_an_article_and_a_reply(client, world, guide):
    ticket = world.ticket(type="consultation")
    client.force_login(world.agent)
    url = f"/hotline/tickets/{ticket.number}/actions/answer_on_the_spot/"
    response = client.post(url, {"p_guide": guide.item.code, "p_reply": " "})
    assert response.status_code == 422 and "答复内容不能为空" in response.content.decode()
    response = client.post(url, {"p_reply": "请带户口簿"})
    assert response.status_code == 422 and "知识库条目或一份办事指南" in response.content.decode()
    complaint = world.ticket()
    response = client.post(
        f"/hotline/tickets/{complaint.number}/actions/answer_on_the_spot/",
        {"p_guide": guide.item.code, "p_reply": "x"},
    )
    assert response.status_code == 422
    assert set(Ticket.objects.values_list("state", flat=True)) == {"received"}


def test_a_callers_own_case_after_an_identity_check(client, world, guide):
    from cases.services import apply

    citizen = builders.person("李建国")
    case = apply(actor=citizen.user, item_version=guide, form_data={"reason": "投靠"})
    ticket = world.ticket(type="consultation")
    client.force_login(world.agent)
    url = f"/hotline/tickets/{ticket.number}/case-lookup/"
    response = client.post(url, {"number": case.number, "id_number": builders.valid_id_number()})
    assert response.status_code == 422 and "不匹配" in response.content.decode()
    response = client.post(url, {"number": case.number, "id_number": citizen.id_number})
    page = response.content.decode()
    assert response.status_code == 200 and "李**" in page and guide.name in page
    accesses = PersonalDataAccess.objects.filter(context=f"工单 {ticket.number}")
    assert accesses.count() == 2 and accesses.filter(fields=["case_status"]).count() == 1
    client.force_login(world.other_agent)
    assert (
        client.post(url, {"number": case.number, "id_number": citizen.id_number}).status_code == 404
    )
    assert Case.objects.get(pk=case.pk).state == case.state


def _dispatched(world, n: int) -> None:
    for _ in range(n):
        ticket = take_action(world.ticket(), "accept", actor=world.agent)
        take_action(
            ticket,
            "dispatch",
            actor=world.agent,
            data={"category": "heating", "lead": world.housing.uscc, "co": [world.street.uscc]},
        )


def test_lists_take_a_constant_number_of_queries(client, world):
    citizen = builders.person("刘洋")
    pages = [
        (world.agent, "/hotline/"),
        (world.housing_reviewer, "/hotline/inbox/"),
        (citizen.user, "/hotline/my/"),
        (None, "/hotline/statistics/"),
    ]

    def counts() -> list[int]:
        out = []
        for user, url in pages:
            client.logout()
            if user is not None:
                client.force_login(user)
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            out.append(len(captured))
        return out

    def citizen_tickets(n: int) -> None:
        for _ in range(n):
            open_ticket(
                TicketIn(type="help", division="210200", description="求助", channel="web"),
                actor=citizen.user,
            )

    _dispatched(world, 2)
    citizen_tickets(2)
    before = counts()
    _dispatched(world, 5)
    citizen_tickets(5)
    assert counts() == before
    client.force_login(world.street_reviewer)
    # The co-organiser's inbox holds the same seven tickets.
    assert client.get("/hotline/inbox/").content.decode().count('class="code" href') == 7


def test_my_tickets_show_the_timeline(client, world):
    citizen = builders.person("刘洋")
    client.force_login(citizen.user)
    response = client.post(
        "/hotline/my/new/",
        {"type": "suggestion", "division": "210200", "description": "多开夜间窗口"},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.caller_user == citizen.user
    assert ticket.channel == "web" and ticket.centre == world.centre
    take_action(ticket, "accept", actor=world.agent)
    page = client.get(f"/hotline/my/{ticket.number}/").content.decode()
    assert "登记" in page and "受理" in page and "已受理（待派单）" in page
    assert ticket.number in client.get("/hotline/my/").content.decode()
    client.force_login(builders.person("张三").user)
    assert client.get(f"/hotline/my/{ticket.number}/").status_code == 404


def test_statistics_per_organisation(client, world):
    _dispatched(world, 2)
    ticket = Ticket.objects.first()
    take_action(ticket, "sign", actor=world.housing_reviewer)
    take_action(ticket, "reply", actor=world.housing_reviewer, data={"reply": "已处理"})
    take_action(ticket, "call_back", actor=world.agent, data={"outcome": "satisfied"})
    page = client.get("/hotline/statistics/").content.decode()
    assert world.housing.name in page and "100%" in page and "王芳" not in page
