"""The work ledger (the plan's tasks, progress with files, overdue flags) and the warning
cards (a late case is a red card for its organisation, routed and escalated)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Notification
from cases import services as case_services
from core.actors import SystemActor
from core.exceptions import RuleViolation
from supervision import selectors, services
from supervision.models import LedgerTask, WarningCard
from tests import builders
from tests.portal.html import text


def test_plan_loads_eleven_tasks_and_four_safeguards_once(province):
    assert services.load_plan(actor=SystemActor("test")) == 15
    assert services.load_plan(actor=SystemActor("test")) == 0
    assert LedgerTask.objects.filter(kind="task").count() == 11
    assert LedgerTask.objects.filter(kind="safeguard").count() == 4
    task = LedgerTask.objects.get(kind="task", number=2)
    assert task.title == "深化东北三省一区“区域通办”"
    assert task.lead_units == "省营商局（大数据局）" and task.deadline == dt.date(2021, 12, 31)
    # 2021 is long past: every task not done is overdue.
    assert all(t.overdue for t in selectors.ledger_tasks() if t.deadline)


def test_progress_report_with_attachment(client, province):
    services.load_plan(actor=SystemActor("test"))
    task = LedgerTask.objects.get(kind="task", number=9)
    client.force_login(province.province_supervisor)
    page = client.get("/supervision/ledger/")
    assert page.status_code == 200
    assert "推广电子证照电子印章应用" in text(page.content) and "逾期" in text(page.content)
    response = client.post(
        f"/supervision/ledger/{task.pk}/",
        {
            "text": "全省电子证照入库率 98%",
            "progress": "100",
            "status": "done",
            "attachments": [SimpleUploadedFile("report.pdf", builders.uploaded_pdf("r"))],
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.progress) == ("done", 100)
    report = task.reports.get()
    attachment = report.attachments.get()
    got = client.get(f"/supervision/ledger/{task.pk}/attachments/{attachment.pk}/")
    assert got.status_code == 200 and got.content == builders.uploaded_pdf("r")
    assert not any(t.overdue for t in selectors.ledger_tasks() if t.pk == task.pk)
    # A bad report changes nothing and says why.
    bad = client.post(
        f"/supervision/ledger/{task.pk}/", {"text": "", "progress": "50", "status": "done"}
    )
    assert bad.status_code == 422 or bad.status_code == 400
    assert "请填写进展情况" in text(bad.content)
    assert task.reports.count() == 1
    # Milestones: added, then done.
    client.post(
        f"/supervision/ledger/{task.pk}/milestones/",
        {"title": "省级证照库上线", "due_date": "2021-10-31"},
    )
    milestone = task.milestones.get()
    client.post(f"/supervision/ledger/{task.pk}/milestones/", {"done": str(milestone.pk)})
    milestone.refresh_from_db()
    assert milestone.done_on is not None


def test_only_supervisors_keep_the_ledger(client, province):
    services.load_plan(actor=SystemActor("test"))
    task = LedgerTask.objects.first()
    client.force_login(province.admin)
    assert client.get("/supervision/ledger/").status_code == 403
    with pytest.raises(RuleViolation):
        services.report_progress(
            task, services.ReportIn("x", 10, "in_progress"), actor=province.admin
        )


def test_late_case_is_a_red_card_for_its_organisation(client, province, monkeypatch, settings):
    p = province
    water_admin = p.admin  # 大连市水务局's admin
    case = p.accepted(p.water_item, monkeypatch, dt.date(2026, 10, 12))
    p.accepted(p.item)  # on time: no card
    case_services.refresh_warnings()
    counts = services.route_warnings()
    assert counts["raised"] == 1
    card = WarningCard.objects.get()
    assert (card.colour, card.reference, card.organisation) == ("red", case.number, p.dalian_water)
    told = set(
        Notification.objects.filter(
            title__startswith="红牌", title__contains=case.number
        ).values_list("recipient", flat=True)
    )
    assert told == {water_admin.pk, p.city_supervisor.pk, p.province_supervisor.pk}
    # Shown to the organisation's admin, not to another organisation's staff.
    client.force_login(water_admin)
    page = text(client.get("/supervision/cards/").content)
    assert case.number in page and "红牌" in page
    assert not selectors.cards_for(p.city_supervisor).exclude(organisation=p.dalian_water).exists()
    # A second run raises nothing new; after the delay, the card is escalated to the province.
    assert services.route_warnings()["raised"] == 0
    settings.SUPERVISION_ESCALATION_HOURS = 1
    later = card.red_at + dt.timedelta(hours=2)
    assert services.route_warnings(now=later)["escalated"] == 1
    escalated = Notification.objects.filter(title__startswith="升级督办")
    assert list(escalated.values_list("recipient", flat=True)) == [p.province_supervisor.pk]
    # Decided: the warning goes, and so does the card.
    from cases import engine

    org = p.dalian_water.pk
    case = engine.take_action(case, "start_review", actor=p.staff[org]["reviewer"])
    engine.take_action(case, "approve", actor=p.staff[org]["approver"])
    case_services.refresh_warnings()
    assert services.route_warnings()["resolved"] == 1
    assert not WarningCard.objects.filter(resolved_at__isnull=True).exists()
