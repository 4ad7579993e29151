"""督查督办 demo: the plan's 11 tasks and 4 safeguards in the work ledger (Liaoning), with a
milestone and a progress report; the national list's targets (58 / 132 / 140 items by
phase); the figures rebuilt from the demo cases; the warning cards; and, on Liaoning, this
month's bulletin generated and published by the province's supervisor.

Made once: a ledger that already has tasks is left alone, so `load_demo` twice changes
nothing but the figures (rebuilt, the same again)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import ItemList
from demo.users import ACTOR, staff_username
from supervision import bulletins, facts, services
from supervision.models import Bulletin, LedgerTask, ListTarget

# The plan (seed, 二、工作目标): 58 items already, 74 more by the end of 2021, the last 8
# "逐步" after 2021 — the date of that last phase is local configuration (decision 247).
NATIONAL_TARGETS = [
    ("持续优化 58 项全国高频事项", 58, dt.date(2021, 8, 13)),
    ("2021 年底前再实现 74 项（累计 132 项）", 132, dt.date(2021, 12, 31)),
    ("其余 8 项逐步实现（累计 140 项）", 140, dt.date(2022, 12, 31)),
]
SUPERVISOR = staff_username("ln-gat", "supervisor")


def load_demo_supervision() -> int:
    """Returns how many ledger tasks were added."""
    added = 0
    if settings.NODE_ID == "liaoning":
        national = ItemList.objects.filter(code="national-cross-province").first()
        if national is not None:
            for position, (phase, target, due) in enumerate(NATIONAL_TARGETS):
                ListTarget.objects.get_or_create(
                    list=national,
                    phase=phase,
                    defaults={
                        "target": target,
                        "due_date": due,
                        "position": position,
                        "source": "辽政办发〔2021〕工作方案",
                    },
                )
        if not LedgerTask.objects.exists():
            added = services.load_plan(actor=ACTOR)
            supervisor = get_user_model().objects.filter(username=SUPERVISOR).first()
            if supervisor is not None:
                task = LedgerTask.objects.get(kind=LedgerTask.Kind.TASK, number=9)
                services.add_milestone(
                    task,
                    title="省级电子证照库接入全部发证部门",
                    due_date=dt.date(2021, 10, 31),
                    actor=supervisor,
                )
                services.report_progress(
                    task,
                    services.ReportIn(
                        text="已有 435 类证照接入省级电子证照库，新发证照实时入库；余下部门正在对接。",
                        progress=80,
                        status=LedgerTask.Status.IN_PROGRESS,
                    ),
                    actor=supervisor,
                )
    facts.rebuild()
    services.route_warnings()
    if settings.NODE_ID == "liaoning" and not Bulletin.objects.exists():
        supervisor = get_user_model().objects.filter(username=SUPERVISOR).first()
        if supervisor is not None:
            bulletin = bulletins.generate_bulletin(
                period=Bulletin.Period.MONTH, start=timezone.localdate(), actor=supervisor
            )
            bulletins.publish_bulletin(
                bulletin, note="经审核，数据由系统自动汇总，同意发布。", actor=supervisor
            )
    return added
