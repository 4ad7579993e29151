"""Admin for cases: a read-only view for the node's operators.

A case changes state only through `cases.services` (the workflow engine checks who may act
and writes the timeline), so nothing here edits a case, its timeline, a workflow
definition or an archive. Applicants' names are masked, free-text notes are scrubbed of
anything that looks like an ID or mobile number, and the application form — which holds
personal data in clear — is not shown at all: staff read it in the console, where the
read is scoped and logged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from cases.models import Case, CaseArchive, CaseEvent, CaseMaterial, Commitment, WorkflowDefinition
from cases.timeline import applicant_label
from cases.workflow import state_label
from core.admin import ReadOnlyAdmin
from core.personal_data import scrub


class _ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseEventInline(_ReadOnlyInline):
    model = CaseEvent
    verbose_name_plural = "时间线"
    fields = readonly_fields = (
        "at",
        "actor_label",
        "organisation",
        "action",
        "from_state",
        "to_state",
        "notes",
    )

    @admin.display(description="说明")
    def notes(self, obj: CaseEvent) -> str:
        return scrub(obj.note)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseEvent]:
        return super().get_queryset(request).select_related("organisation")


class CaseMaterialInline(_ReadOnlyInline):
    model = CaseMaterial
    verbose_name_plural = "材料"
    # The original file name is left out: applicants name files after themselves.
    fields = readonly_fields = (
        "requirement",
        "status",
        "content_type",
        "size",
        "sha256",
        "uploaded_at",
        "paper_custody",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseMaterial]:
        return super().get_queryset(request).select_related("requirement")


class CommitmentInline(_ReadOnlyInline):
    model = Commitment
    verbose_name_plural = "承诺（容缺受理、告知承诺）"
    fields = readonly_fields = (
        "kind",
        "status",
        "signed_at",
        "due_date",
        "resolved_at",
        "resolution_note",
    )


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "item",
        "state_label",
        "applicant",
        "handling_org",
        "receiving_org",
        "mode",
        "warning",
        "due_date",
        "created_at",
    ]
    list_filter = ["state", "warning", "handling_org", "receiving_org", "mode", "channel"]
    list_select_related = ["item_version", "handling_org", "receiving_org", "workflow"]
    search_fields = ["=number"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "number",
        "item_version",
        "workflow",
        "mode",
        "channel",
        "state_label",
        "applicant",
        "assisted",
        "receiving_org",
        "handling_org",
        "created_at",
        "submitted_at",
        "started_on",
        "due_date",
        "due_provisional",
        "state_due_date",
        "paused_days",
        "clock_state",
        "warning",
        "closed_at",
        "outcome",
        "outcome_summary",
    )
    inlines = [CaseEventInline, CaseMaterialInline, CommitmentInline]

    @admin.display(description="事项")
    def item(self, obj: Case) -> str:
        return obj.item_version.name

    @admin.display(description="状态", ordering="state")
    def state_label(self, obj: Case) -> str:
        return state_label(obj)

    @admin.display(description="申请人")
    def applicant(self, obj: Case) -> str:
        return applicant_label(obj)

    @admin.display(description="结论说明")
    def outcome_summary(self, obj: Case) -> str:
        return scrub(obj.outcome_note)


@admin.register(WorkflowDefinition)
class WorkflowDefinitionAdmin(ReadOnlyAdmin):
    list_display = ["code", "version", "mode", "name", "checksum", "loaded_at"]
    list_filter = ["mode", "code"]
    fields = readonly_fields = (
        "code",
        "version",
        "mode",
        "name",
        "checksum",
        "loaded_at",
        "definition_json",
    )

    @admin.display(description="定义")
    def definition_json(self, obj: WorkflowDefinition) -> str:
        text = json.dumps(obj.definition, ensure_ascii=False, indent=2)
        return format_html("<pre>{}</pre>", text)


def _archive_intact(archive: CaseArchive) -> bool:
    canonical = json.dumps(archive.record, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest() == archive.digest


@admin.register(CaseArchive)
class CaseArchiveAdmin(ReadOnlyAdmin):
    """电子档案: the digest and whether the stored record still matches it. The record
    itself holds the form in clear and is not shown."""

    list_display = fields = readonly_fields = ("case", "archived_at", "digest", "intact")
    list_select_related = ["case"]
    search_fields = ["=case__number", "=digest"]

    @admin.display(description="摘要核对", boolean=True)
    def intact(self, obj: CaseArchive) -> bool:
        return _archive_intact(obj)
