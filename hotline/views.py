"""Pages of the 12345 hotline (/hotline/): the agent console (take a call, search the
knowledge base, open, dispatch, merge and close tickets), a ticket with the actions the
viewer may take, the organisation's ticket inbox by deadline, the knowledge base, the
citizen's 我的诉求 with the ticket's timeline, and the public statistics.

Every read starts from `Ticket.objects.for_user` (hotline.selectors), so a ticket of
another centre is a 404; every change is one service or `take_action` call. A refusal a
view does not put on a form becomes hotline/refused.html (portal/middleware.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from pydantic import BaseModel

from accounts.models import Person, Role, StaffRole
from core.exceptions import RuleViolation
from core.workflow import ActionSpec
from hotline import knowledge, selectors, services
from hotline.engine import PROCESS, take_action
from hotline.forms import CallForm, CaseLookupForm, RequestForm, SearchForm, add_refusal
from hotline.models import HANDLING_ROLES, CallbackOutcome, Channel, Referral, Ticket
from hotline.workflow import VOCABULARY

P = ParamSpec("P")
PER_PAGE = 20
EVENT_LABELS = {"open": "登记", "merged_in": "有工单并入", "look_up_case": "查询来电人办件"}


def staff_with(
    *roles: str,
) -> Callable[
    [Callable[Concatenate[HttpRequest, P], HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    """Sign-in required, then one of `roles` in some organisation (403 page otherwise)."""

    def decorate(
        view: Callable[Concatenate[HttpRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                raise RuleViolation("login_required", "请先登录", status=401)
            held = list(
                StaffRole.objects.filter(user=request.user, role__in=roles).select_related(
                    "organisation"
                )
            )
            if not held:
                raise RuleViolation(
                    "staff_only", "本页面仅供 12345 热线和承办单位工作人员使用", status=403
                )
            request.hotline_roles = held  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


AGENT = (Role.HOTLINE_AGENT,)
STAFF = (Role.HOTLINE_AGENT, *HANDLING_ROLES, Role.SUPERVISOR)


def _staff_context(request: HttpRequest, **context: Any) -> dict[str, Any]:
    roles = getattr(request, "hotline_roles", [])
    return {
        "hotline_roles": roles,
        "is_agent": any(r.role == Role.HOTLINE_AGENT for r in roles),
        "is_handler": any(r.role in HANDLING_ROLES for r in roles),
        **context,
    }


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))


# The agent console -------------------------------------------------------------------------


@staff_with(*AGENT)
@require_safe
def console(request: HttpRequest) -> HttpResponse:
    """坐席工作台: take a call, search the knowledge base, the centre's open tickets."""
    search = SearchForm(request.GET)
    q = search.data.get("q", "").strip() if search.is_valid() else ""
    return render(
        request,
        "hotline/console.html",
        _staff_context(
            request,
            form=CallForm(),
            search=search,
            q=q,
            results=knowledge.search(q) if q else [],
            page=_page(request, selectors.centre_tickets(request.user)),
        ),
    )


def _attachments(form: Any) -> list[tuple[str, bytes]]:
    upload = form.cleaned_data.get("attachment")
    return [(upload.name, upload.read())] if upload else []


@staff_with(*AGENT)
@require_POST
def take_call(request: HttpRequest) -> HttpResponse:
    """登记来电 (one service call); a refusal goes back on the form."""
    form = CallForm(request.POST, request.FILES)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "attachment"}
        try:
            ticket = services.open_ticket(
                services.TicketIn(**data, channel=Channel.PHONE, attachments=_attachments(form)),
                actor=request.user,
            )
        except RuleViolation as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"已登记工单 {ticket.number}")
            return HttpResponseRedirect(reverse("hotline:ticket", args=[ticket.number]))
    context = _staff_context(
        request,
        form=form,
        search=SearchForm(),
        q="",
        results=[],
        page=_page(request, selectors.centre_tickets(request.user)),
    )
    return render(request, "hotline/console.html", context, status=422)


# One ticket ----------------------------------------------------------------------------------


