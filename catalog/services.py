"""Every state change of the catalog. Each runs in one transaction and writes an audit row.

Publishing is the heart of it: a published item or list version is frozen (the model
refuses edits), so a change is always a new draft version, checked as a whole and then
published with an effective date not earlier than its predecessor's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from catalog.form_schema import parse_form_fields
from catalog.models import (
    Audience,
    Availability,
    ItemList,
    ItemSearchEntry,
    ItemVersion,
    LicenceType,
    ListEntry,
    ListVersion,
    Material,
    Mode,
    PublicationStatus,
    RegionalScheme,
    Scope,
    ServiceItem,
    Theme,
)
from catalog.search import build_document
from core.actors import Actor
from core.exceptions import ProblemList, RuleViolation
from core.models import Division, Organisation
from core.services import record_audit
from core.validators import normalize_uscc

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
    if version.result_licence_type_id:
        _check_face_in_form(version, problems)
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


def _check_face_in_form(version: ItemVersion, problems: ProblemList) -> None:
    """Issuing takes the licence face from the application form by field name: every
    required face field of the result licence type must be a field of the form."""
    licence_type = version.result_licence_type
    assert licence_type is not None
    face = parse_form_fields(licence_type.face_fields, ProblemList())
    form = {f.get("name") for f in version.form_fields or [] if isinstance(f, dict)}
    missing = [f for f in face if f.required and f.name not in form]
    if missing:
        listed = "、".join(f"{f.name}（{f.label}）" for f in missing)
        problems.add(
            f"结果证照“{licence_type.name}”的照面字段 {listed} 在申请表中没有同名字段，"
            "签发时无从取值",
            field="result_licence_type",
        )


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


def refresh_search_entry(item: ServiceItem, *, on: dt.date | None = None) -> None:
    """Rebuild the item's search entry: the document of its latest published version, and
    what ranking and the page need (decision 156): the version in force on `on` (today),
    the item's code and division, and the day a later version takes effect (`stale_on`)."""
    on = on or timezone.localdate()
    published = list(
        item.versions.filter(status=PUBLISHED)
        .select_related("item__organisation", "item__division")
        .prefetch_related("themes")
        .order_by("-effective_from", "-number")
    )
    if not published:
        ItemSearchEntry.objects.filter(item=item).delete()
        return
    in_force = next((v for v in published if v.effective_from <= on), None)
    later = [v.effective_from for v in published if v.effective_from > on]
    latest = published[0]
    ItemSearchEntry.objects.update_or_create(
        item=item,
        defaults={
            "document": build_document(latest),
            "version": in_force,
            "code": item.code,
            "division": latest.item.division.code,
            "stale_on": min(later) if later else None,
        },
    )


def refresh_stale_search_entries(*, on: dt.date | None = None) -> int:
    """Refresh the search entries of items a later published version of which has taken
    effect by `on` (today); the number refreshed. Run by the periodic job."""
    on = on or timezone.localdate()
    items = ServiceItem.objects.filter(search_entry__stale_on__lte=on).select_related("division")
    count = 0
    for item in items:
        with transaction.atomic():
            refresh_search_entry(item, on=on)
        count += 1
    return count


def refresh_search_job() -> str | None:
    """The worker's job (`CatalogConfig.ready()` registers it): bring the search entries
    of items whose new version took effect up to date; one line for the log, if any."""
    count = refresh_stale_search_entries()
    return f"事项检索索引：{count} 个事项的新版本已生效，已更新" if count else None


@transaction.atomic
def draft_item_version(
    item: ServiceItem, *, effective_from: dt.date, actor: Actor, change_note: str = ""
) -> ItemVersion:
    """Start a new draft version of an item as a copy of its latest version. An item cached
    from another node (the regional zone) is its owner's to change, not this node's."""
    if item.organisation.node:
        raise RuleViolation(
            "item_of_other_node",
            f"事项 {item.code} 属于 {item.organisation.node} 节点，只能由该节点修改，本节点同步其目录",
            status=409,
        )
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


# Master data and whole versions (import, API) --------------------------------------------

