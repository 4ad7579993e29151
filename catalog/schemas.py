"""Shapes of the catalog's JSON API: items and their versions (the full 办事指南), lists,
their versions and diffs.

Choice fields carry the stable code and its Chinese label side by side (`scope`,
`scope_label`). Item fields that live on `ServiceItem` (codes, owner) are read through the
version (`item.code`), so a row is one `ItemVersion` with what the selectors prefetch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from catalog.bundles import bundle_materials
from catalog.models import (
    Audience,
    ItemList,
    ItemVersion,
    ListEntry,
    Material,
    Mode,
    Scope,
)
from catalog.selectors import version_in_force
from catalog.services import CHANNELS, DELIVERY
from core.assurance import Assurance
from core.schemas import CodeLabel, DivisionRef, OrganisationRef, code_labels


def _choices(choices: list[tuple[str, str]]) -> str:
    return "、".join(f"{code}（{label}）" for code, label in choices)


class ItemQuery(Schema):
    """Filters of the item listing; every one optional, unknown values are an error."""

    scope: str | None = Field(None, description="通办范围：" + _choices(Scope.choices))
    mode: str | None = Field(None, description="业务模式：" + _choices(Mode.choices))
    theme: str | None = Field(None, description="主题代码，如 household、education")
    audience: str | None = Field(None, description="服务对象：" + _choices(Audience.choices))
    division: str | None = Field(None, description="行政区划代码：含其下辖区划的事项")
    organisation: str | None = Field(None, description="实施主体的统一社会信用代码")
    q: str | None = Field(None, description="检索词：中文词语、拼音或拼音首字母（如 hkqy）")


class ThemeOut(Schema):
    code: str
    name: str


class CategoryOut(Schema):
    """事项类型 within its code system (national codes differ from some provinces')."""

    system: str
    code: str
    name: str


class LicenceTypeRef(Schema):
    code: str
    name: str


class SchemeRef(Schema):
    code: str
    name: str


class AvailabilityOut(Schema):
    """Where and how the item can be handled away from its owner (scope × mode)."""

    scope: Scope
    scope_label: str = Field(validation_alias="get_scope_display")
    mode: Mode
    mode_label: str = Field(validation_alias="get_mode_display")
    scheme: SchemeRef | None = None
    divisions: list[DivisionRef]


class MaterialOut(Schema):
    """申请材料 as the guide lists it."""

    position: int
    name: str
    necessity: Material.Necessity
    necessity_label: str = Field(validation_alias="get_necessity_display")
    source_type: Material.SourceType
    source_type_label: str = Field(validation_alias="get_source_type_display")
    originals: int
    copies: int
    form: Material.Form
    form_label: str = Field(validation_alias="get_form_display")
    licence_type: LicenceTypeRef | None = None
    commitment_allowed: bool
    notes: str


class ItemVersionRowOut(Schema):
    """One item as a list shows it: its current version's headline facts."""

    code: str = Field(validation_alias="item.code", description="事项编码（URL 中使用）")
    name: str
    basic_code: str = Field(validation_alias="item.basic_code")
    implementation_code: str = Field(validation_alias="item.implementation_code")
    handling_code: str = Field(validation_alias="item.handling_code")
    organisation: OrganisationRef = Field(validation_alias="item.organisation")
    division: DivisionRef = Field(validation_alias="item.division")
    category: CategoryOut
    audience: Audience
    audience_label: str = Field(validation_alias="get_audience_display")
    themes: list[ThemeOut]
    acceptance_mode: ItemVersion.AcceptanceMode
    acceptance_mode_label: str = Field(validation_alias="get_acceptance_mode_display")
    promised_limit: int
    promised_limit_unit: ItemVersion.LimitUnit
    promised_limit_unit_label: str = Field(validation_alias="get_promised_limit_unit_display")
    availabilities: list[AvailabilityOut]
    version: int = Field(validation_alias="number", description="版本号")
    effective_from: dt.date


class ItemVersionOut(ItemVersionRowOut):
    """An item version in full: every field of its 办事指南, materials and form."""

    published_at: dt.datetime | None
    change_note: str
    handling_level: ItemVersion.HandlingLevel
    handling_level_label: str = Field(validation_alias="get_handling_level_display")
    keywords: str
    conditions: str
    application_channels: list[CodeLabel]
    procedure_steps: list[dict[str, Any]]
    legal_limit: int | None
    legal_limit_unit: ItemVersion.LimitUnit
    legal_limit_unit_label: str = Field(validation_alias="get_legal_limit_unit_display")
    special_procedures: list[dict[str, Any]]
    result_type: ItemVersion.ResultType
    result_type_label: str = Field(validation_alias="get_result_type_display")
    result_name: str
    result_licence_type: LicenceTypeRef | None = None
    held_result: ItemVersion.HeldResult
    held_result_label: str = Field(validation_alias="get_held_result_display")
    result_delivery: list[CodeLabel]
    fee_charged: bool
    fees: list[dict[str, Any]]
    visits_required: int
    legal_basis: str
    allows_commitment: bool
    assurance_level: Assurance
    assurance_level_label: str = Field(validation_alias="get_assurance_level_display")
    location: str
    office_hours: str
    consultation_phone: str
    complaint_phone: str
    form_fields: list[dict[str, Any]]
    materials: list[MaterialOut]

    @staticmethod
    def resolve_application_channels(obj: ItemVersion) -> list[dict[str, str]]:
        return code_labels(obj.application_channels, CHANNELS)

    @staticmethod
    def resolve_result_delivery(obj: ItemVersion) -> list[dict[str, str]]:
        return code_labels(obj.result_delivery, DELIVERY)


class ItemVersionSummaryOut(Schema):
    """A published version in an item's history."""

    version: int = Field(validation_alias="number")
    name: str
    effective_from: dt.date
    published_at: dt.datetime | None
    change_note: str


# Lists -----------------------------------------------------------------------------------


class ItemListRef(Schema):
    id: int
    code: str
    name: str


class ListVersionSummaryOut(Schema):
    """A published version of a list with its change-log entry."""

    version: int = Field(validation_alias="number")
    effective_from: dt.date
    published_at: dt.datetime | None
    change_note: str


class ListEntryOut(Schema):
    """An item on a list version, described by the item version the entry pins."""

    position: int
    code: str = Field(validation_alias="item.code")
    name: str | None = Field(None, validation_alias="item_version.name")
    item_version: int | None = Field(
        None, validation_alias="item_version.number", description="发布时固定的事项版本号"
    )
    organisation: OrganisationRef = Field(validation_alias="item.organisation")
    division: DivisionRef = Field(validation_alias="item.division")
    category: CategoryOut | None = Field(None, validation_alias="item_version.category")
    modes: list[CodeLabel]
    note: str

    @staticmethod
    def resolve_modes(obj: ListEntry) -> list[dict[str, str]]:
        return code_labels(obj.modes, dict(Mode.choices))


class ItemListOut(Schema):
    """A published list (事项清单) with its version in force today, if any."""

    id: int
    code: str
    name: str
    scope: Scope
    scope_label: str = Field(validation_alias="get_scope_display")
    scheme: SchemeRef | None = None
    description: str
    current_version: ListVersionSummaryOut | None

    @staticmethod
    def resolve_current_version(obj: ItemList) -> Any:
        return version_in_force(obj)


class ItemListDetailOut(ItemListOut):
    """A list with the entries of its version in force (none if no version is in force)."""

    entries: list[ListEntryOut]

    @staticmethod
    def resolve_entries(obj: ItemList) -> Any:
        version = version_in_force(obj)
        return version.entries.all() if version is not None else []


class ListVersionOut(ListVersionSummaryOut):
    """One published version of a list with its entries."""

    item_list: ItemListRef
    entries: list[ListEntryOut]


class EntryChangeOut(Schema):
    """An item on both versions whose entry changed; `changes` names what (in Chinese)."""

    code: str = Field(validation_alias="new.item.code")
    name: str | None = Field(None, validation_alias="new.item_version.name")
    changes: list[str]
    before: ListEntryOut = Field(validation_alias="old")
    after: ListEntryOut = Field(validation_alias="new")


class ListDiffOut(Schema):
    """What changed between two versions of a list: items added, removed and changed."""

    item_list: ItemListRef = Field(validation_alias="old.item_list")
    from_version: ListVersionSummaryOut = Field(validation_alias="old")
    to_version: ListVersionSummaryOut = Field(validation_alias="new")
    added: list[ListEntryOut]
    removed: list[ListEntryOut]
    changed: list[EntryChangeOut]


# Bundles (一件事) ---------------------------------------------------------------------------


class BundleStepOut(Schema):
    """One item of a bundle version: its order (same order = in parallel), the item version
    pinned at publication, who handles it (`node` empty = this node) and when it applies."""

    order: int
    position: int
    code: str = Field(validation_alias="item.code")
    name: str | None = Field(None, validation_alias="item_version.name")
    item_version: int | None = Field(None, validation_alias="item_version.number")
    organisation: OrganisationRef = Field(validation_alias="item.organisation")
    node: str = Field(validation_alias="item.organisation.node", description="承办节点，空为本节点")
    condition: dict[str, Any] = Field(description="适用条件：{field, values}，空为总是适用")
    field_map: dict[str, str] = Field(description="合并申请表字段 → 事项申请表字段")
    result_licence_type: LicenceTypeRef | None = Field(
        None, validation_alias="item_version.result_licence_type"
    )


class BundleMaterialOut(Schema):
    """A material asked once for the bundle (same licence type or name across items);
    `produced_by` names the earlier item whose licence supplies it automatically."""

    name: str
    required: bool
    licence_type: LicenceTypeRef | None = None
    items: list[str] = Field(validation_alias="item_names")
    produced_by: str | None = Field(None, validation_alias="produced_by.item.code")


class BundleVersionSummaryOut(Schema):
    code: str = Field(validation_alias="bundle.code")
    name: str = Field(validation_alias="bundle.name")
    audience: Audience = Field(validation_alias="bundle.audience")
    version: int = Field(validation_alias="number")
    effective_from: dt.date
    published_at: dt.datetime | None
    change_note: str


class BundleVersionOut(BundleVersionSummaryOut):
    """A bundle version in full: its merged form, steps and the materials asked once."""

    description: str = Field(validation_alias="bundle.description")
    form_fields: list[dict[str, Any]]
    steps: list[BundleStepOut]
    materials: list[BundleMaterialOut]

    @staticmethod
    def resolve_steps(obj: Any) -> Any:
        return list(obj.steps.all())

    @staticmethod
    def resolve_materials(obj: Any) -> Any:
        return bundle_materials(list(obj.steps.all()))
