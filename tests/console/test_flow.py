"""A case from application to closing, entirely through pages: the citizen applies in the
portal with uploads, a reviewer asks for a supplement in the console, the citizen supplies
it in the portal, the approver approves, the result is issued and the case closed.

Along the way: ID numbers never appear in clear on console pages or in the log."""

from __future__ import annotations

import logging

from django.test import Client

from accounts.models import Notification
from cases.models import Case
from core.personal_data import mask_id_number
from tests import builders
from tests.case_pages import act, apply_online, pdf, working_days_ahead
from tests.portal.html import assert_accessible_structure, text


def test_apply_supplement_approve_close_through_pages(world, caplog):
    caplog.set_level(logging.DEBUG)
    contact = builders.valid_id_number("19850505")
    citizen, reviewer, approver = Client(), Client(), Client()
    citizen.force_login(world.applicant.user)
    reviewer.force_login(world.reviewer)
    approver.force_login(world.approver)
    hukou = world.material("居民户口簿")

    number = apply_online(
        citizen,
        world.version,
        {"reason": "夫妻投靠", "contact_id": contact, "phone": "13900001111"},
        files={
            "居民户口簿": pdf("hukou.pdf"),
            "结婚证": pdf("marriage.pdf", "2"),
            "无违法犯罪记录证明": pdf("record.pdf", "3"),
        },
    )

    # The reviewer finds it in the inbox, masked, and accepts it.
    inbox = reviewer.get("/console/")
    assert inbox.status_code == 200 and number in inbox.content.decode()
    assert "张**" in text(inbox.content) and "张三丰" not in text(inbox.content)
    page = reviewer.get(f"/console/cases/{number}/")
    assert_accessible_structure(page.content)
    pages = [page.content.decode()]
    assert act(reviewer, number, "accept").status_code == 302
    assert act(reviewer, number, "start_review").status_code == 302

    # 一次性告知: every material to supplement, with a due date.
    due = working_days_ahead(4)
    response = act(
        reviewer,
        number,
        "request_supplement",
        note="户口簿复印件不清晰，请重新扫描",
        materials=[hukou.pk],
        due_date=due.isoformat(),
    )
    assert response.status_code == 302, text(response.content)
    case = Case.objects.get(number=number)
    assert case.state == "review_supplement" and case.clock_state == "paused"
    pages.append(reviewer.get(f"/console/cases/{number}/").content.decode())
    assert "等待申请人补正" in text(pages[-1])

    # The citizen sees what is expected, uploads, and submits the supplement.
    detail = citizen.get(f"/my/cases/{number}/")
    assert_accessible_structure(detail.content)
    todo = text(detail.content)
    assert "补正材料" in todo and "户口簿复印件不清晰" in todo and "居民户口簿" in todo
    assert f"{due.year}年{due.month}月{due.day}日" in todo
    response = citizen.post(
        f"/my/cases/{number}/materials/",
        {"materials": [hukou.pk], f"material_{hukou.pk}": pdf("hukou-clear.pdf", "clear")},
    )
    assert response.status_code == 302
    response = citizen.post(f"/my/cases/{number}/actions/supplement/")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == "under_review" and case.clock_state == "running"
    detail = text(citizen.get(f"/my/cases/{number}/").content)
    assert "暂停计时记录（共 1 次）" in detail and "补正材料" in detail

    # The approver decides; the result is issued and the case closed.
    assert act(approver, number, "approve").status_code == 302
    assert act(approver, number, "issue_result").status_code == 302
    pages.append(approver.get(f"/console/cases/{number}/").content.decode())
    assert act(reviewer, number, "close").status_code == 302
    case.refresh_from_db()
    assert case.state == "closed" and case.closed_at is not None
    final = reviewer.get(f"/console/cases/{number}/")
    pages.append(final.content.decode())
    timeline = text(final.content)
    for step in (
        "提交申请",
        "受理",
        "开始审查",
        "审查中要求补正",
        "提交补正材料",
        "准予办理",
        "制证出结果",
        "办结",
    ):
        assert step in timeline, step
    assert "已办结" in text(citizen.get("/my/cases/").content)
    assert Notification.objects.filter(recipient=world.applicant.user).count() >= 7

    # ID numbers: masked on every console page, in clear nowhere, and never logged.
    pages.append(reviewer.get("/console/").content.decode())
    pages.append(reviewer.get("/console/?status=all").content.decode())
    own = world.applicant.id_number
    for html in pages:
        assert own not in html and contact not in html
        assert "13900001111" not in html
    assert mask_id_number(own) in pages[0] and mask_id_number(contact) in pages[0]
    assert own not in caplog.text and contact not in caplog.text
    assert "13900001111" not in caplog.text and "13800138000" not in caplog.text