_LICENCE_TYPE_CODE = re.compile(r"^[0-9A-Z]{18}\d{3}$")
_Coded = TypeVar("_Coded", LicenceType, RegionalScheme, ItemList)


def _save_by_code(
    model: type[_Coded],
    code: str,
    defaults: dict[str, Any],
    *,
    actor: Actor,
    noun: str,
    what: str,
) -> _Coded:
    """Create or update the master-data row keyed by `code`, with its audit row."""
    obj, created = model.objects.update_or_create(code=code, defaults=defaults)
    record_audit(
        actor=actor,
        action=f"{'create' if created else 'update'}_{noun}",
        obj=obj,
        summary=f"{'新增' if created else '更新'}{what}",
    )
    return obj


# The longest validity a licence type may state; longer is 长期 (valid_years empty).
MAX_VALID_YEARS = 100


@transaction.atomic
def save_licence_type(
    *,
    code: str,
    name: str,
    actor: Actor,
    defining_organisation: str = "",
    holder_kind: str = Audience.PERSON,
    issuer_kind: str = "",
    face_fields: Sequence[Mapping[str, Any]] = (),
    valid_years: int | None = None,
    allow_multiple: bool = False,
) -> LicenceType:
    """Create or update a licence type (证照类型). Its code is the national 证照类型代码: the
    defining body's 统一社会信用代码 followed by a 3-digit sequence.

    `face_fields` is the licence face, in order, in the schema of an application form
    (`catalog.form_schema.FormField`); it replaces the stored face as a whole and is
    stored normalised. Issuing takes each face field from the application form field of
    the same name, so the items producing the type must have those fields (publishing
    checks it). `valid_years` empty means 长期有效; `allow_multiple` lets one holder
    hold several valid licences of the type."""
    code = code.strip().upper()
    if not _LICENCE_TYPE_CODE.fullmatch(code):
        raise RuleViolation(
            "licence_type_code_invalid",
            f"证照类型代码 {code} 应为21位：证照定义机构的统一社会信用代码加3位顺序号",
        )
    try:
        normalize_uscc(code[:18])
    except ValidationError as exc:
        raise RuleViolation(
            "licence_type_code_invalid", f"证照类型代码 {code} 的前18位：{exc.messages[0]}"
        ) from exc
    if holder_kind not in Audience.values:
        raise RuleViolation("holder_kind_unknown", f"未知的持证主体：{holder_kind}")
    issuer_limit = LicenceType._meta.get_field("issuer_kind").max_length or 0
    if len(issuer_kind) > issuer_limit:
        raise RuleViolation(
            "licence_type_issuer_kind_too_long", f"颁证机构类别不能超过 {issuer_limit} 个字符"
        )
    if valid_years is not None and not 1 <= valid_years <= MAX_VALID_YEARS:
        raise RuleViolation(
            "licence_type_validity_invalid",
            f"有效期应为 1 至 {MAX_VALID_YEARS} 年（现为 {valid_years}）；长期有效请留空",
        )
    problems = ProblemList()
    fields = parse_form_fields(list(face_fields), problems, prefix="face_fields", noun="照面字段")
    problems.raise_if_any("licence_type_face_invalid", f"证照类型 {code}“{name}”的照面字段定义有误")
    return _save_by_code(
        LicenceType,
        code,
        {
            "name": name,
            "defining_organisation": defining_organisation,
            "holder_kind": holder_kind,
            "issuer_kind": issuer_kind,
            "face_fields": [f.model_dump(mode="json", exclude_defaults=True) for f in fields],
            "valid_years": valid_years,
            "allow_multiple": allow_multiple,
        },
        actor=actor,
        noun="licence_type",
        what=f"证照类型 {code}“{name}”",
    )


@transaction.atomic
def save_regional_scheme(
    *,
    code: str,
    name: str,
    members: Iterable[Division],
    actor: Actor,
    signed_at: dt.date | None = None,
    description: str = "",
) -> RegionalScheme:
    """Create or update a regional cooperation scheme (区域协作机制) and its member divisions."""
    member_list = list(members)
    if not member_list:
        raise RuleViolation("scheme_without_members", f"区域协作机制“{name}”至少应有一个成员区划")
    scheme = _save_by_code(
        RegionalScheme,
        code,
        {"name": name, "signed_at": signed_at, "description": description},
        actor=actor,
        noun="regional_scheme",
        what=f"区域协作机制“{name}”（成员 {'、'.join(d.code for d in member_list)}）",
    )
    scheme.members.set(member_list)
    return scheme


