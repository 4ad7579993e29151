from django.contrib import admin

from core.admin import ReadOnlyAdmin
from federation.models import DirectoryCopy, LogEntry, NodeKey, Outbox, Refusal


@admin.register(NodeKey)
class NodeKeyAdmin(ReadOnlyAdmin):
    list_display = ["fingerprint", "algorithm", "created_at", "retired_at"]
    fields = ["algorithm", "fingerprint", "public_pem", "created_at", "retired_at"]


@admin.register(DirectoryCopy)
class DirectoryCopyAdmin(ReadOnlyAdmin):
    list_display = ["serial", "issued_at", "valid_until", "source", "fetched_at"]


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry_type", "direction", "kind", "sender", "receiver", "logged_at"]
    list_filter = ["entry_type", "direction", "kind", "sender", "receiver"]
    search_fields = ["envelope_id"]
    # The body may carry a case's personal data: the list shows metadata only.
    exclude = ["body"]


@admin.register(Outbox)
class OutboxAdmin(ReadOnlyAdmin):
    list_display = ["envelope", "receiver", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "receiver"]


@admin.register(Refusal)
class RefusalAdmin(ReadOnlyAdmin):
    list_display = ["at", "code", "claimed_sender", "kind", "envelope_id", "reason"]
    list_filter = ["code"]
