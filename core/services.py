"""State changes of core reference data. Each runs in a transaction and writes an audit row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction

from core.actors import Actor, actor_label
from core.exceptions import ProblemList, RuleViolation
from core.models import AuditEvent, CalendarDay, CalendarYear, Division, Organisation
from core.validators import normalize_uscc


def record_audit(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    summary: str,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row for a change to `obj`. Call it inside the change's transaction."""
    user = actor if isinstance(actor, AbstractBaseUser) else None
    return AuditEvent.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        summary=summary[:500],
        data=data or {},
    )


@dataclass(frozen=True)
class ScheduleDay:
    """One exception to Monday–Friday in an official schedule."""

    date: dt.date
    is_working_day: bool
    name: str = ""


@transaction.atomic
def load_calendar_year(
    year: int,
    days: Iterable[ScheduleDay],
    *,
    source: str,
    actor: Actor,
    province: Division | None = None,
) -> CalendarYear:
    """Load (or replace) the official schedule of `year`: its holidays and 调休 working days.

    Replacing a year removes its previous exceptions for the same scope first, so loading the
    State Council's notice over a provisional (Monday–Friday) year makes it final.
    """
    problems = ProblemList()
    rows = list(days)
    seen: set[dt.date] = set()
    for index, day in enumerate(rows, start=1):
        if day.date.year != year:
            problems.add(f"日期 {day.date} 不属于 {year} 年", row=index, field="date")
        if day.date in seen:
            problems.add(f"日期 {day.date} 重复", row=index, field="date")
        seen.add(day.date)
        if day.is_working_day and day.date.weekday() < 5:
            problems.add(
                f"{day.date} 本是工作日，无需登记为调休上班", row=index, field="is_working_day"
            )
        if not day.is_working_day and day.date.weekday() >= 5:
            problems.add(
                f"{day.date} 本是周末，无需登记为休息日", row=index, field="is_working_day"
            )
    if province is not None and province.level != Division.Level.PROVINCE:
        problems.add("地方调整只能登记在省级区划上", field="province")
    problems.raise_if_any("calendar_invalid", f"{year} 年工作日历数据有误，未作任何修改")

    CalendarDay.objects.filter(date__year=year, province=province).delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(
            date=d.date, province=province, is_working_day=d.is_working_day, name=d.name[:64]
        )
        for d in rows
    )
    calendar_year, _ = CalendarYear.objects.update_or_create(
        year=year, province=province, defaults={"source": source[:200]}
    )
    record_audit(
        actor=actor,
        action="load_calendar_year",
        obj=calendar_year,
        summary=f"载入 {year} 年工作日历（{len(rows)} 个调整日）",
        data={"source": source},
    )
    return calendar_year


# The level a division's code length and its parent's level allow (below the county).
_LOWER_LEVELS = {
    Division.Level.TOWNSHIP: (9, {Division.Level.COUNTY, Division.Level.FUNCTIONAL_ZONE}),
    Division.Level.VILLAGE: (12, {Division.Level.TOWNSHIP}),
}


@transaction.atomic
def save_division(
    *,
    code: str,
    name: str,
    level: str,
    parent: Division | None,
    actor: Actor,
    code_kind: str = Division.CodeKind.STATUTORY,
) -> Division:
    """Create or update a division. A 乡镇/街道 has a 9-digit code that extends its county's
    (or functional zone's), a 村/社区 a 12-digit one extending its township's; both are
    statistical codes (统计用区划代码)."""
    problems = ProblemList()
    try:
        Division._meta.get_field("code").run_validators(code)
    except ValidationError as exc:
        problems.add(exc.messages[0], field="code")
    if level not in Division.Level.values:
        problems.add(f"未知的区划层级：{level}", field="level")
    if level in _LOWER_LEVELS:
        length, parents = _LOWER_LEVELS[Division.Level(level)]
        if len(code) != length:
            problems.add(f"该层级的区划代码应为{length}位", field="code")
        if parent is None or parent.level not in parents or not code.startswith(parent.code):
            problems.add("上级区划不符：代码须以上级区划代码开头", field="parent")
        code_kind = Division.CodeKind.STATISTICAL
    elif len(code) != 6:
        problems.add("县级及以上区划代码应为6位", field="code")
    if not name.strip():
        problems.add("请填写名称", field="name")
    problems.raise_if_any("division_invalid", f"行政区划 {code} 有误")
    division, created = Division.objects.update_or_create(
        code=code,
        defaults={"name": name.strip(), "level": level, "parent": parent, "code_kind": code_kind},
    )
    record_audit(
        actor=actor,
        action="create_division" if created else "update_division",
        obj=division,
        summary=f"{'新增' if created else '更新'}行政区划 {division}",
    )
    return division


@transaction.atomic
def save_organisation(
    *,
    uscc: str,
    name: str,
    division: Division,
    actor: Actor,
    short_name: str = "",
    kind: str = Organisation.Kind.DEPARTMENT,
) -> Organisation:
    """Create or update an organisation identified by its 统一社会信用代码."""
    try:
        code = normalize_uscc(uscc)
    except ValidationError as exc:
        raise RuleViolation(
            exc.code or "uscc_invalid", f"{name}：{exc.messages[0]}（{uscc}）"
        ) from exc
    if kind not in Organisation.Kind.values:
        raise RuleViolation("organisation_kind_unknown", f"未知的机构类型：{kind}")
    org, created = Organisation.objects.update_or_create(
        uscc=code,
        defaults={"name": name, "division": division, "short_name": short_name, "kind": kind},
    )
    record_audit(
        actor=actor,
        action="create_organisation" if created else "update_organisation",
        obj=org,
        summary=f"{'新增' if created else '更新'}部门机构 {name}",
    )
    return org


@transaction.atomic
def record_remote_organisation(
    *,
    uscc: str,
    name: str,
    division_code: str,
    node: str,
    actor: Actor,
    short_name: str = "",
    kind: str = Organisation.Kind.DEPARTMENT,
) -> Organisation:
    """An organisation of another node, as that node described it (with a case it sends,
    or a catalog it shares). Known already: returned, if it is that node's — a node never
    re-assigns another's organisation, nor one of ours. New: checked like our own
    (统一社会信用代码, division, kind) and recorded with its node and an audit row."""
    try:
        code = normalize_uscc(uscc)
    except ValidationError as exc:
        raise RuleViolation(
            exc.code or "uscc_invalid", f"{name}：{exc.messages[0]}（{uscc}）"
        ) from exc
    if not node:
        raise RuleViolation("organisation_node_required", "须指明机构所在节点")
    existing = Organisation.objects.filter(uscc=code).select_related("division").first()
    if existing is not None:
        if existing.node != node:
            raise RuleViolation("organisation_not_of_sender", f"机构 {code} 不属于节点 {node}")
        return existing
    division = Division.objects.filter(code=division_code).first()
    if division is None:
        raise RuleViolation("division_unknown", f"未知的行政区划 {division_code}")
    if kind not in Organisation.Kind.values:
        raise RuleViolation("organisation_kind_unknown", f"未知的机构类型：{kind}")
    org = Organisation.objects.create(
        uscc=code,
        name=name[:128],
        short_name=short_name[:64],
        kind=kind,
        division=division,
        node=node,
    )
    record_audit(
        actor=actor,
        action="record_remote_organisation",
        obj=org,
        summary=f"登记节点 {node} 的机构 {org.name}",
        data={"node": node},
    )
    return org
