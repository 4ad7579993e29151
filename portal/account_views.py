"""Pages of a person's account: sign-in and sign-out (Django's auth views with Chinese
templates, throttled by django-axes), self-registration, and the message inbox.

Staff sign in on the same page and land in the console; citizens land on 我的办件.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.services import mark_notifications_read, register_citizen
from cases.selectors import is_staff_member
from core.actors import SystemActor
from core.exceptions import RuleViolation
from portal.forms import LoginForm, RegisterForm, add_problems
from signon.provider import origin_after_sign_in
from signon.relying import member_providers
from signon.sessions import sign_out_everywhere
from signon.sessions import signed_in as signed_in_on

MESSAGES_PER_PAGE = 20
# Where a service's problem about a registration field is shown on the form.
_REGISTER_FIELDS = {
    "code:id_number_invalid": "id_number",
    "code:person_name_mismatch": "name",
    "code:mobile_invalid": "mobile",
}


class SignInView(LoginView):
    """登录. A locked-out account gets the lockout page from django-axes' middleware."""

    template_name = "portal/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["failure_limit"] = settings.AXES_FAILURE_LIMIT
        context["lockout_minutes"] = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        context["providers"] = member_providers()
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        # Signing in on the way to another node or the app: the form's redirects end there.
        origin = origin_after_sign_in(self.get_redirect_url())
        if origin:
            response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]
        return response

    def get_default_redirect_url(self) -> str:
        if is_staff_member(self.request.user):
            return reverse("console:inbox")
        return reverse("portal:my_cases")


class SignOutView(LogoutView):
    """退出登录 (POST only, as Django requires); back to the home page."""


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_http_methods(["GET", "HEAD", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """注册: a natural person opens an account, real-name verified; then signed in."""
    if request.user.is_authenticated:
        return HttpResponseRedirect(reverse("portal:my_cases"))
    form = RegisterForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = register_citizen(
                    name=data["name"],
                    id_number=data["id_number"],
                    mobile=data["mobile"],
                    password=data["password"],
                    actor=SystemActor("portal:register"),
                )
            except RuleViolation as exc:
                add_problems(form, exc, fields=_REGISTER_FIELDS)
            else:
                login(request, user, backend="accounts.auth.IdNumberBackend")
                messages.success(request, "注册成功，已为您登录。以后请用公民身份号码和密码登录。")
                return HttpResponseRedirect(_safe_next(request, reverse("portal:my_cases")))
        status = 422
    return render(
        request,
        "portal/register.html",
        {"form": form, "next": _safe_next(request, "")},
        status=status,
    )


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """我的消息: the in-app notifications, newest first, unread ones marked."""
    notifications = request.user.notifications.all()  # type: ignore[union-attr]
    page = Paginator(notifications, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"page": page}
    return render(request, "portal/messages.html", context)


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one message (`id`) or every message (`all`) as read, then back to the inbox."""
    ids: list[int] | None = None
    if "all" not in request.POST:
        ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    count = mark_notifications_read(request.user, ids=ids)  # type: ignore[arg-type]
    if count:
        messages.success(request, f"已将 {count} 条消息标为已读。")
    return HttpResponseRedirect(_safe_next(request, reverse("portal:messages")))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def signed_in(request: HttpRequest) -> HttpResponse:
    """登录设备与应用: where I am signed in — browser sessions here, the mobile app,
    other nodes' portals I opened with this node's account — and 退出所有设备, which ends
    them all (signon.sessions), this session too."""
    if request.method == "POST":
        ended = sign_out_everywhere(request.user)
        logout(request)
        messages.success(
            request,
            f"已退出所有设备：结束登录会话 {ended.sessions} 个，"
            f"吊销应用与其他节点的登录授权 {ended.grants} 项。请重新登录。",
        )
        return HttpResponseRedirect(reverse("portal:login"))
    where = signed_in_on(request.user, current_key=request.session.session_key)
    return render(request, "portal/signed_in.html", {"where": where})
