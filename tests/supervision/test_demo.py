"""The supervision demo on the Liaoning node: the ledger, the list targets, the figures of
the demo cases, and a published bulletin on the portal."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from cases.models import Case
from supervision import figures
from supervision.models import Bulletin, CaseFact, LedgerTask, ListTarget, WarningCard
from tests.demo.conftest import be_node
from tests.portal.html import text


@pytest.fixture
def demo(settings):
    be_node(settings, "liaoning")
    call_command("load_demo", stdout=StringIO())


def test_demo_supervision(client, demo):
    assert LedgerTask.objects.count() == 15
    task = LedgerTask.objects.get(kind="task", number=9)
    assert task.progress == 80 and task.reports.count() == 1 and task.milestones.count() == 1
    assert [t.target for t in ListTarget.objects.order_by("position")] == [58, 132, 140]
    submitted = Case.objects.filter(submitted_at__isnull=False)
    assert CaseFact.objects.count() == submitted.count()
    summary = figures.summary(figures.Scope())
    assert summary["received"] == submitted.count()
    assert summary["accepted"] == submitted.filter(started_on__isnull=False).count()
    assert summary["red"] == submitted.filter(warning="red").count()
    assert WarningCard.objects.filter(resolved_at__isnull=True, subject="case").count() == (
        Case.objects.filter(warning__in=["yellow", "red"], closed_at__isnull=True).count()
    )
    bulletin = Bulletin.objects.get()
    assert bulletin.status == "published"
    page = text(client.get("/supervision/public/bulletins/").content)
    assert bulletin.title in page
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="ln-gat-supervisor"))
    dashboard = client.get("/supervision/")
    assert dashboard.status_code == 200
    assert "清单目标完成情况" in text(dashboard.content)
    call_command("load_demo", stdout=StringIO())
    assert LedgerTask.objects.count() == 15 and Bulletin.objects.count() == 1
