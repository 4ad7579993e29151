"""Maintenance screens of supervision: the list targets are data a province edits; the
ledger's tasks can be corrected (their reports and the figures are written by services
only and are not edited here)."""

from django.contrib import admin

from supervision.models import LedgerTask, ListTarget


@admin.register(ListTarget)
class ListTargetAdmin(admin.ModelAdmin):
    """The phases of a list's targets (the national list: 58, 132, 140 items)."""

    list_display = ["list", "phase", "target", "mode", "due_date"]
    list_select_related = ["list"]
    ordering = ["list", "position"]


@admin.register(LedgerTask)
class LedgerTaskAdmin(admin.ModelAdmin):
    """Titles, units and deadlines; progress and status change through progress reports."""

    list_display = ["kind", "number", "title", "lead_units", "deadline", "status", "progress"]
    list_filter = ["kind", "status"]
    readonly_fields = ["status", "progress"]
    ordering = ["kind", "number"]
