"""Pages of companies online: a legal representative registers the company and
authorises, lists and revokes its agents (经办人); an agent sees the companies they act
for, with the scope and expiry of each authorisation. The rules are in accounts.agents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.agents import (
    authorisations_of,
    authorise_agent,
    companies_represented,
    register_company_online,
    revoke_agent,
)
from accounts.models import AgentAction, AgentAuthorisation, Company
from core.exceptions import RuleViolation
from portal.forms import AgentForm, CompanyRegisterForm, add_problems


def _acting_for(user: Any) -> list[AgentAuthorisation]:
    return list(
        AgentAuthorisation.objects.filter(agent=user, revoked_at__isnull=True)
        .select_related("company")
        .order_by("company__name")
    )


def _labels(verbs: list[str]) -> str:
    return "、".join(AgentAction(v).label for v in verbs if v in AgentAction.values)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def companies(request: HttpRequest) -> HttpResponse:
    """我的企业: the companies I represent (register one here) and those I act for."""
    form = CompanyRegisterForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                company = register_company_online(
                    uscc=form.cleaned_data["uscc"],
                    name=form.cleaned_data["name"],
                    actor=request.user,
                )
            except RuleViolation as exc:
                add_problems(form, exc)
            else:
                messages.success(request, f"{company.name} 已注册，您可以为其授权经办人。")
                return HttpResponseRedirect(reverse("portal:company_agents", args=[company.uscc]))
        status = 422
    now = timezone.now()
    acting = [
        {
            "authorisation": a,
            "actions": _labels(a.actions),
            "expired": a.valid_until is not None and a.valid_until <= now,
        }
        for a in _acting_for(request.user)
    ]
    context = {
        "form": form,
        "represented": companies_represented(request.user),
        "acting": acting,
    }
    return render(request, "portal/companies.html", context, status=status)


def _represented(request: HttpRequest, uscc: str) -> Company:
    company = next((c for c in companies_represented(request.user) if c.uscc == uscc), None)
    if company is None:
        raise Http404("您不是该企业的法定代表人")
    return company


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def company_agents(request: HttpRequest, uscc: str) -> HttpResponse:
    """经办人管理: the company's authorisations; authorise another agent."""
    company = _represented(request, uscc)
    form = AgentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            end_of_day = dt.datetime.combine(data["valid_until"], dt.time.max)
            try:
                authorise_agent(
                    company,
                    agent_name=data["agent_name"],
                    agent_id_number=data["agent_id_number"],
                    items=form.item_codes(),
                    actions=data["actions"],
                    valid_until=timezone.make_aware(end_of_day),
                    actor=request.user,
                )
            except RuleViolation as exc:
                add_problems(form, exc, fields={"code:agent_expiry_past": "valid_until"})
            else:
                messages.success(request, f"已授权 {data['agent_name']} 为经办人。")
                return HttpResponseRedirect(request.path)
        status = 422
    now = timezone.now()
    rows = [
        {
            "authorisation": a,
            "actions": _labels(a.actions),
            "active": a.revoked_at is None and (a.valid_until is None or a.valid_until > now),
        }
        for a in authorisations_of(company)
    ]
    return render(
        request,
        "portal/company_agents.html",
        {"company": company, "form": form, "rows": rows},
        status=status,
    )


@login_required
@require_POST
def revoke_company_agent(request: HttpRequest, uscc: str, authorisation_id: int) -> HttpResponse:
    company = _represented(request, uscc)
    authorisation = AgentAuthorisation.objects.filter(pk=authorisation_id, company=company).first()
    if authorisation is None:
        raise Http404("没有该授权")
    try:
        revoke_agent(authorisation, actor=request.user)
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已撤销 {authorisation.agent_name} 的经办授权。")
    return HttpResponseRedirect(reverse("portal:company_agents", args=[company.uscc]))
