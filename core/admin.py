"""Admin for core reference data. The audit trail is read-only."""

from django.contrib import admin
from django.http import HttpRequest

from core.models import AuditEvent, CalendarDay, CalendarYear, Division, Organisation


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here: the owning services do that."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "code_kind"]
    list_filter = ["level", "code_kind"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "kind", "division"]
    list_filter = ["kind", "division__parent"]
    search_fields = ["name", "uscc", "short_name"]
    autocomplete_fields = ["division"]


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "province", "source", "loaded_at"]
    list_filter = ["province"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "province", "is_working_day", "name"]
    list_filter = ["is_working_day", "province"]
    date_hierarchy = "date"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "summary", "actor_label"]
