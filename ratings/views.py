"""Pages of 好差评 (/ratings/): the public results, the rating page (opened from the
notification, the portal's case card or the QR code on the hand-over receipt), the
rectification console for the owning organisation's staff and supervisors, and the
hand-over receipt with its QR code.

Every read starts from a selector (rectifications from `Rectification.objects.for_user`,
so another organisation's rectification is a 404); every change is one service or
`take_action` call. Refusals not put on a form become ratings/refused.html
(portal/middleware.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import StaffRole
from cases.models import Case
from core.exceptions import NotFound, RuleViolation
from licences.rendering import qr_svg
from ratings import engine, selectors, services
from ratings.models import CallbackOutcome, Channel, Level, Rectification
from ratings.subjects import event_label
from ratings.workflow import VOCABULARY

PER_PAGE = 20
GROUP_LABELS = {"organisation": "按单位", "item": "按事项", "window": "按窗口"}


@require_safe
def results(request: HttpRequest) -> HttpResponse:
    """评价结果公开: per organisation, item or window, computed from the ratings."""
    group = request.GET.get("group", "organisation")
    if group not in selectors.GROUPS:
        group = "organisation"
    rows = selectors.stats(group=group)
    return render(
        request,
        "ratings/results.html",
        {"rows": rows, "group": group, "groups": GROUP_LABELS, "group_label": GROUP_LABELS[group]},
    )


def _form_channel(request: HttpRequest) -> str:
    channel = request.GET.get("channel") or request.POST.get("channel") or Channel.PC
    return channel if channel in (Channel.PC, Channel.MOBILE, Channel.QR, Channel.TABLET) else "pc"


@require_http_methods(["GET", "HEAD", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """The rating widget of one invitation: the level, its options, free text; the one
    follow-up (also the rating of a fix) once the first rating is given. An invitation of
    an account needs that account signed in; one without (a window applicant) is opened
    by its code on the receipt."""
    invitation = selectors.invitation_by_token(token)
    if invitation.rater_id is not None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if invitation.rater_id != request.user.pk:
            raise RuleViolation(
                "rating_not_recipient", "只有接受该项服务的本人才能评价", status=403
            )
    given = selectors.ratings_of_event(
        invitation.subject_kind, invitation.reference, invitation.event
    )
    follow_up = bool(given)
    error = None
    chosen: dict[str, Any] = {"level": None, "options": [], "text": ""}
    if request.method == "POST":
        try:
            level = int(request.POST.get("level", "0"))
        except ValueError:
            level = 0
        chosen = {
            "level": level,
            "options": request.POST.getlist(f"options_{level}"),
            "text": request.POST.get("text", "")[:500],
        }
        try:
            services.rate(
                services.RatingIn(
                    subject_kind=invitation.subject_kind,
                    reference=invitation.reference,
                    event=invitation.event,
                    level=level,
                    options=chosen["options"],
                    text=chosen["text"],
                    channel=_form_channel(request),
                    follow_up=follow_up,
                ),
                actor=request.user,
                invitation=invitation,
            )
        except RuleViolation as exc:
            error = exc
        else:
            messages.success(request, "感谢您的评价")
            return HttpResponseRedirect(reverse("ratings:rate", args=[token]))
    option_set = services.option_set_in_force()
    return render(
        request,
        "ratings/rate.html",
        {
            "invitation": invitation,
            "event_label": event_label(invitation.event),
            "given": given,
            "follow_up": follow_up,
            "can_rate": len(given) < 2,
            "levels": Level.choices,
            "options": selectors.options_by_level(option_set.pk),
            "channel": _form_channel(request),
            "chosen": chosen,
            "error": error,
        },
        status=error.status if error else 200,
    )


def _staff(request: HttpRequest) -> list[StaffRole]:
    if not request.user.is_authenticated:
        raise RuleViolation("login_required", "请先登录", status=401)
    roles = list(StaffRole.objects.filter(user=request.user).select_related("organisation"))
    if not roles:
        raise RuleViolation("staff_only", "本页面仅供工作人员使用", status=403)
    return roles


@require_safe
def rectifications(request: HttpRequest) -> HttpResponse:
    """差评整改台: the rectifications of my organisation (or those I supervise), open ones
    first by due date."""
    roles = _staff(request)
    state = request.GET.get("state", "")
    warning = request.GET.get("warning", "")
    rows = selectors.rectifications_for(request.user, state=state, warning=warning)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "ratings/rectifications.html",
        {
            "page": page,
            "roles": roles,
            "state": state,
            "warning": warning,
            "labels": {r.number: engine.PROCESS.state_label(r) for r in page.object_list},
        },
    )


def _detail_context(request: HttpRequest, r: Rectification, **extra: Any) -> dict[str, Any]:
    definition = engine.PROCESS.definition_of(r)
    allowed = engine.PROCESS.allowed(r, request.user)
    return {
        "r": r,
        "rating": r.rating,
        "state_label": engine.PROCESS.state_label(r),
        "hint": definition.states[r.state].hint,
        "actions": allowed,
        "payloads": {
            a.name: list(VOCABULARY.payloads[a.payload].model_fields) if a.payload else []
            for a in allowed
        },
        "callback_outcomes": CallbackOutcome.choices,
        "events": list(r.events.select_related("organisation").order_by("at", "id")),
        "ledger": getattr(r, "ledger", None),
        "action_labels": {a.name: a.label for a in definition.actions},
        **extra,
    }


@require_safe
def rectification(request: HttpRequest, number: str) -> HttpResponse:
    _staff(request)
    r = selectors.get_rectification_for(request.user, number)
    return render(request, "ratings/rectification.html", _detail_context(request, r))


@require_POST
def rectification_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Take one workflow action; a refusal is shown on the page with its status."""
    _staff(request)
    r = selectors.get_rectification_for(request.user, number)
    spec = engine.PROCESS.spec_for(engine.PROCESS.definition_of(r), r, action)
    data = {
        name: value
        for name in (VOCABULARY.payloads[spec.payload].model_fields if spec.payload else {})
        if (value := request.POST.get(f"p_{name}", "")) != ""
    }
    try:
        engine.take_action(
            r, action, actor=request.user, note=request.POST.get("note", ""), data=data
        )
    except RuleViolation as exc:
        r = selectors.get_rectification_for(request.user, number)
        context = _detail_context(
            request, r, refusal={"action": spec.label, "message": exc.message}
        )
        return render(request, "ratings/rectification.html", context, status=exc.status)
    messages.success(request, f"已{spec.label}")
    return HttpResponseRedirect(reverse("ratings:rectification", args=[number]))


@require_safe
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    """交付回执: what was handed over at the window, with the QR code that opens the
    rating page of the result for the applicant (channel: 窗口二维码)."""
    _staff(request)
    case = (
        Case.objects.for_user(request.user)
        .select_related("item_version", "receiving_org", "handling_org")
        .filter(number=number)
        .first()
    )
    if case is None:
        raise NotFound("case_not_found", f"办件 {number} 不存在或无权查看")
    invitations = selectors.invitations_of_case(number)
    invitation = next((i for i in reversed(invitations) if i.rating_id is None), None) or (
        invitations[-1] if invitations else None
    )
    url = ""
    qr = ""
    if invitation is not None:
        path = reverse("ratings:rate", args=[invitation.token]) + "?channel=qr"
        url = request.build_absolute_uri(path)
        qr = qr_svg(url, label="扫码评价本次服务")
    return render(
        request,
        "ratings/receipt.html",
        {
            "case": case,
            "invitation": invitation,
            "event_label": event_label(invitation.event) if invitation else "",
            "url": url,
            "qr": qr,
            "node_name": getattr(settings, "NODE_NAME", ""),
        },
    )
