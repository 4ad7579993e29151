"""Changes in supervision: the work ledger (loading the plan, progress reports with
attachments, milestones), and the warning cards routed from the processes' deadlines.

Each function is one transaction, writes its audit row, and is called by every entry point
(pages, the worker, `load_demo`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, StaffRole
from accounts.services import notify
from cases.materials import check_upload
from cases.models import Case
from core import blobs
from core.actors import Actor
from core.exceptions import ProblemList, RuleViolation
from core.models import DeadlineWarning, Organisation, division_code_prefix
from core.services import record_audit
from hotline.models import Ticket
from ratings.models import Rectification
from supervision.models import (
    LedgerTask,
    Milestone,
    ProgressReport,
    ReportAttachment,
    WarningCard,
)

PLAN_FILE = Path(__file__).resolve().parent / "data" / "ledger.json"


# The work ledger -------------------------------------------------------------------------------


def _deadline(text: str) -> dt.date | None:
    """`2021年底前` → 2021-12-31; other wordings stay text only."""
    if text.endswith("年底前") and text[:4].isdigit():
        return dt.date(int(text[:4]), 12, 31)
    return None


@transaction.atomic
def load_plan(*, actor: Actor, lead: Organisation | None = None) -> int:
    """The plan's 11 tasks and 4 safeguards into the ledger (supervision/data/ledger.json,
    read from the plan's text); a task already there is left alone. Returns how many
    were added."""
    added = 0
    for row in json.loads(PLAN_FILE.read_text(encoding="utf-8")):
        _, created = LedgerTask.objects.get_or_create(
            kind=row["kind"],
            number=row["number"],
            defaults={
                "title": row["title"],
                "body": row["body"],
                "lead_units": row["lead"],
                "responsible_units": row["responsible"],
                "deadline_text": row["deadline_text"],
                "deadline": _deadline(row["deadline_text"]),
                "lead": lead if row["lead"] else None,
            },
        )
        added += created
    if added:
        record_audit(
            actor=actor,
            action="ledger.load_plan",
            obj=LedgerTask.objects.order_by("id").first(),  # type: ignore[arg-type]
            summary=f"工作台账载入 {added} 项任务",
        )
    return added


MAX_ATTACHMENTS = 5


@dataclass
class ReportIn:
    text: str
    progress: int
    status: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def _reporting_org(task: LedgerTask, actor: User) -> Organisation:
    """Who may report: a supervisor, or an admin of the task's lead organisation."""
    roles = StaffRole.objects.filter(user=actor).select_related("organisation")
    for role in roles:
        if role.role == Role.SUPERVISOR or (
            role.role == Role.ORG_ADMIN and role.organisation_id == task.lead_id
        ):
            return role.organisation
    raise RuleViolation("ledger_forbidden", "只有监督人员或牵头单位管理员可以报送进展", status=403)


@transaction.atomic
def report_progress(task: LedgerTask, data: ReportIn, *, actor: User) -> ProgressReport:
    """A progress report: its text, the progress and status it sets, its files."""
    organisation = _reporting_org(task, actor)
    problems = ProblemList()
    if not data.text.strip():
        problems.add("请填写进展情况", field="text", code="report_text_required")
    if not 0 <= data.progress <= 100:
        problems.add("完成进度应在 0 到 100 之间", field="progress", code="report_progress_range")
    if data.status not in LedgerTask.Status.values:
        problems.add("未知的任务状态", field="status", code="report_status_unknown")
    if data.status == LedgerTask.Status.DONE and data.progress != 100:
        problems.add("标记为已完成时进度应为 100%", field="progress", code="report_done_not_full")
    if len(data.attachments) > MAX_ATTACHMENTS:
        problems.add(f"附件最多 {MAX_ATTACHMENTS} 个", field="attachments", code="too_many_files")
    mimes = []
    for index, (name, content) in enumerate(data.attachments):
        try:
            mimes.append(check_upload(content, name))
        except RuleViolation as exc:
            problems.add(f"{name}：{exc.message}", field=f"attachments.{index}", code=exc.code)
    problems.raise_if_any("report_invalid", "进展报送有误")
    report = ProgressReport.objects.create(
        task=task,
        reported_by=actor,
        organisation=organisation,
        text=data.text.strip(),
        progress=data.progress,
        status=data.status,
    )
    for (name, content), mime in zip(data.attachments, mimes, strict=True):
        digest, path = blobs.store(content, area="supervision")
        ReportAttachment.objects.create(
            report=report,
            path=path,
            sha256=digest,
            name=name[:200],
            content_type=mime,
            size=len(content),
        )
    task.progress = data.progress
    task.status = data.status
    task.save(update_fields=["progress", "status", "updated_at"])
    record_audit(
        actor=actor,
        action="ledger.report",
        obj=task,
        summary=f"{task.title}：进度 {data.progress}%（{task.get_status_display()}）",
    )
    return report


