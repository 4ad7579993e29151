"""Who may see which figures, and the cases behind a figure.

A supervisor (营商局 and its cities' counterparts) sees everything handled inside their
division; an organisation admin sees their own organisation; nobody else sees the
dashboards. `scope_for` turns the viewer and what they asked for into a `figures.Scope`
that never reaches beyond the viewer's own; `cases_behind` lists the cases a figure
counts, starting from `Case.objects.for_user` like every other case list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, StaffRole
from cases.models import Case
from catalog.models import ServiceItem
from core.exceptions import NotFound, RuleViolation
from core.models import Division, Organisation, division_code_prefix
from supervision.figures import Scope, next_month
from supervision.models import (
    CaseFact,
    LedgerTask,
    Milestone,
    ProgressReport,
    WarningCard,
)

LEVELS = {"province": "全省", "city": "市", "organisation": "机构", "item": "事项"}
VIEWER_ROLES = (Role.SUPERVISOR, Role.ORG_ADMIN)


def viewer_roles(user: Any) -> list[StaffRole]:
    if not isinstance(user, User):
        return []
    return list(
        StaffRole.objects.filter(user=user, role__in=VIEWER_ROLES).select_related(
            "division", "organisation"
        )
    )


def may_supervise(user: Any) -> bool:
    """Supervisors only: the ledger, bulletins and the regional view."""
    return (
        isinstance(user, User)
        and StaffRole.objects.filter(user=user, role=Role.SUPERVISOR).exists()
    )


def parse_month(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise RuleViolation("bad_month", f"月份“{value}”格式不正确，应为 YYYY-MM") from None


def home_scope(user: Any) -> Scope:
    """The widest scope the viewer may see: a supervisor's division, else their
    organisations. Refused for anyone else."""
    roles = viewer_roles(user)
    if not roles:
        raise RuleViolation(
            "dashboard_forbidden", "统计分析仅供监督人员和机构管理员查看", status=403
        )
    supervised = [r for r in roles if r.role == Role.SUPERVISOR]
    if supervised:
        widest = min(supervised, key=lambda r: len(division_code_prefix(r.division.code)))
        prefix = division_code_prefix(widest.division.code)
        level = "province" if len(prefix) <= 2 else "city"
        return Scope(prefix=prefix, title=widest.division.name, level=level)
    orgs = tuple(sorted({r.organisation_id for r in roles}))
    names = "、".join(sorted({r.organisation.name for r in roles}))
    return Scope(organisations=orgs, title=names, level="organisation")


def scope_for(
    user: Any,
    *,
    level: str = "",
    code: str = "",
    since: str | None = None,
    until: str | None = None,
) -> Scope:
    """The viewer's home scope narrowed to a city (`code` a division code), an
    organisation (its id) or an item (its id); a narrowing outside the home scope is 404."""
    scope = home_scope(user)
    if level == "city":
        division = Division.objects.filter(code=code).first()
        prefix = division_code_prefix(code) if division else ""
        if (
            division is None
            or not prefix.startswith(scope.prefix)
            or scope.organisations is not None
        ):
            raise NotFound("division_not_found", f"区划 {code} 不存在或不在您的监督范围内")
        scope = scope.narrowed(prefix=prefix, title=division.name, level="city")
    elif level == "organisation":
        org = Organisation.objects.filter(pk=_int(code)).select_related("division").first()
        if org is None or not _covers(scope, org):
            raise NotFound("organisation_not_found", "机构不存在或不在您的监督范围内")
        scope = scope.narrowed(organisations=(org.pk,), title=org.name, level="organisation")
    elif level == "item":
        item = (
            ServiceItem.objects.filter(pk=_int(code))
            .select_related("organisation__division")
            .first()
        )
        if item is None or not _covers(scope, item.organisation):
            raise NotFound("item_not_found", "事项不存在或不在您的监督范围内")
        from supervision.figures import item_names

        scope = scope.narrowed(
            item=item.pk,
            title=item_names([item.pk]).get(item.pk, item.implementation_code),
            level="item",
        )
    elif level not in ("", "province"):
        raise NotFound("level_not_found", f"未知的视图“{level}”")
    first, last = parse_period(since, until)
    return scope.narrowed(since=first, until=last)


def parse_period(since: str | None, until: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The first and last month of a period (`YYYY-MM`, either open); a bad month or a
    start after the end is refused (422), in Chinese."""
    first, last = parse_month(since), parse_month(until)
    if first and last and first > last:
        raise RuleViolation("bad_period", "起始月份不能晚于截止月份")
    return first, last


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _covers(scope: Scope, org: Organisation) -> bool:
    if scope.organisations is not None:
        return org.pk in scope.organisations
    return org.division.code.startswith(scope.prefix)


