"""Pages of data sharing (/sharing/): the citizen's data log (who read my data, or my
company's), the requests a department made or must review with their actions, and the
data authority's alerts. Reads start from a selector; every change is one service or
`take_action` call. Refusals become a Chinese page (portal/middleware.py)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.models import StaffRole
from core.exceptions import RuleViolation
from federation.directory import node_names
from sharing import engine, exchange, selectors, services
from sharing.models import AccessLog, Method, RemoteRequestStatus

PER_PAGE = 20
RECENT = 5
OUTCOME_LABELS = dict(AccessLog.Outcome.choices)
METHOD_LABELS = dict(Method.choices)


@login_required
@require_safe
def data_log(request: HttpRequest) -> HttpResponse:
    """我的数据使用记录: every call about me (or about a company I am an agent of) by another
    organisation — who, when, for which purpose and case, and what it was told."""
    company = request.GET.get("company") == "1"
    person = getattr(request.user, "person", None)
    if company:
        rows = selectors.data_log_of_companies(request.user)
    elif person is not None:
        rows = selectors.data_log_of_person(person)
    else:
        rows = AccessLog.objects.none()
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/data_log.html",
        {
            "page": page,
            "company": company,
            "companies": selectors.companies_of(request.user),
            "outcomes": OUTCOME_LABELS,
            "methods": METHOD_LABELS,
            "nodes": node_names(),
        },
    )


@login_required
@require_safe
def requests_page(request: HttpRequest) -> HttpResponse:
    """共享需求: what my organisation asked for, or must review (its due date and warning),
    and the grants it holds."""
    rows = selectors.requests_for(request.user)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    labels = {r.number: engine.PROCESS.state_label(r) for r in page.object_list}
    return render(
        request,
        "sharing/requests.html",
        {
            "page": page,
            "labels": labels,
            "grants": selectors.grants_of(request.user),
            "held": selectors.held_grants_of(request.user),
            "resources": selectors.published_resources(),
            "roles": StaffRole.objects.filter(user_id=request.user.pk or 0).select_related(
                "organisation"
            ),
            "default_until": timezone.localdate() + dt.timedelta(days=365),
            "nodes": node_names(),
        },
    )


@login_required
@require_POST
def create_request(request: HttpRequest) -> HttpResponse:
    """提出共享需求 from the page (the first organisation the user works for)."""
    role = (
        StaffRole.objects.filter(user_id=request.user.pk or 0)
        .select_related("organisation")
        .first()
    )
    if role is None:
        raise RuleViolation("action_forbidden", "只有部门工作人员可以提出共享需求", status=403)
    resource = selectors.get_resource(request.POST.get("resource", ""))
    try:
        valid_until = dt.date.fromisoformat(request.POST.get("valid_until", ""))
    except ValueError as exc:
        raise RuleViolation("valid_until_invalid", "使用期限日期格式不对") from exc
    found = services.submit_request(
        resource=resource,
        consumer=role.organisation,
        fields=request.POST.getlist("fields"),
        methods=request.POST.getlist("methods"),
        purpose=request.POST.get("purpose", ""),
        legal_basis=request.POST.get("legal_basis", ""),
        valid_until=valid_until,
        actor=request.user,
    )
    messages.success(request, f"已提出共享需求 {found.number}。")
    return HttpResponseRedirect(reverse("sharing:request", args=[found.number]))


@login_required
@require_safe
def request_page(request: HttpRequest, number: str) -> HttpResponse:
    found = selectors.get_request_for(request.user, number)
    return render(
        request,
        "sharing/request.html",
        {
            "r": found,
            "state_label": engine.PROCESS.state_label(found),
            "actions": engine.PROCESS.allowed(found, request.user),
            "events": engine.timeline(found),
            "grant": getattr(found, "grant", None),
            "nodes": node_names(),
        },
    )


@login_required
@require_POST
def request_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    found = selectors.get_request_for(request.user, number)
    changed = engine.take_action(
        found, action, actor=request.user, note=request.POST.get("note", "")
    )
    credential = getattr(changed, "issued_credential", None)
    if credential:
        messages.success(
            request,
            f"已授权。授权凭据（只显示这一次，请交给需求部门）：{credential}",
        )
    elif changed.state == "granted" and changed.consumer_node:
        where = node_names().get(changed.consumer_node, changed.consumer_node)
        messages.success(request, f"已授权。授权通知将经联邦报文送达{where}，无需凭据。")
    return HttpResponseRedirect(reverse("sharing:request", args=[number]))


@login_required
@require_safe
def alerts(request: HttpRequest) -> HttpResponse:
    """越权调用告警 for the data authority (supervisors of the provider's division)."""
    rows = selectors.alerts_for(request.user)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/alerts.html",
        {"page": page, "methods": METHOD_LABELS, "nodes": node_names()},
    )