@transaction.atomic
def save_item_list(
    *,
    code: str,
    name: str,
    scope: str,
    actor: Actor,
    scheme: RegionalScheme | None = None,
    description: str = "",
) -> ItemList:
    """Create or update a list (事项清单). Its scope and scheme are fixed once a version of
    it is published, since the published versions were checked against them."""
    if scope not in Scope.values:
        raise RuleViolation("scope_unknown", f"未知的通办范围：{scope}")
    if scope == Scope.REGIONAL and scheme is None:
        raise RuleViolation("list_scheme_missing", f"区域通办清单“{name}”须指明区域协作机制")
    if scope != Scope.REGIONAL and scheme is not None:
        raise RuleViolation("list_scheme_unexpected", "只有区域通办清单可以指明区域协作机制")
    item_list = ItemList.objects.filter(code=code).first()
    if (
        item_list is not None
        and (item_list.scope, item_list.scheme_id) != (scope, scheme.pk if scheme else None)
        and item_list.versions.filter(status=PUBLISHED).exists()
    ):
        raise RuleViolation(
            "list_scope_frozen",
            f"清单“{item_list.name}”已有发布版本，通办范围和区域协作机制不可更改",
        )
    return _save_by_code(
        ItemList,
        code,
        {"name": name, "scope": scope, "scheme": scheme, "description": description},
        actor=actor,
        noun="item_list",
        what=f"事项清单“{name}”",
    )


@transaction.atomic
def save_service_item(
    *,
    basic_code: str,
    implementation_code: str,
    organisation: Organisation,
    division: Division,
    actor: Actor,
    handling_code: str = "",
) -> ServiceItem:
    """Create or update an item (实施清单 row), keyed by its 业务办理项编码 or 实施编码.

    Once a version is published the codes, the implementing organisation and the division
    are fixed: cases pinned to that version are handled by them."""
    code = handling_code or implementation_code
    item = ServiceItem.objects.filter(code=code).first()
    wanted = (basic_code, implementation_code, handling_code, organisation.pk, division.pk)
    if item is not None:
        current = (
            item.basic_code,
            item.implementation_code,
            item.handling_code,
            item.organisation_id,
            item.division_id,
        )
        if current == wanted:
            return item
        if item.versions.filter(status=PUBLISHED).exists():
            raise RuleViolation(
                "item_frozen",
                f"事项 {code} 已有发布版本，编码、实施主体和所属区划不可更改",
            )
    created = item is None
    item = item or ServiceItem()
    item.basic_code, item.implementation_code, item.handling_code = wanted[:3]
    item.organisation, item.division = organisation, division
    item.save()
    record_audit(
        actor=actor,
        action="create_service_item" if created else "update_service_item",
        obj=item,
        summary=f"{'新增' if created else '更新'}事项 {code}（实施主体 {organisation.name}）",
    )
    return item


@dataclass(frozen=True)
class MaterialData:
    """A material of a version being created (see `Material`)."""

    name: str
    necessity: str
    source_type: str
    originals: int = 0
    copies: int = 0
    form: str = Material.Form.BOTH
    licence_type: LicenceType | None = None
    notes: str = ""
    commitment_allowed: bool = False
    code: str = ""


@dataclass(frozen=True)
class AvailabilityData:
    """A scope and mode a version being created is offered in (see `Availability`)."""

    scope: str
    mode: str
    scheme: RegionalScheme | None = None
    divisions: tuple[Division, ...] = ()


