"""Admin for sign-in: the registered apps (read-only; `signon.provider.register_client`
registers them, with the audit row), the live grants (a grant is revoked by an action),
and the identities accepted from other members."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from signon.models import Client, FederatedIdentity, Grant
from signon.provider import revoke_grant


@admin.register(Client)
class ClientAdmin(ReadOnlyAdmin):
    list_display = fields = readonly_fields = ("client_id", "name", "redirect_uris", "created_at")


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = fields = readonly_fields = (
        "client_id",
        "user",
        "scope",
        "acr",
        "created_at",
        "revoked_at",
        "revoked_reason",
    )
    list_filter = ["client_id", "acr"]
    list_select_related = ["user"]
    actions = ["revoke"]

    @admin.action(description="吊销所选登录授权")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Grant]) -> None:
        for grant in queryset.filter(revoked_at__isnull=True):
            revoke_grant(grant, reason="revoked_by_operator", actor=request.user)


@admin.register(FederatedIdentity)
class FederatedIdentityAdmin(ReadOnlyAdmin):
    list_display = fields = readonly_fields = (
        "node",
        "name_masked",
        "user",
        "created_at",
        "last_login_at",
    )
    list_filter = ["node"]
