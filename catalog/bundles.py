"""一件事一次办 bundles in the catalog: their versions, the checks before publishing, and the
rules every entry of a bundle application asks (which steps apply to an answer, what each
item's form receives, which materials are asked once and which come from an earlier step).

A bundle version is published like a list version: checked as a whole, its steps' item
versions pinned, then frozen. The cases app (cases/bundles.py) opens one case per step
that applies; nothing here knows about cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from catalog.form_schema import APPLICANT_FIELDS, FieldType, FormField, parse_form_fields
from catalog.models import (
    Audience,
    Bundle,
    BundleStep,
    BundleVersion,
    ItemVersion,
    LicenceType,
    Material,
    PublicationStatus,
    ServiceItem,
)
from catalog.offers import CHANNEL_NEEDS
from core.actors import Actor
from core.exceptions import ProblemList, RuleViolation
from core.services import record_audit

PUBLISHED = PublicationStatus.PUBLISHED
MIN_STEPS = 2


# Master data and versions ----------------------------------------------------------------


@transaction.atomic
def save_bundle(
    *, code: str, name: str, audience: str, description: str = "", actor: Actor
) -> Bundle:
    """Create or update a bundle's name and audience (its rules are on its versions)."""
    if audience not in Audience.values:
        raise RuleViolation("unknown_audience", f"服务对象 {audience} 无效", field="audience")
    if not name.strip():
        raise RuleViolation("bundle_name_required", "请填写一件事的名称", field="name")
    bundle, created = Bundle.objects.update_or_create(
        code=code, defaults={"name": name.strip(), "audience": audience, "description": description}
    )
    record_audit(
        actor=actor,
        action="create_bundle" if created else "update_bundle",
        obj=bundle,
        summary=f"{'新增' if created else '更新'}一件事“{bundle.name}”",
    )
    return bundle


@dataclass(frozen=True)
class StepData:
    """A step of a bundle version being created (see `BundleStep`)."""

    order: int
    item: ServiceItem
    condition: Mapping[str, Any] = field(default_factory=dict)
    field_map: Mapping[str, str] = field(default_factory=dict)


@transaction.atomic
def create_bundle_version(
    bundle: Bundle,
    *,
    number: int,
    effective_from: dt.date,
    form_fields: list[dict[str, Any]],
    steps: Sequence[StepData],
    actor: Actor,
    change_note: str = "",
) -> BundleVersion:
    """Create a draft version of `bundle` with its merged form and steps, in order.
    Publish it with `publish_bundle_version`, which checks it whole and pins the items."""
    if bundle.versions.filter(number=number).exists():
        raise RuleViolation(
            "version_number_taken", f"一件事“{bundle.name}”已有第 {number} 版", status=409
        )
    if bundle.versions.filter(status=PublicationStatus.DRAFT).exists():
        raise RuleViolation(
            "draft_exists", f"一件事“{bundle.name}”已有未发布的草稿版本", status=409
        )
    version = BundleVersion.objects.create(
        bundle=bundle,
        number=number,
        effective_from=effective_from,
        change_note=change_note,
        form_fields=list(form_fields),
    )
    BundleStep.objects.bulk_create(
        BundleStep(
            version=version,
            order=step.order,
            item=step.item,
            condition=dict(step.condition),
            field_map=dict(step.field_map),
            position=position,
        )
        for position, step in enumerate(steps, start=1)
    )
    record_audit(
        actor=actor,
        action="create_bundle_version",
        obj=version,
        summary=f"新建一件事“{bundle.name}”第 {number} 版草稿",
    )
    return version


