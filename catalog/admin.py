"""Admin for catalog maintainers (目录维护人员).

Drafts are edited here; publishing is an admin action that calls the service, so the same
checks apply as for an import. A published version opens read-only: to change it, make a
new version with the "新建版本" action.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from catalog.bundles import draft_bundle_version, publish_bundle_version
from catalog.form_schema import parse_form_fields
from catalog.models import (
    Availability,
    Bundle,
    BundleStep,
    BundleVersion,
    ItemCategory,
    ItemList,
    ItemVersion,
    LicenceType,
    ListEntry,
    ListVersion,
    Material,
    PublicationStatus,
    RegionalScheme,
    ServiceItem,
    Theme,
    ZoneSource,
)
from catalog.services import (
    MAX_VALID_YEARS,
    draft_item_version,
    draft_list_version,
    publish_item_version,
    publish_list_version,
)
from core.exceptions import ProblemList, RuleViolation


def _run_each(
    request: HttpRequest,
    admin_obj: admin.ModelAdmin,
    queryset: QuerySet[Any],
    action: Any,
    done: str,
) -> None:
    """Apply a service to each selected object, reporting each failure in full."""
    for obj in queryset:
        try:
            action(obj)
        except RuleViolation as exc:
            admin_obj.message_user(request, str(exc), level=messages.ERROR)
        else:
            admin_obj.message_user(request, f"{obj}：{done}", level=messages.SUCCESS)


class _PublishedReadOnly:
    """A published version (or, in an inline, the rows of one) is shown, not editable."""

    @staticmethod
    def _editable(obj: Any) -> bool:
        if obj is None:
            return True
        version = obj if isinstance(obj, ItemVersion) else getattr(obj, "version", obj)
        if isinstance(version, ItemVersion) and version.item.organisation.node:
            return False  # a copy of another node's item, synced from its owner
        return bool(obj.status != PublicationStatus.PUBLISHED)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class _FrozenInlineMixin(_PublishedReadOnly):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)  # type: ignore[misc]


class MaterialInline(_FrozenInlineMixin, admin.TabularInline):
    model = Material
    extra = 0
    autocomplete_fields = ["licence_type"]


class AvailabilityInline(_FrozenInlineMixin, admin.TabularInline):
    model = Availability
    extra = 0
    filter_horizontal = ["divisions"]


class ListEntryInline(_FrozenInlineMixin, admin.TabularInline):
    model = ListEntry
    extra = 0
    autocomplete_fields = ["item"]
    readonly_fields = ["item_version"]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "position"]


@admin.register(ItemCategory)
class ItemCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "system"]
    list_filter = ["system"]


class LicenceTypeForm(forms.ModelForm):
    """The face and validity checked as `save_licence_type` checks them."""

    class Meta:
        model = LicenceType
        fields = [
            "code",
            "name",
            "defining_organisation",
            "holder_kind",
            "issuer_kind",
            "face_fields",
            "valid_years",
            "allow_multiple",
        ]

    def clean_face_fields(self) -> list[dict[str, Any]]:
        problems = ProblemList()
        fields = parse_form_fields(
            self.cleaned_data.get("face_fields") or [],
            problems,
            prefix="face_fields",
            noun="照面字段",
        )
        if problems:
            raise forms.ValidationError([f"{p.field}：{p.reason}" for p in problems.problems])
        return [f.model_dump(mode="json", exclude_defaults=True) for f in fields]

    def clean_valid_years(self) -> int | None:
        years: int | None = self.cleaned_data.get("valid_years")
        if years is not None and not 1 <= years <= MAX_VALID_YEARS:
            raise forms.ValidationError(f"有效期应为 1 至 {MAX_VALID_YEARS} 年；长期有效请留空")
        return years


@admin.register(LicenceType)
class LicenceTypeAdmin(admin.ModelAdmin):
    form = LicenceTypeForm
    list_display = ["name", "code", "holder_kind", "issuer_kind", "valid_years", "allow_multiple"]
    search_fields = ["name", "code"]


@admin.register(RegionalScheme)
class RegionalSchemeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "signed_at"]
    filter_horizontal = ["members"]


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    list_display = ["code", "basic_code", "organisation", "division"]
    search_fields = ["code", "implementation_code", "versions__name"]
    list_filter = ["division"]
    autocomplete_fields = ["organisation", "division"]
    readonly_fields = ["code"]
    actions = ["make_new_version"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An item cached from another node is changed by its owner and synced here.
        mine = obj is None or not obj.organisation.node
        return mine and super().has_change_permission(request, obj)

    @admin.action(description="新建版本（复制最新版本为草稿，次日生效）")
    def make_new_version(self, request: HttpRequest, queryset: QuerySet[ServiceItem]) -> None:
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        _run_each(
            request,
            self,
            queryset,
            lambda item: draft_item_version(item, effective_from=tomorrow, actor=request.user),
            "已新建草稿版本",
        )


@admin.register(ItemVersion)
class ItemVersionAdmin(_PublishedReadOnly, admin.ModelAdmin):
    list_display = [
        "name",
        "item",
        "number",
        "status",
        "effective_from",
        "published_at",
        "classified",
    ]
    list_filter = ["status", "audience", "themes", "category", "classified"]
    search_fields = ["name", "item__code"]
    autocomplete_fields = ["item", "result_licence_type"]
    filter_horizontal = ["themes"]
    readonly_fields = ["status", "published_at"]
    inlines = [MaterialInline, AvailabilityInline]
    actions = ["publish"]

    @admin.action(description="发布所选版本")
    def publish(self, request: HttpRequest, queryset: QuerySet[ItemVersion]) -> None:
        _run_each(
            request, self, queryset, lambda v: publish_item_version(v, actor=request.user), "已发布"
        )


@admin.register(ItemList)
class ItemListAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "scope", "scheme"]
    list_filter = ["scope"]
    actions = ["make_new_version"]

    @admin.action(description="新建清单版本（复制最新版本为草稿，次日生效）")
    def make_new_version(self, request: HttpRequest, queryset: QuerySet[ItemList]) -> None:
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        _run_each(
            request,
            self,
            queryset,
            lambda lst: draft_list_version(lst, effective_from=tomorrow, actor=request.user),
            "已新建草稿版本",
        )


@admin.register(ListVersion)
class ListVersionAdmin(_PublishedReadOnly, admin.ModelAdmin):
    list_display = [
        "item_list",
        "number",
        "status",
        "effective_from",
        "published_at",
        "change_note",
    ]
    list_filter = ["item_list", "status"]
    readonly_fields = ["status", "published_at"]
    inlines = [ListEntryInline]
    actions = ["publish"]

    @admin.action(description="发布所选清单版本")
    def publish(self, request: HttpRequest, queryset: QuerySet[ListVersion]) -> None:
        _run_each(
            request, self, queryset, lambda v: publish_list_version(v, actor=request.user), "已发布"
        )


@admin.register(ZoneSource)
class ZoneSourceAdmin(admin.ModelAdmin):
    """The other member nodes of the regional zone and their last sync (`sync_zone`);
    written by the sync only."""

    list_display = ["name", "node", "synced_at", "attempted_at", "item_count", "last_error"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# 一件事 (catalog/bundles.py) ----------------------------------------------------------------


class BundleStepInline(_FrozenInlineMixin, admin.TabularInline):
    model = BundleStep
    extra = 0
    autocomplete_fields = ["item"]
    readonly_fields = ["item_version"]


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "audience"]
    search_fields = ["name", "code"]
    actions = ["make_new_version"]

    @admin.action(description="新建一件事版本（复制最新版本为草稿，次日生效）")
    def make_new_version(self, request: HttpRequest, queryset: QuerySet[Bundle]) -> None:
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        _run_each(
            request,
            self,
            queryset,
            lambda b: draft_bundle_version(b, effective_from=tomorrow, actor=request.user),
            "已新建草稿版本",
        )


@admin.register(BundleVersion)
class BundleVersionAdmin(_PublishedReadOnly, admin.ModelAdmin):
    """A bundle version: its merged form (JSON, the item form schema) and its steps;
    publishing checks it whole (`publish_bundle_version`)."""

    list_display = ["bundle", "number", "status", "effective_from", "published_at", "change_note"]
    list_filter = ["bundle", "status"]
    readonly_fields = ["status", "published_at"]
    inlines = [BundleStepInline]
    actions = ["publish"]

    @admin.action(description="发布所选一件事版本")
    def publish(self, request: HttpRequest, queryset: QuerySet[BundleVersion]) -> None:
        _run_each(
            request,
            self,
            queryset,
            lambda v: publish_bundle_version(v, actor=request.user),
            "已发布",
        )