@transaction.atomic
def add_milestone(task: LedgerTask, *, title: str, due_date: dt.date, actor: User) -> Milestone:
    _reporting_org(task, actor)
    if not title.strip():
        raise RuleViolation("milestone_title_required", "请填写节点名称")
    milestone = Milestone.objects.create(task=task, title=title.strip()[:200], due_date=due_date)
    record_audit(actor=actor, action="ledger.milestone", obj=task, summary=f"新增节点：{title}")
    return milestone


@transaction.atomic
def complete_milestone(
    milestone: Milestone, *, on: dt.date | None = None, actor: User
) -> Milestone:
    _reporting_org(milestone.task, actor)
    if milestone.done_on is not None:
        raise RuleViolation("milestone_done", "该节点已完成")
    milestone.done_on = on or timezone.localdate()
    milestone.save(update_fields=["done_on"])
    record_audit(
        actor=actor,
        action="ledger.milestone_done",
        obj=milestone.task,
        summary=f"节点完成：{milestone.title}",
    )
    return milestone


# Warning cards ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Warned:
    """A process that carries a yellow or red warning now."""

    subject: str
    reference: str
    title: str
    organisation_id: int
    colour: str
    due_date: dt.date | None


def warned_now() -> list[Warned]:
    """Every open case, rectification and ticket with a yellow or red warning (the engine's
    deadline scans keep `warning`; read through its index)."""
    colours = [DeadlineWarning.YELLOW, DeadlineWarning.RED]
    out = [
        Warned(WarningCard.Subject.CASE, n, name, org, w, due)
        for n, name, org, w, due in Case.objects.filter(
            warning__in=colours, closed_at__isnull=True
        ).values_list("number", "item_version__name", "handling_org_id", "warning", "due_date")
    ]
    out += [
        Warned(WarningCard.Subject.RECTIFICATION, n, f"差评整改：{name}", org, w, due)
        for n, name, org, w, due in Rectification.objects.filter(
            warning__in=colours, closed_at__isnull=True
        ).values_list("number", "rating__service_name", "organisation_id", "warning", "due_date")
    ]
    out += [
        Warned(WarningCard.Subject.TICKET, n, f"12345：{title}", org, w, due)
        for n, title, org, w, due in Ticket.objects.filter(
            warning__in=colours, closed_at__isnull=True, lead__isnull=False
        ).values_list("number", "title", "lead_id", "warning", "due_date")
    ]
    return out


def card_link(card: WarningCard) -> str:
    if card.subject == WarningCard.Subject.CASE:
        return reverse("console:case", args=[card.reference])
    if card.subject == WarningCard.Subject.RECTIFICATION:
        return reverse("ratings:rectification", args=[card.reference])
    return reverse("hotline:ticket", args=[card.reference])