@login_required
@require_safe
def remote(request: HttpRequest) -> HttpResponse:
    """向其他节点提出共享需求: the other nodes of the federation, the chosen node's sharing
    catalog (asked there now) and the form; what this department sent and the refusals."""
    from django.conf import settings

    from federation.directory import current, is_federated

    nodes = (
        [n for n in current().nodes.values() if n.id != settings.NODE_ID] if is_federated() else []
    )
    roles = selectors.department_roles(request.user, doing="提出共享需求")
    node = request.GET.get("node", "")
    catalog = exchange.remote_catalog(node) if node else []
    return render(
        request,
        "sharing/remote.html",
        {
            "nodes": sorted(nodes, key=lambda n: n.id),
            "node": node,
            "node_name": next((n.name for n in nodes if n.id == node), node),
            "catalog": catalog,
            "sent": selectors.remote_requests_of(request.user)[:RECENT],
            "names": {n.id: n.name for n in nodes},
            "roles": roles,
            "default_until": timezone.localdate() + dt.timedelta(days=365),
        },
    )


@login_required
@require_safe
def remote_requests(request: HttpRequest) -> HttpResponse:
    """向其他节点提出的需求: this node's live copies of the requests the user's departments
    sent to other nodes, with the status the providers' nodes last told."""
    rows = selectors.remote_requests_of(request.user, state=request.GET.get("state", ""))
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/remote_requests.html",
        {"page": page, "names": node_names(), "states": RemoteRequestStatus.choices},
    )


@login_required
@require_POST
def create_remote_request(request: HttpRequest) -> HttpResponse:
    """The form of the remote page: one `file_remote_request` call."""
    roles = StaffRole.objects.filter(user_id=request.user.pk or 0).select_related("organisation")
    chosen = request.POST.get("consumer", "")
    orgs = {r.organisation.uscc: r.organisation for r in roles}
    consumer = orgs.get(chosen) if chosen else next(iter(orgs.values()), None)
    if consumer is None:
        raise RuleViolation("action_forbidden", "只有部门工作人员可以提出共享需求", status=403)
    node = request.POST.get("node", "")
    try:
        valid_until = dt.date.fromisoformat(request.POST.get("valid_until", ""))
    except ValueError as exc:
        raise RuleViolation("valid_until_invalid", "使用期限日期格式不对") from exc
    scene = [s.strip() for s in request.POST.get("scene_items", "").split("、") if s.strip()]
    remote = exchange.file_remote_request(
        node=node,
        resource_code=request.POST.get("resource", ""),
        consumer=consumer,
        fields=request.POST.getlist("fields"),
        methods=request.POST.getlist("methods"),
        purpose=request.POST.get("purpose", ""),
        legal_basis=request.POST.get("legal_basis", ""),
        valid_until=valid_until,
        scene_items=scene,
        actor=request.user,
    )
    where = node_names().get(node, node)
    messages.success(
        request,
        f"已向{where}的{remote.provider_name}提出共享需求（{remote.reference}），待对方审核。",
    )
    return HttpResponseRedirect(f"{reverse('sharing:remote')}?node={node}")
