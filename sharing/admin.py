"""Maintenance screens of the sharing catalog. Resources are saved through the model's
`clean()` (the service's own checks: no classified resource, a legal basis where the class
needs one); requests, grants, calls and alerts are read-only — they change only through
the services."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from sharing.models import (
    AccessLog,
    DataResource,
    Grant,
    HeldGrant,
    SharingAlert,
    SharingDeadline,
    SharingRequest,
)


@admin.register(DataResource)
class DataResourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "provider", "sharing_class", "update_frequency", "adapter"]
    list_filter = ["sharing_class", "subject_kind"]
    search_fields = ["code", "name"]
    exclude = ["classified"]


@admin.register(SharingDeadline)
class SharingDeadlineAdmin(admin.ModelAdmin):
    list_display = ["province", "sharing_class", "review_days", "answer_days"]


@admin.register(SharingRequest)
class SharingRequestAdmin(ReadOnlyAdmin):
    list_display = ["number", "resource", "consumer", "state", "due_date", "answered_on"]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["number", "resource", "consumer", "expires_on", "revoked_at"]
    exclude = ["credential_hash"]


@admin.register(HeldGrant)
class HeldGrantAdmin(ReadOnlyAdmin):
    list_display = ["number", "provider_node", "resource_name", "consumer", "expires_on"]


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "consumer_label", "method", "subject_masked", "case_number", "outcome"]
    exclude = ["subject_hash"]


@admin.register(SharingAlert)
class SharingAlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "code", "message", "handled_at"]