FIGURE_FILTERS: dict[str, tuple[str, Q]] = {
    "received": ("收件", Q()),
    "accepted": ("受理", Q(accepted=True)),
    "not_accepted": ("不予受理", Q(not_accepted=True)),
    "decided": ("办结", Q(decided=True)),
    "on_time": ("按时办结", Q(on_time=True)),
    "late": ("超期办结", Q(late=True)),
    "paused": ("暂停计时", Q(paused=True)),
    "open": ("办理中", Q(finished=False)),
    "deficiency_used": ("容缺受理", Q(deficiency_used=True)),
    "deficiency_failed": ("容缺未履行", Q(deficiency_failed=True)),
    "notification_used": ("告知承诺", Q(notification_used=True)),
    "notification_failed": ("告知承诺核查不实", Q(notification_failed=True)),
}
LIVE_FILTERS = {
    "red": ("已超期（红牌）", Case.Warning.RED),
    "yellow": ("临近期限（黄牌）", Case.Warning.YELLOW),
}


def figure_label(figure: str) -> str:
    if figure in FIGURE_FILTERS:
        return FIGURE_FILTERS[figure][0]
    if figure in LIVE_FILTERS:
        return LIVE_FILTERS[figure][0]
    raise NotFound("figure_not_found", f"未知的统计项“{figure}”")


def cases_behind(
    user: Any, scope: Scope, figure: str, *, scope_key: str = "", mode: str = "", month: str = ""
) -> QuerySet[Case]:
    """The cases a figure counts, inside what the viewer may read."""
    figure_label(figure)
    cases = Case.objects.for_user(user)
    if figure in LIVE_FILTERS:
        q = Q(warning=LIVE_FILTERS[figure][1]) & scope_filter_on_case(scope)
        if scope.item is not None:
            q &= Q(item_version__item_id=scope.item)
        if scope.since:
            q &= Q(submitted_at__date__gte=scope.since)
        if scope.until:
            q &= Q(submitted_at__date__lt=next_month(scope.until))
        return cases.filter(q).order_by("due_date", "id")
    facts = CaseFact.objects.filter(scope.rollup_filter(), FIGURE_FILTERS[figure][1])
    if scope.item is not None:
        facts = facts.filter(item_id=scope.item)
    if scope_key:
        facts = facts.filter(scope="" if scope_key == "-" else scope_key)
    if mode:
        facts = facts.filter(mode=mode)
    first = parse_month(month)
    if first:
        facts = facts.filter(month=first)
    return cases.filter(pk__in=facts.values("case_id")).order_by("-submitted_at", "-id")


def scope_filter_on_case(scope: Scope) -> Q:
    return scope.org_filter("handling_org")


# The ledger and the cards -----------------------------------------------------------------


def require_supervisor(user: Any) -> None:
    if not may_supervise(user):
        raise RuleViolation("supervisor_only", "本页面仅供监督人员使用", status=403)


def ledger_tasks() -> list[LedgerTask]:
    """Every ledger task with its milestones and latest reports, each marked overdue when
    its deadline passed and it is not done. Three queries."""
    today = timezone.localdate()
    tasks = list(
        LedgerTask.objects.select_related("lead").prefetch_related(
            Prefetch("milestones", queryset=Milestone.objects.order_by("due_date", "id"))
        )
    )
    for task in tasks:
        task.overdue = bool(  # type: ignore[attr-defined]
            task.deadline and task.deadline < today and task.status != LedgerTask.Status.DONE
        )
        for m in task.milestones.all():
            m.overdue = m.done_on is None and m.due_date < today  # type: ignore[attr-defined]
    return tasks


def ledger_task(pk: int) -> LedgerTask:
    task = (
        LedgerTask.objects.select_related("lead")
        .prefetch_related(
            "milestones",
            Prefetch(
                "reports",
                queryset=ProgressReport.objects.select_related("reported_by", "organisation")
                .prefetch_related("attachments")
                .order_by("-reported_at", "-id"),
            ),
        )
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise NotFound("ledger_task_not_found", "台账任务不存在")
    today = timezone.localdate()
    task.overdue = bool(  # type: ignore[attr-defined]
        task.deadline and task.deadline < today and task.status != LedgerTask.Status.DONE
    )
    for m in task.milestones.all():
        m.overdue = m.done_on is None and m.due_date < today  # type: ignore[attr-defined]
    return task


def cards_for(user: Any, *, open_only: bool = True) -> QuerySet[WarningCard]:
    """The warning cards of the organisations the viewer answers for or supervises."""
    scope = home_scope(user)
    cards = WarningCard.objects.filter(scope.org_filter("organisation")).select_related(
        "organisation"
    )
    if open_only:
        cards = cards.filter(resolved_at__isnull=True)
    return cards.order_by("resolved_at", "-colour", "due_date", "id")
