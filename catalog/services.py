"""Every state change of the catalog. Each runs in one transaction and writes an audit row.

Publishing is the heart of it: a published item or list version is frozen (the model
refuses edits), so a change is always a new draft version, checked as a whole and then
published with an effective date not earlier than its predecessor's.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from catalog.form_schema import parse_form_fields
from catalog.models import (
    ItemList,
    ItemSearchEntry,
    ItemVersion,
    ListEntry,
    ListVersion,
    Mode,
    PublicationStatus,
    Scope,
    ServiceItem,
)
from catalog.search import build_document
from core.exceptions import ProblemList, RuleViolation
from core.services import Actor, record_audit

PUBLISHED = PublicationStatus.PUBLISHED
CHANNELS = {
    "online": "网上办理",
    "window": "窗口办理",
    "post": "邮寄申请",
    "mobile": "移动端办理",
    "self_service": "自助终端",
}
DELIVERY = {"electronic": "电子证照", "window": "窗口领取", "post": "邮寄送达"}


def check_item_version(version: ItemVersion) -> ProblemList:
    """Everything that must hold before a version can be published (the guide complete and
    coherent). Returns the problems; publishing raises them."""
    problems = ProblemList()
    if not version.name.strip():
        problems.add("事项名称不能为空", field="name")
    if not version.conditions.strip():
        problems.add("申请条件不能为空", field="conditions")
    if not version.legal_basis.strip():
        problems.add("设定依据不能为空", field="legal_basis")
    _check_choices(
        problems, version.application_channels, CHANNELS, "application_channels", "申报方式"
    )
    _check_choices(problems, version.result_delivery, DELIVERY, "result_delivery", "发证方式")
    steps = version.procedure_steps
    if (
        not isinstance(steps, list)
        or not steps
        or not all(isinstance(s, dict) and str(s.get("name", "")).strip() for s in steps)
    ):
        problems.add("审核程序应列出至少一个环节，每个环节须有名称", field="procedure_steps")
    if (
        version.legal_limit is not None
        and version.legal_limit_unit == version.promised_limit_unit
        and version.promised_limit > version.legal_limit
    ):
        problems.add(
            f"承诺办结时限（{version.promised_limit}）不能超过法定办结时限"
            f"（{version.legal_limit}）",
            field="promised_limit",
        )
    if (
        version.acceptance_mode == ItemVersion.AcceptanceMode.ON_THE_SPOT
        and version.promised_limit != 0
    ):
        problems.add("即办件的承诺办结时限应为 0", field="promised_limit")
    if version.result_type == ItemVersion.ResultType.LICENCE and not version.result_licence_type_id:
        problems.add("办理结果为证照时须指明证照类型", field="result_licence_type")
    for index, proc in enumerate(version.special_procedures or []):
        if not (
            isinstance(proc, dict)
            and str(proc.get("name", "")).strip()
            and isinstance(proc.get("limit"), int)
            and proc["limit"] > 0
        ):
            problems.add("特别程序须有名称和正整数时限", field=f"special_procedures[{index}]")
    if version.fee_charged:
        if not version.fees:
            problems.add("收费事项须列出收费标准", field="fees")
        for index, fee in enumerate(version.fees or []):
            if not (
                isinstance(fee, dict)
                and fee.get("name")
                and fee.get("basis")
                and fee.get("amount") not in (None, "")
            ):
                problems.add("收费项须有名称、金额和收费依据", field=f"fees[{index}]")
    elif version.fees:
        problems.add("不收费的事项不应列出收费项", field="fees")
    parse_form_fields(version.form_fields, problems)
    if version.pk:
        if not version.materials.exists():
            problems.add("至少应列出一项申请材料", field="materials")
        _check_availabilities(version, problems)
    return problems


def _check_choices(
    problems: ProblemList, values: object, allowed: dict[str, str], field: str, label: str
) -> None:
    if not isinstance(values, list) or not values:
        problems.add(f"{label}不能为空", field=field)
        return
    for value in values:
        if value not in allowed:
            problems.add(f"未知的{label}：{value}（可选：{'、'.join(allowed)}）", field=field)


def _check_availabilities(version: ItemVersion, problems: ProblemList) -> None:
    for avail in version.availabilities.select_related("scheme").prefetch_related("divisions"):
        if avail.scope == Scope.REGIONAL:
            if avail.scheme is None:
                problems.add("区域通办须指明区域协作机制", field="availability")
                continue
            members = {d.code[:2] for d in avail.scheme.members.all()}
            outside = [d.code for d in avail.divisions.all() if d.code[:2] not in members]
            if outside:
                problems.add(
                    f"覆盖区划 {'、'.join(outside)} 不在 {avail.scheme.name} 成员内",
                    field="availability",
                )
        if avail.scope == Scope.IN_PROVINCE:
            home = version.item.division.code[:2]
            outside = [d.code for d in avail.divisions.all() if d.code[:2] != home]
            if outside:
                problems.add(
                    f"省内通办的覆盖区划 {'、'.join(outside)} 不在本省", field="availability"
                )


def _check_succession(
    model: type[ItemVersion] | type[ListVersion],
    owner: dict[str, object],
    version: ItemVersion | ListVersion,
    what: str,
) -> None:
    previous = (
        model.objects.filter(status=PUBLISHED, **owner)  # type: ignore[attr-defined]
        .exclude(pk=version.pk)
        .order_by("-effective_from")
        .first()
    )
    if previous and version.effective_from < previous.effective_from:
        raise RuleViolation(
            "version_effective_before_predecessor",
            f"{what}第 {version.number} 版的生效日期 {version.effective_from} 早于已发布的"
            f"第 {previous.number} 版（{previous.effective_from}）",
        )


@transaction.atomic
def publish_item_version(version: ItemVersion, *, actor: Actor) -> ItemVersion:
    """Publish a draft item version after checking its whole guide; refresh search."""
    version = ItemVersion.objects.select_for_update().select_related("item").get(pk=version.pk)
    if version.status == PUBLISHED:
        raise RuleViolation("version_published", f"{version} 已发布，不可重复发布", status=409)
    check_item_version(version).raise_if_any(
        "item_version_invalid", f"事项“{version.name}”第 {version.number} 版不完整，未发布"
    )
    _check_succession(ItemVersion, {"item": version.item}, version, f"事项“{version.name}”")
    version.status = PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    refresh_search_entry(version.item)
    record_audit(
        actor=actor,
        action="publish_item_version",
        obj=version,
        summary=f"发布事项 {version.item.code}“{version.name}”第 {version.number} 版，"
        f"{version.effective_from} 起生效",
    )
    return version


def refresh_search_entry(item: ServiceItem) -> None:
    """Rebuild the item's search document from its latest published version."""
    version = (
        item.versions.filter(status=PUBLISHED)
        .select_related("item__organisation")
        .prefetch_related("themes")
        .order_by("-effective_from", "-number")
        .first()
    )
    if version is None:
        ItemSearchEntry.objects.filter(item=item).delete()
        return
    ItemSearchEntry.objects.update_or_create(
        item=item, defaults={"document": build_document(version)}
    )