@transaction.atomic
def draft_bundle_version(
    bundle: Bundle, *, effective_from: dt.date, actor: Actor, change_note: str = ""
) -> BundleVersion:
    """Start a new draft version of a bundle as a copy of its latest version."""
    source = bundle.versions.order_by("-number").first()
    if source is None:
        raise RuleViolation("bundle_has_no_version", f"一件事“{bundle.name}”还没有任何版本")
    number = (bundle.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return create_bundle_version(
        bundle,
        number=number,
        effective_from=effective_from,
        form_fields=list(source.form_fields),
        steps=[
            StepData(order=s.order, item=s.item, condition=s.condition, field_map=s.field_map)
            for s in source.steps.select_related("item")
        ],
        actor=actor,
        change_note=change_note,
    )


def _version_in_force(item: ServiceItem, on: dt.date) -> ItemVersion | None:
    return (
        item.versions.filter(status=PUBLISHED, effective_from__lte=on)
        .order_by("-effective_from", "-number")
        .first()
    )


def check_bundle_version(version: BundleVersion) -> ProblemList:
    """Everything that must hold before a bundle version is published: a change note; a
    valid merged form; at least two steps, each an item with a published version in force
    on the effective date, for the bundle's audience, applied for online; conditions on
    choice fields of the merged form with values among their choices; every required field
    of each item's form answered through the map (the applicant's own fields are filled
    from their record); no item that could apply twice for one answer."""
    problems = ProblemList()
    bundle = version.bundle
    if not version.change_note.strip():
        problems.add("请填写变更说明（更新日志）", field="change_note")
    fields = {f.name: f for f in parse_form_fields(version.form_fields, problems)}
    steps = list(version.steps.select_related("item"))
    if len(steps) < MIN_STEPS:
        problems.add(f"一件事至少应包含 {MIN_STEPS} 个事项", field="steps")
    used: set[str] = set()
    for step in steps:
        where = f"steps[{step.position}]"
        used |= set(step.field_map) | {str(step.condition.get("field", ""))}
        _check_condition(step, fields, problems, where)
        in_force = _version_in_force(step.item, version.effective_from)
        if in_force is None:
            problems.add(
                f"事项 {step.item.code} 在 {version.effective_from} 没有生效的版本", field=where
            )
            continue
        if bundle.audience != Audience.BOTH and not Audience.serves(
            in_force.audience, bundle.audience
        ):
            problems.add(
                f"事项“{in_force.name}”的服务对象为{in_force.get_audience_display()}，"
                f"与一件事的服务对象不符",
                field=where,
            )
        online, _ = CHANNEL_NEEDS["online"]
        if not online & set(in_force.application_channels or []):
            problems.add(f"事项“{in_force.name}”不能网上申请", field=where)
        _check_field_map(step, in_force, fields, problems, where)
    for index, step in enumerate(steps):
        for other in steps[:index]:
            if other.item_id == step.item_id and _surely_overlap(other.condition, step.condition):
                problems.add(
                    f"事项 {step.item.code} 在同一份答复下会适用两次"
                    f"（第 {other.position} 项和第 {step.position} 项的适用条件有重叠）",
                    field=f"steps[{step.position}]",
                )
    for name in fields:
        if name not in used:
            problems.add(f"合并申请表字段 {name} 未被任何事项使用", field=f"form_fields.{name}")
    return problems


def _check_condition(
    step: BundleStep, fields: dict[str, FormField], problems: ProblemList, where: str
) -> None:
    condition = step.condition or {}
    if not condition:
        return
    name, values = condition.get("field"), condition.get("values")
    if set(condition) != {"field", "values"} or not isinstance(values, list) or not values:
        problems.add("适用条件应为 {field: 字段名, values: [取值…]}", field=f"{where}.condition")
        return
    spec = fields.get(str(name))
    if spec is None or spec.type != FieldType.CHOICE:
        problems.add(f"适用条件须引用合并申请表的选项字段（{name}）", field=f"{where}.condition")
        return
    unknown = [str(v) for v in values if v not in spec.choices]
    if unknown:
        problems.add(
            f"适用条件的取值 {'、'.join(unknown)} 不是“{spec.label}”的选项",
            field=f"{where}.condition",
        )


def _check_field_map(
    step: BundleStep,
    in_force: ItemVersion,
    fields: dict[str, FormField],
    problems: ProblemList,
    where: str,
) -> None:
    item_fields = {f.name: f for f in parse_form_fields(in_force.form_fields, ProblemList())}
    targets: list[str] = []
    for source, target in (step.field_map or {}).items():
        if source not in fields:
            problems.add(f"合并申请表中没有字段 {source}", field=f"{where}.field_map.{source}")
        if target not in item_fields:
            problems.add(
                f"事项“{in_force.name}”的申请表中没有字段 {target}",
                field=f"{where}.field_map.{source}",
            )
        elif source in fields and fields[source].type != item_fields[target].type:
            problems.add(
                f"字段 {source} 与事项字段 {target} 的类型不同", field=f"{where}.field_map.{source}"
            )
        if target in targets:
            problems.add(f"事项字段 {target} 被对应了两次", field=f"{where}.field_map.{source}")
        targets.append(target)
    own = set(APPLICANT_FIELDS["person"]) | set(APPLICANT_FIELDS["company"])
    for name, spec in item_fields.items():
        if spec.required and name not in own and name not in targets:
            problems.add(
                f"事项“{in_force.name}”的必填字段“{spec.label}”（{name}）未对应合并申请表字段",
                field=f"{where}.field_map",
            )


def _surely_overlap(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether every answer satisfying one condition may satisfy the other as provable
    without the answers: either is unconditional, or both test the same field with a
    shared value. Conditions on different fields pass here; the answer that makes both
    apply is refused when applying (`applicable_steps`)."""
    if not first or not second:
        return True
    if first.get("field") != second.get("field"):
        return False
    return bool(set(first.get("values") or []) & set(second.get("values") or []))


@transaction.atomic
def publish_bundle_version(version: BundleVersion, *, actor: Actor) -> BundleVersion:
    """Publish a draft bundle version: check it, pin each step's item version, freeze it."""
    version = BundleVersion.objects.select_for_update().select_related("bundle").get(pk=version.pk)
    if version.status == PUBLISHED:
        raise RuleViolation("version_published", f"{version} 已发布，不可重复发布", status=409)
    check_bundle_version(version).raise_if_any(
        "bundle_version_invalid", f"一件事“{version.bundle.name}”第 {version.number} 版有误，未发布"
    )
    previous = version.bundle.versions.filter(status=PUBLISHED).order_by("-effective_from").first()
    if previous and version.effective_from < previous.effective_from:
        raise RuleViolation(
            "version_effective_before_predecessor",
            f"一件事“{version.bundle.name}”第 {version.number} 版的生效日期早于已发布的"
            f"第 {previous.number} 版（{previous.effective_from}）",
        )
    for step in version.steps.select_related("item"):
        step.item_version = _version_in_force(step.item, version.effective_from)
        step.save(update_fields=["item_version"])
    version.status = PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    record_audit(
        actor=actor,
        action="publish_bundle_version",
        obj=version,
        summary=f"发布一件事“{version.bundle.name}”第 {version.number} 版，"
        f"{version.effective_from} 起生效：{version.change_note}",
    )
    return version


# Reads -----------------------------------------------------------------------------------


def steps_prefetch() -> Prefetch:
    """The steps of bundle versions with what the pages and API show of them."""
    return Prefetch(
        "steps",
        queryset=BundleStep.objects.select_related(
            "item__organisation",
            "item_version__result_licence_type",
        ).prefetch_related(
            Prefetch(
                "item_version__materials",
                queryset=Material.objects.select_related("licence_type"),
            )
        ),
    )


def current_bundle_versions(*, on: dt.date | None = None) -> list[BundleVersion]:
    """The version in force of every bundle that has one, by bundle code; a fixed number
    of queries."""
    on = on or timezone.localdate()
    versions = (
        BundleVersion.objects.filter(status=PUBLISHED, effective_from__lte=on)
        .select_related("bundle")
        .order_by("bundle__code", "-effective_from", "-number")
    )
    latest: dict[int, BundleVersion] = {}
    for version in versions:
        latest.setdefault(version.bundle_id, version)
    chosen = [v.pk for v in latest.values()]
    return list(
        BundleVersion.objects.filter(pk__in=chosen)
        .select_related("bundle")
        .prefetch_related(steps_prefetch())
        .order_by("bundle__code")
    )


def current_bundle_version(code: str, *, on: dt.date | None = None) -> BundleVersion:
    """The version in force of bundle `code`; `bundle_not_found` (404) if none."""
    on = on or timezone.localdate()
    version = (
        BundleVersion.objects.filter(bundle__code=code, status=PUBLISHED, effective_from__lte=on)
        .select_related("bundle")
        .prefetch_related(steps_prefetch())
        .order_by("-effective_from", "-number")
        .first()
    )
    if version is None:
        raise RuleViolation("bundle_not_found", f"一件事 {code} 不存在或未发布", status=404)
    return version


def published_bundle_versions(code: str) -> list[BundleVersion]:
    """Every published version of bundle `code`, newest first."""
    return list(
        BundleVersion.objects.filter(bundle__code=code, status=PUBLISHED)
        .select_related("bundle")
        .order_by("-number")
    )


def form_of(version: BundleVersion) -> list[FormField]:
    """The merged form of a published bundle version."""
    return parse_form_fields(version.form_fields, ProblemList())


# The rules of a bundle application (asked by cases/bundles.py) ---------------------------


def applicable_steps(version: BundleVersion, answers: Mapping[str, Any]) -> list[BundleStep]:
    """The steps that apply to `answers` of the merged form, in order. Refused
    (`bundle_item_twice`) when the answers make one item apply twice; nothing applies
    (`bundle_nothing_applies`) is refused too."""
    steps = [s for s in version.steps.all() if _applies(s.condition, answers)]
    seen: dict[int, BundleStep] = {}
    for step in steps:
        if step.item_id in seen:
            raise RuleViolation(
                "bundle_item_twice",
                f"按所填答复，事项“{step.item_version.name if step.item_version else step.item}”"
                f"会被申请两次（第 {seen[step.item_id].position} 项和第 {step.position} 项），"
                "请检查答复",
                field=str(step.condition.get("field", "")) or None,
            )
        seen[step.item_id] = step
    if not steps:
        raise RuleViolation("bundle_nothing_applies", "按所填答复，本一件事没有需要办理的事项")
    return steps


def _applies(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    return answers.get(str(condition.get("field"))) in (condition.get("values") or [])


def item_answers(step: BundleStep, answers: Mapping[str, Any]) -> dict[str, Any]:
    """What the step's item form receives: each mapped answer under the item's own name."""
    return {
        target: answers[source]
        for source, target in (step.field_map or {}).items()
        if source in answers and answers[source] not in (None, "")
    }


@dataclass
class BundleMaterial:
    """A material asked once for several steps: the same licence type, or else the same
    name; `produced_by` is the earlier step whose result is that licence (passed forward,
    not asked)."""

    key: str
    name: str
    required: bool
    licence_type: LicenceType | None
    requirements: list[tuple[BundleStep, Material]]
    produced_by: BundleStep | None = None

    @property
    def item_names(self) -> list[str]:
        return [s.item_version.name for s, _ in self.requirements if s.item_version]


def material_key(material: Material) -> str:
    if material.licence_type_id is not None:
        return f"licence:{material.licence_type.code}"  # type: ignore[union-attr]
    return f"name:{material.name}"


def bundle_materials(steps: Sequence[BundleStep]) -> list[BundleMaterial]:
    """The materials of `steps` (pinned item versions, prefetched), each once, in order of
    first appearance; one whose licence type an earlier-order step issues is marked
    `produced_by` that step."""
    merged: dict[str, BundleMaterial] = {}
    for step in steps:
        assert step.item_version is not None
        for material in step.item_version.materials.all():
            key = material_key(material)
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = BundleMaterial(
                    key=key,
                    name=material.name,
                    required=False,
                    licence_type=material.licence_type,
                    requirements=[],
                )
                entry.produced_by = producer_of(material, step, steps)
            entry.requirements.append((step, material))
            # 容缺 is a commitment of one case: a bundle asks for 容缺后补 materials up front.
            entry.required |= material.necessity != Material.Necessity.OPTIONAL
    return list(merged.values())


def producer_of(
    material: Material, step: BundleStep, steps: Sequence[BundleStep]
) -> BundleStep | None:
    """The earlier-order step among `steps` whose result is the licence `material` accepts."""
    if material.licence_type_id is None:
        return None
    for earlier in steps:
        if earlier.order >= step.order or earlier.item_version is None:
            continue
        if earlier.item_version.result_licence_type_id == material.licence_type_id:
            return earlier
    return None