class Recipients:
    """Who hears of a card of an organisation: its admins, and every supervisor whose
    division covers it; escalation goes to supervisors whose division is wider than the
    organisation's city (the province's). Read once per run."""

    def __init__(self, organisation_ids: Iterable[int]) -> None:
        self.orgs = {
            o.pk: o
            for o in Organisation.objects.filter(pk__in=set(organisation_ids)).select_related(
                "division"
            )
        }
        roles = StaffRole.objects.filter(
            Q(role=Role.SUPERVISOR) | Q(role=Role.ORG_ADMIN, organisation_id__in=self.orgs)
        ).select_related("user", "division")
        self.admins: dict[int, list[User]] = {}
        self.supervisors: list[tuple[str, User]] = []
        for r in roles:
            if r.role == Role.ORG_ADMIN:
                self.admins.setdefault(r.organisation_id, []).append(r.user)
            else:
                self.supervisors.append((division_code_prefix(r.division.code), r.user))

    def of(self, organisation_id: int) -> list[User]:
        code = self.orgs[organisation_id].division.code
        users = list(self.admins.get(organisation_id, []))
        users += [u for prefix, u in self.supervisors if code.startswith(prefix)]
        return list({u.pk: u for u in users}.values())

    def above(self, organisation_id: int) -> list[User]:
        """Supervisors over the organisation whose division is wider than its city."""
        code = self.orgs[organisation_id].division.code
        return list(
            {
                u.pk: u
                for prefix, u in self.supervisors
                if code.startswith(prefix) and len(prefix) < min(4, len(division_code_prefix(code)))
            }.values()
        )


@transaction.atomic
def route_warnings(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Raise a card for every process newly warned, turn yellow cards red, resolve cards
    whose warning went, escalate red cards older than the configured delay; notify the
    responsible organisation's admins and the supervisors over it each time."""
    now = now or timezone.now()
    warned = {(w.subject, w.reference): w for w in warned_now()}
    open_cards = {
        (c.subject, c.reference): c for c in WarningCard.objects.filter(resolved_at__isnull=True)
    }
    recipients = Recipients(
        [w.organisation_id for w in warned.values()]
        + [c.organisation_id for c in open_cards.values()]
    )
    counts = {"raised": 0, "red": 0, "resolved": 0, "escalated": 0}

    def tell(users: list[User], card: WarningCard, title: str) -> None:
        for user in users:
            notify(
                user,
                title=title,
                body=f"{card.title}（{card.reference}），期限 {card.due_date or '—'}",
                link=card_link(card),
            )

    for key, stale in open_cards.items():
        if key not in warned:
            stale.resolved_at = now
            stale.save(update_fields=["resolved_at"])
            counts["resolved"] += 1
    for key, w in warned.items():
        found = open_cards.get(key)
        if found is None:
            card = WarningCard.objects.create(
                subject=w.subject,
                reference=w.reference,
                title=w.title[:200],
                organisation_id=w.organisation_id,
                colour=w.colour,
                due_date=w.due_date,
                red_at=now if w.colour == DeadlineWarning.RED else None,
            )
            counts["raised"] += 1
            tell(
                recipients.of(w.organisation_id),
                card,
                f"{card.get_colour_display()}：{card.get_subject_display()}{card.reference}",
            )
        else:
            card = found
        if (
            found is not None
            and card.colour == DeadlineWarning.YELLOW
            and w.colour == DeadlineWarning.RED
        ):
            card.colour = WarningCard.Colour.RED
            card.red_at = now
            card.due_date = w.due_date
            card.save(update_fields=["colour", "red_at", "due_date"])
            counts["red"] += 1
            tell(
                recipients.of(w.organisation_id),
                card,
                f"红牌：{card.get_subject_display()}{card.reference}已超期",
            )
        delay = dt.timedelta(hours=settings.SUPERVISION_ESCALATION_HOURS)
        if (
            card.colour == WarningCard.Colour.RED
            and card.escalated_at is None
            and card.red_at
            and now - card.red_at >= delay
        ):
            card.escalated_at = now
            card.save(update_fields=["escalated_at"])
            counts["escalated"] += 1
            tell(
                recipients.above(w.organisation_id) or recipients.of(w.organisation_id),
                card,
                f"升级督办：{card.get_subject_display()}{card.reference}超期未办结",
            )
    return counts


def route_warnings_job() -> str | None:
    counts = route_warnings()
    if not any(counts.values()):
        return None
    return (
        f"预警牌：新亮牌 {counts['raised']}，转红 {counts['red']}，"
        f"升级督办 {counts['escalated']}，解除 {counts['resolved']}"
    )