def _field_spec(ticket: Ticket, schema: type[BaseModel], name: str) -> dict[str, Any]:
    info = schema.model_fields[name]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    widget = str(extra.get("widget", "text"))
    spec: dict[str, Any] = {
        "name": name,
        "label": info.title or name,
        "widget": widget,
        "required": info.is_required(),
    }
    if widget == "referral":
        spec["choices"] = Referral.choices
    elif widget == "callback_outcome":
        spec["choices"] = CallbackOutcome.choices
    elif widget == "category":
        spec["choices"] = [(c.code, c.name) for c in selectors.categories_in_force()]
        spec["value"] = ticket.category.code if ticket.category else ""
    elif widget in ("organisation", "organisations"):
        spec["choices"] = [(o.uscc, o.name) for o in selectors.organisations_for_place(ticket)]
    return spec


def _action_forms(ticket: Ticket, allowed: list[ActionSpec]) -> list[dict[str, Any]]:
    forms = []
    for action in allowed:
        schema = VOCABULARY.payloads[action.payload] if action.payload else None
        fields = [_field_spec(ticket, schema, n) for n in schema.model_fields] if schema else []
        forms.append(
            {
                "action": action,
                "fields": fields,
                "on_the_spot": "article" in (schema.model_fields if schema else {}),
            }
        )
    return forms


def timeline(ticket: Ticket) -> list[dict[str, Any]]:
    definition = PROCESS.definition_of(ticket)
    rows = []
    for event in ticket.events.all():
        spec = definition.any_action(event.action)
        rows.append(
            {
                "event": event,
                "label": spec.label if spec else EVENT_LABELS.get(event.action, event.action),
                "state": definition.label(event.to_state) if event.to_state else "",
            }
        )
    return rows


def _ticket_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    allowed = PROCESS.allowed(ticket, request.user)
    search = SearchForm(request.GET)
    q = search.data.get("q", "").strip() if search.is_valid() else ""
    return _staff_context(
        request,
        ticket=ticket,
        state=PROCESS.state_label(ticket),
        actions=[f for f in _action_forms(ticket, allowed) if not f["on_the_spot"]],
        on_the_spot=next((f for f in _action_forms(ticket, allowed) if f["on_the_spot"]), None),
        timeline=timeline(ticket),
        assignments=list(ticket.assignments.all()),
        lookup_form=extra.pop("lookup_form", CaseLookupForm()),
        search=search,
        q=q,
        results=knowledge.search(q) if q else [],
        **extra,
    )


@staff_with(*STAFF)
@require_safe
def ticket_detail(request: HttpRequest, number: str) -> HttpResponse:
    """一张工单: its content (caller masked), the timeline, the actions allowed to me."""
    ticket = selectors.get_ticket_for(request.user, number)
    return render(request, "hotline/ticket.html", _ticket_context(request, ticket))


def _payload(request: HttpRequest, action: ActionSpec) -> dict[str, Any]:
    """The action's payload from the form (fields prefixed `p_`); empty inputs are none."""
    if action.payload is None:
        return {}
    schema = VOCABULARY.payloads[action.payload]
    data: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if "list" in str(info.annotation):
            values = [v for v in request.POST.getlist(f"p_{name}") if v]
            if values:
                data[name] = values
        elif (value := request.POST.get(f"p_{name}", "")) != "":
            data[name] = value
    return data