@transaction.atomic
def draft_item_version(
    item: ServiceItem, *, effective_from: dt.date, actor: Actor, change_note: str = ""
) -> ItemVersion:
    """Start a new draft version of an item as a copy of its latest version."""
    source = item.versions.order_by("-number").first()
    if source is None:
        raise RuleViolation("item_has_no_version", f"事项 {item.code} 还没有任何版本")
    if item.versions.filter(status=PublicationStatus.DRAFT).exists():
        raise RuleViolation("draft_exists", f"事项 {item.code} 已有未发布的草稿版本", status=409)
    themes = list(source.themes.all())
    materials = list(source.materials.all())
    availabilities = [(a, list(a.divisions.all())) for a in source.availabilities.all()]
    number = (item.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = ItemVersion.objects.get(pk=source.pk)
    draft.pk = None
    draft._state.adding = True
    draft.number, draft.status, draft.published_at = number, PublicationStatus.DRAFT, None
    draft.effective_from, draft.change_note = effective_from, change_note
    draft.save()
    draft.themes.set(themes)
    for material in materials:
        material.pk, material.version = None, draft
        material._state.adding = True
        material.save()
    for avail, divisions in availabilities:
        avail.pk, avail.version = None, draft
        avail._state.adding = True
        avail.save()
        avail.divisions.set(divisions)
    record_audit(
        actor=actor,
        action="draft_item_version",
        obj=draft,
        summary=f"新建事项 {item.code} 第 {number} 版草稿",
    )
    return draft


# Lists -----------------------------------------------------------------------------------


def check_list_version(version: ListVersion) -> ProblemList:
    """Every entry must name an item with a published version in force on the list's
    effective date, offered in the list's scope in each mode the entry names."""
    problems = ProblemList()
    item_list = version.item_list
    if not version.change_note.strip():
        problems.add("请填写变更说明（更新日志）", field="change_note")
    entries = list(version.entries.select_related("item"))
    if not entries:
        problems.add("清单至少应包含一个事项", field="entries")
    for entry in entries:
        in_force = _version_in_force(entry.item, version.effective_from)
        where = f"entries[{entry.item.code}]"
        if in_force is None:
            problems.add(
                f"事项 {entry.item.code} 在 {version.effective_from} 没有生效的版本", field=where
            )
            continue
        offered = {
            a.mode
            for a in in_force.availabilities.all()
            if a.scope == item_list.scope
            and (item_list.scheme_id is None or a.scheme_id == item_list.scheme_id)
        }
        if not offered:
            problems.add(
                f"事项 {entry.item.code}“{in_force.name}”未开通{Scope(item_list.scope).label}",
                field=where,
            )
            continue
        modes = entry.modes or []
        unknown = [m for m in modes if m not in Mode.values]
        if unknown or not modes:
            problems.add(
                f"事项 {entry.item.code} 的业务模式无效：{'、'.join(unknown) or '空'}", field=where
            )
        elif not set(modes) <= offered:
            missing = "、".join(Mode(m).label for m in modes if m not in offered)
            problems.add(f"事项 {entry.item.code} 未开通 {missing}", field=where)
    return problems


def _version_in_force(item: ServiceItem, on: dt.date) -> ItemVersion | None:
    return (
        item.versions.filter(status=PUBLISHED, effective_from__lte=on)
        .prefetch_related("availabilities")
        .order_by("-effective_from", "-number")
        .first()
    )


@transaction.atomic
def publish_list_version(version: ListVersion, *, actor: Actor) -> ListVersion:
    """Publish a draft list version: check it, pin each entry's item version, freeze it."""
    version = ListVersion.objects.select_for_update().select_related("item_list").get(pk=version.pk)
    if version.status == PUBLISHED:
        raise RuleViolation("version_published", f"{version} 已发布，不可重复发布", status=409)
    check_list_version(version).raise_if_any(
        "list_version_invalid", f"清单“{version.item_list.name}”第 {version.number} 版有误，未发布"
    )
    _check_succession(
        ListVersion, {"item_list": version.item_list}, version, f"清单“{version.item_list.name}”"
    )
    for entry in version.entries.select_related("item"):
        entry.item_version = _version_in_force(entry.item, version.effective_from)
        entry.save(update_fields=["item_version"])
    version.status = PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    record_audit(
        actor=actor,
        action="publish_list_version",
        obj=version,
        summary=f"发布清单“{version.item_list.name}”第 {version.number} 版，"
        f"{version.effective_from} 起生效：{version.change_note}",
    )
    return version


@transaction.atomic
def draft_list_version(
    item_list: ItemList, *, effective_from: dt.date, actor: Actor, change_note: str = ""
) -> ListVersion:
    """Start a new draft version of a list with the entries of its latest version."""
    if item_list.versions.filter(status=PublicationStatus.DRAFT).exists():
        raise RuleViolation(
            "draft_exists", f"清单“{item_list.name}”已有未发布的草稿版本", status=409
        )
    source = item_list.versions.order_by("-number").first()
    number = (source.number if source else 0) + 1
    draft = ListVersion.objects.create(
        item_list=item_list, number=number, effective_from=effective_from, change_note=change_note
    )
    if source is not None:
        ListEntry.objects.bulk_create(
            ListEntry(
                list_version=draft,
                item_id=e.item_id,
                modes=list(e.modes),
                position=e.position,
                note=e.note,
            )
            for e in source.entries.all()
        )
    record_audit(
        actor=actor,
        action="draft_list_version",
        obj=draft,
        summary=f"新建清单“{item_list.name}”第 {number} 版草稿",
    )
    return draft