@transaction.atomic
def create_item_version(
    item: ServiceItem,
    *,
    number: int,
    effective_from: dt.date,
    guide: Mapping[str, Any],
    themes: Iterable[Theme],
    materials: Sequence[MaterialData],
    availabilities: Sequence[AvailabilityData],
    actor: Actor,
    change_note: str = "",
) -> ItemVersion:
    """Create a draft version of `item` with the given number and its whole content: the
    guide fields of `ItemVersion` (`guide`), themes, materials and availabilities.

    Unlike `draft_item_version` it copies nothing; an import or a department system states
    the version in full. Publish it with `publish_item_version`."""
    if item.versions.filter(number=number).exists():
        raise RuleViolation(
            "version_number_taken", f"事项 {item.code} 已有第 {number} 版", status=409
        )
    if item.versions.filter(status=PublicationStatus.DRAFT).exists():
        raise RuleViolation("draft_exists", f"事项 {item.code} 已有未发布的草稿版本", status=409)
    problems = ProblemList()
    names = [m.name for m in materials]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.add(f"材料“{name}”重复", field=f"materials[{index}]")
    pairs = [(a.scope, a.mode) for a in availabilities]
    for index, avail in enumerate(availabilities):
        if (avail.scope, avail.mode) in pairs[:index]:
            problems.add("同一通办范围和业务模式只能登记一次", field=f"availabilities[{index}]")
        if avail.scope == Scope.REGIONAL and avail.scheme is None:
            problems.add("区域通办须指明区域协作机制", field=f"availabilities[{index}]")
        if avail.scope != Scope.REGIONAL and avail.scheme is not None:
            problems.add("只有区域通办可以指明区域协作机制", field=f"availabilities[{index}]")
    problems.raise_if_any("item_version_invalid", f"事项 {item.code} 第 {number} 版有误")
    version = ItemVersion.objects.create(
        item=item,
        number=number,
        effective_from=effective_from,
        change_note=change_note,
        status=PublicationStatus.DRAFT,
        **guide,
    )
    version.themes.set(list(themes))
    Material.objects.bulk_create(
        Material(version=version, position=position, **vars(m))
        for position, m in enumerate(materials, start=1)
    )
    for avail in availabilities:
        created = Availability.objects.create(
            version=version, scope=avail.scope, mode=avail.mode, scheme=avail.scheme
        )
        created.divisions.set(avail.divisions)
    record_audit(
        actor=actor,
        action="create_item_version",
        obj=version,
        summary=f"新建事项 {item.code}“{version.name}”第 {number} 版草稿",
    )
    return version


@dataclass(frozen=True)
class EntryData:
    """An entry of a list version being created (see `ListEntry`)."""

    item: ServiceItem
    modes: tuple[str, ...]
    note: str = ""


@transaction.atomic
def create_list_version(
    item_list: ItemList,
    *,
    number: int,
    effective_from: dt.date,
    entries: Sequence[EntryData],
    actor: Actor,
    change_note: str = "",
) -> ListVersion:
    """Create a draft version of a list with the given number and entries, in order.
    Publish it with `publish_list_version`, which checks and pins the entries."""
    if item_list.versions.filter(number=number).exists():
        raise RuleViolation(
            "version_number_taken", f"清单“{item_list.name}”已有第 {number} 版", status=409
        )
    if item_list.versions.filter(status=PublicationStatus.DRAFT).exists():
        raise RuleViolation(
            "draft_exists", f"清单“{item_list.name}”已有未发布的草稿版本", status=409
        )
    problems = ProblemList()
    seen: set[int] = set()
    for entry in entries:
        if entry.item.pk in seen:
            problems.add("同一事项在清单中只能出现一次", field=f"entries[{entry.item.code}]")
        seen.add(entry.item.pk)
    problems.raise_if_any("list_version_invalid", f"清单“{item_list.name}”第 {number} 版有误")
    version = ListVersion.objects.create(
        item_list=item_list, number=number, effective_from=effective_from, change_note=change_note
    )
    ListEntry.objects.bulk_create(
        ListEntry(
            list_version=version,
            item=entry.item,
            modes=list(entry.modes),
            position=position,
            note=entry.note,
        )
        for position, entry in enumerate(entries, start=1)
    )
    record_audit(
        actor=actor,
        action="create_list_version",
        obj=version,
        summary=f"新建清单“{item_list.name}”第 {number} 版草稿",
    )
    return version