@staff_with(*STAFF)
@require_POST
def ticket_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Take one workflow action; a refusal is shown on the ticket page with its status."""
    ticket = selectors.get_ticket_for(request.user, number)
    spec = PROCESS.spec_for(PROCESS.definition_of(ticket), ticket, action)
    try:
        take_action(
            ticket,
            action,
            actor=request.user,
            note=request.POST.get("note", ""),
            data=_payload(request, spec),
        )
    except RuleViolation as exc:
        context = _ticket_context(
            request,
            ticket,
            refusal={"action": spec.label, "message": exc.message, "problems": exc.problems},
        )
        return render(request, "hotline/ticket.html", context, status=exc.status)
    messages.success(request, f"已{spec.label}")
    if not Ticket.objects.for_user(request.user).filter(pk=ticket.pk).exists():
        # A return or re-dispatch can take the ticket out of the viewer's scope.
        return HttpResponseRedirect(reverse("hotline:inbox"))
    return HttpResponseRedirect(reverse("hotline:ticket", args=[number]))


@staff_with(*AGENT)
@require_POST
def case_lookup(request: HttpRequest, number: str) -> HttpResponse:
    """查询来电人本人办件 after an identity check (hotline.services.look_up_case)."""
    ticket = selectors.get_ticket_for(request.user, number)
    form = CaseLookupForm(request.POST)
    found = None
    if form.is_valid():
        try:
            found = services.look_up_case(
                ticket,
                form.cleaned_data["number"],
                form.cleaned_data["id_number"],
                actor=request.user,
            )
        except RuleViolation as exc:
            add_refusal(form, exc)
    ticket = selectors.get_ticket_for(request.user, number)
    return render(
        request,
        "hotline/ticket.html",
        _ticket_context(request, ticket, lookup_form=form, lookup=found),
        status=200 if found else 422,
    )


# The organisation's inbox and the knowledge base -------------------------------------------


@staff_with(*HANDLING_ROLES)
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """承办单位工单收件箱: open tickets dispatched to my organisations, by deadline."""
    return render(
        request,
        "hotline/inbox.html",
        _staff_context(request, page=_page(request, selectors.organisation_inbox(request.user))),
    )


@staff_with(*STAFF)
@require_safe
def knowledge_base(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    q = search.data.get("q", "").strip() if search.is_valid() else ""
    return render(
        request,
        "hotline/knowledge.html",
        _staff_context(request, search=search, q=q, results=knowledge.search(q) if q else []),
    )


@staff_with(*STAFF)
@require_safe
def guide_article(request: HttpRequest, code: str) -> HttpResponse:
    article = knowledge.get_guide_article(code)
    return render(request, "hotline/article.html", _staff_context(request, article=article))


@staff_with(*STAFF)
@require_safe
def written_article(request: HttpRequest, pk: int) -> HttpResponse:
    article = knowledge.get_written_article(pk)
    return render(request, "hotline/article.html", _staff_context(request, article=article))


# The citizen's pages and the public statistics ---------------------------------------------


def _citizen(request: HttpRequest) -> Person:
    if not request.user.is_authenticated:
        raise RuleViolation("login_required", "请先登录", status=401)
    person = Person.objects.filter(user=request.user).first()
    if person is None:
        raise RuleViolation("citizen_only", "我的诉求仅供实名注册的个人用户使用", status=403)
    return person


@require_safe
def my_tickets(request: HttpRequest) -> HttpResponse:
    """我的诉求."""
    _citizen(request)
    return render(
        request,
        "hotline/my_tickets.html",
        {"page": _page(request, selectors.my_tickets(request.user))},
    )


@require_safe
def my_ticket(request: HttpRequest, number: str) -> HttpResponse:
    """我的一件诉求, with its timeline and the answer."""
    _citizen(request)
    ticket = selectors.get_ticket_for(request.user, number)
    if ticket.caller_user_id != request.user.pk:
        raise selectors.not_found(number)
    return render(
        request,
        "hotline/my_ticket.html",
        {"ticket": ticket, "state": PROCESS.state_label(ticket), "timeline": timeline(ticket)},
    )


@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest) -> HttpResponse:
    """我要反映: a citizen files a request online."""
    person = _citizen(request)
    form = RequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "attachment"}
        try:
            ticket = services.open_ticket(
                services.TicketIn(
                    **data,
                    channel=Channel.WEB,
                    caller_name=person.name,
                    caller_phone=person.mobile,
                    attachments=_attachments(form),
                ),
                actor=request.user,
            )
        except RuleViolation as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"诉求已提交，编号 {ticket.number}")
            return HttpResponseRedirect(reverse("hotline:my_ticket", args=[ticket.number]))
    status = 422 if request.method == "POST" else 200
    return render(request, "hotline/new_request.html", {"form": form}, status=status)


@require_safe
def statistics(request: HttpRequest) -> HttpResponse:
    """诉求办理情况: public figures per organisation, no ticket and no caller."""
    return render(
        request, "hotline/statistics.html", {"rows": selectors.statistics_by_organisation()}
    )
