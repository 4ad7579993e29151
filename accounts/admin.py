"""Admin for accounts: a window on people, companies, roles, tokens, credit records and
notifications for the node's operators.

Personal data never appear here in clear, nor encrypted: a person shows the masked ID
number, mobile and name, and is found by posting the full ID number, compared through its
keyed hash. Registering people and companies needs the real-name check and the audit row
of the accounts services, so those records are read-only; a role is granted or taken
away through `grant_role` / `revoke_role`, a token revoked through `revoke_api_token`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from accounts.models import (
    AgentAuthorisation,
    ApiToken,
    Company,
    CreditRecord,
    Notification,
    Person,
    StaffRole,
)
from accounts.services import grant_role, revoke_api_token, revoke_role
from core.admin import ReadOnlyAdmin
from core.personal_data import lookup_hash, mask_name
from core.validators import normalize_id_number


class _Shown:
    """Stands in for an object in the page title and breadcrumbs, which would otherwise
    print `str(obj)` — for a person, the name in clear."""

    def __init__(self, obj: Model, label: str) -> None:
        self.pk = obj.pk
        self.label = label

    def __str__(self) -> str:
        return self.label


class MaskedTitleAdmin(ReadOnlyAdmin):
    """Page titles of one object use `masked_title` instead of the object's `str()`."""

    def masked_title(self, obj: Any) -> str:
        """Subclasses show a masked name; the default names no one at all."""
        return f"{obj._meta.verbose_name} #{obj.pk}"

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if obj is not None:
            shown = _Shown(obj, self.masked_title(obj))
            extra_context = {**(extra_context or {}), "subtitle": str(shown), "original": shown}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            shown = _Shown(obj, self.masked_title(obj))
            extra_context = {
                **(extra_context or {}),
                "title": f"变更历史：{shown}",
                "object": shown,
            }
        return super().history_view(request, object_id, extra_context)


class IdNumberLookupForm(forms.Form):
    id_number = forms.CharField(
        label="公民身份号码",
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_id_number(self) -> str:
        return normalize_id_number(self.cleaned_data["id_number"])


@admin.register(Person)
class PersonAdmin(MaskedTitleAdmin):
    """People, masked. Finding one by ID number goes through a posted form (`lookup/`) that
    redirects to the list filtered by the number's keyed hash: the number never travels in
    a URL, which would put it in clear into access logs and browser history."""

    list_display = fields = readonly_fields = (
        "masked_name",
        "id_number_masked",
        "mobile_masked",
        "user",
        "real_name_verified_at",
        "created_at",
    )
    list_select_related = ["user"]
    list_filter = [("real_name_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["=user__username"]
    search_help_text = "按登录账号名查找；按公民身份号码查找请用右上角的“按公民身份号码查找”"

    @admin.display(description="姓名")
    def masked_name(self, obj: Person) -> str:
        return mask_name(obj.name)

    def masked_title(self, obj: Person) -> str:
        return f"{mask_name(obj.name)}（{obj.id_number_masked}）"

    def get_urls(self) -> list[URLPattern]:
        lookup = path(
            "lookup/",
            self.admin_site.admin_view(self.lookup_view),
            name="accounts_person_lookup",
        )
        return [lookup, *super().get_urls()]

    def lookup_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = IdNumberLookupForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            digest = lookup_hash(form.cleaned_data["id_number"])
            url = reverse("admin:accounts_person_changelist")
            return HttpResponseRedirect(f"{url}?id_number_hash={digest}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "按公民身份号码查找自然人",
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/person/lookup.html", context)


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = fields = readonly_fields = (
        "name",
        "uscc",
        "legal_representative",
        "agent_accounts",
        "created_at",
    )
    search_fields = ["name", "=uscc"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Company]:
        return super().get_queryset(request).prefetch_related("agents")

    @admin.display(description="经办账号")
    def agent_accounts(self, obj: Company) -> str:
        return "、".join(u.get_username() for u in obj.agents.all()) or "—"


@admin.register(AgentAuthorisation)
class AgentAuthorisationAdmin(ReadOnlyAdmin):
    """经办人授权, read-only: the legal representative grants and revokes on the portal
    (accounts.agents), with the audit row."""

    list_display = fields = readonly_fields = (
        "company",
        "agent",
        "actions",
        "items",
        "valid_until",
        "granted_at",
        "revoked_at",
    )
    list_select_related = ["company", "agent"]
    search_fields = ["=company__uscc", "company__name"]


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    """Roles are granted here (through `grant_role`, which also sets the scope and, for
    catalog maintainers, admin access) and taken away (through `revoke_role`); a role is
    never edited in place."""

    list_display = ["user", "role", "organisation", "division"]
    list_filter = ["role", "division", "organisation"]
    search_fields = ["user__username", "organisation__name"]
    list_select_related = ["user", "organisation", "division"]
    autocomplete_fields = ["user", "organisation"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user", "role", "organisation") + (("division",) if obj is not None else ())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user", "role", "organisation", "division") if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StaffRole, form: Any, change: bool) -> None:
        granted = grant_role(obj.user, obj.role, obj.organisation, actor=request.user)
        obj.pk, obj.division = granted.pk, granted.division

    def delete_model(self, request: HttpRequest, obj: StaffRole) -> None:
        revoke_role(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StaffRole]) -> None:
        for staff_role in queryset.select_related("user", "organisation"):
            revoke_role(staff_role, actor=request.user)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are made by `manage.py create_api_token` (shown once); only the prefix is
    ever shown again, never the key or its hash."""

    list_display = fields = readonly_fields = (
        "token",
        "user",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "=prefix", "name"]
    list_select_related = ["user"]
    actions = ["revoke"]

    @admin.display(description="令牌前缀")
    def token(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.change_apitoken"))

    @admin.action(description="吊销所选令牌", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for token in active:
            revoke_api_token(token, actor=request.user)
        self.message_user(request, f"已吊销 {len(active)} 个令牌", level=messages.SUCCESS)


@admin.register(CreditRecord)
class CreditRecordAdmin(ReadOnlyAdmin):
    list_display = fields = readonly_fields = (
        "kind",
        "subject",
        "case_number",
        "note",
        "recorded_at",
        "cleared_at",
    )
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["=case_number"]
    list_select_related = ["person", "company"]

    @admin.display(description="信用主体")
    def subject(self, obj: CreditRecord) -> str:
        if obj.person is not None:
            return f"{mask_name(obj.person.name)}（{obj.person.id_number_masked}）"
        return str(obj.company)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["title", "recipient", "created_at", "read_at"]
    fields = readonly_fields = ("recipient", "title", "body", "link", "created_at", "read_at")
    list_filter = [("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient__username", "title"]
    list_select_related = ["recipient"]
