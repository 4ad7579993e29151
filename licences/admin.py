"""Admin views of seals and the licence library. Read-only: seals are made and revoked,
licences issued and revoked, only through services (the console, the API). Private keys
are not registered here at all."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from licences.models import Licence, LicenceEvent, Seal


@admin.register(Seal)
class SealAdmin(ReadOnlyAdmin):
    list_display = ["name", "organisation", "algorithm", "status", "valid_from", "valid_until"]
    list_filter = ["algorithm", "status"]
    search_fields = ["name", "organisation__name", "fingerprint"]
    fields = [
        "organisation",
        "name",
        "algorithm",
        "fingerprint",
        "public_pem",
        "valid_from",
        "valid_until",
        "status",
        "revoked_at",
        "revocation_reason",
    ]


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdmin):
    list_display = [
        "identifier",
        "licence_type",
        "holder_name",
        "holder_code_masked",
        "issuer",
        "issued_at",
        "status",
    ]
    list_filter = ["status", "licence_type"]
    search_fields = ["identifier", "number", "case_number"]
    # Face data and the holder code are personal data: the admin shows only masked fields.
    fields = [
        "identifier",
        "licence_type",
        "number",
        "version",
        "holder_name",
        "holder_code_type",
        "holder_code_masked",
        "issuer",
        "issued_at",
        "valid_from",
        "valid_until",
        "seal",
        "case_number",
        "status",
        "revoked_at",
        "revocation_reason",
    ]


@admin.register(LicenceEvent)
class LicenceEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "outcome", "licence", "actor_label"]
    list_filter = ["kind", "outcome"]
