"""Companies online and their agents (经办人): registration checked by the company registry,
authorisation with a scope and an expiry, revocation, and the scope enforced by the case
services every entry point calls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.agents import authorise_agent, register_company_online, revoke_agent
from accounts.models import AgentAction, AgentAuthorisation, Company
from cases.engine import take_action
from cases.materials import add_material
from cases.models import Case
from cases.services import apply
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent
from tests import builders

pytestmark = pytest.mark.django_db
TEST = SystemActor("test")


def enterprise_uscc(seed: int) -> str:
    from stdnum.cn import uscc

    body = f"91210200{seed:08d}0"[:17]
    return body + uscc.calc_check_digit(body)


@pytest.fixture
def world():
    version = builders.item("企业名称变更登记", audience="company")
    other = builders.item("食品经营许可", audience="company", org=version.item.organisation)
    boss = builders.person("王大海")
    agent = builders.person("李经办")
    company = register_company_online(
        uscc=enterprise_uscc(1), name="大连海洋科技有限公司", actor=boss.user
    )
    return version, other, boss, agent, company


def grant(company, boss, agent, *, items, actions, days=30):
    return authorise_agent(
        company,
        agent_name=agent.name,
        agent_id_number=agent.id_number,
        items=items,
        actions=actions,
        valid_until=timezone.now() + dt.timedelta(days=days),
        actor=boss.user,
    )


def test_the_legal_representative_registers_online_checked_by_the_registry(world):
    _, _, boss, _, company = world
    assert company.representative == boss
    assert company.registry_checked_at is not None
    assert boss.user in company.agents.all()
    assert AuditEvent.objects.filter(action="register_company_online").exists()


def test_registration_is_refused_with_a_stable_code(world):
    _, _, boss, agent, company = world
    with pytest.raises(RuleViolation) as bad:
        register_company_online(uscc="91210200000000001X", name="某公司", actor=boss.user)
    assert bad.value.code == "company_registration_invalid"
    # A company the node knows, whose legal representative is someone else.
    with pytest.raises(RuleViolation) as other_person:
        register_company_online(uscc=company.uscc, name=company.name, actor=agent.user)
    assert other_person.value.code == "not_legal_representative"
    # Not an enterprise (registration authority 1, 机关).
    with pytest.raises(RuleViolation) as not_enterprise:
        register_company_online(uscc=builders.valid_uscc(77), name="某某局", actor=boss.user)
    assert not_enterprise.value.code == "company_not_found"
    assert Company.objects.count() == 1


def test_an_agent_applies_within_scope(world):
    version, _, boss, agent, company = world
    grant(company, boss, agent, items=[version.item.code], actions=[AgentAction.APPLY])
    case = apply(
        actor=agent.user,
        item_version=version,
        form_data={"reason": "变更"},
        company_uscc=company.uscc,
    )
    assert case.applicant_company == company
    assert case.submitted_by == agent.user


def test_an_agent_outside_scope_is_refused_and_nothing_is_written(world):
    version, other, boss, agent, company = world
    grant(company, boss, agent, items=[version.item.code], actions=[AgentAction.APPLY])
    with pytest.raises(RuleViolation) as bad:
        apply(
            actor=agent.user,
            item_version=other,
            form_data={"reason": "x"},
            company_uscc=company.uscc,
        )
    assert bad.value.code == "agent_out_of_scope"
    assert bad.value.status == 403
    assert not Case.objects.exists()


def test_an_action_outside_scope_is_refused(world):
    version, _, boss, agent, company = world
    grant(company, boss, agent, items=[], actions=[AgentAction.APPLY])
    case = apply(
        actor=agent.user,
        item_version=version,
        form_data={"reason": "变更"},
        company_uscc=company.uscc,
    )
    requirement = version.materials.first()
    with pytest.raises(RuleViolation) as bad:
        add_material(
            case, requirement, content=builders.uploaded_pdf(), name="a.pdf", actor=agent.user
        )
    assert bad.value.code == "agent_out_of_scope"
    assert not case.materials.exists()
    with pytest.raises(RuleViolation) as submit:
        take_action(case, "submit", actor=agent.user)  # in scope: refused for missing materials
    assert submit.value.code != "agent_out_of_scope"
    # The representative may do anything for the company.
    add_material(case, requirement, content=builders.uploaded_pdf(), name="a.pdf", actor=boss.user)
    assert case.materials.count() == 1


def test_an_expired_authorisation_is_refused(world):
    version, _, boss, agent, company = world
    authorisation = grant(company, boss, agent, items=[], actions=list(AgentAction.values))
    AgentAuthorisation.objects.filter(pk=authorisation.pk).update(
        valid_until=timezone.now() - dt.timedelta(minutes=1)
    )
    with pytest.raises(RuleViolation) as bad:
        apply(
            actor=agent.user,
            item_version=version,
            form_data={"reason": "x"},
            company_uscc=company.uscc,
        )
    assert bad.value.code == "agent_authorisation_expired"
    assert not Case.objects.exists()


def test_revocation_ends_the_mandate_and_the_view(world):
    version, _, boss, agent, company = world
    authorisation = grant(company, boss, agent, items=[], actions=list(AgentAction.values))
    assert agent.user in company.agents.all()
    revoke_agent(authorisation, actor=boss.user)
    assert agent.user not in company.agents.all()
    with pytest.raises(RuleViolation) as bad:
        apply(
            actor=agent.user,
            item_version=version,
            form_data={"reason": "x"},
            company_uscc=company.uscc,
        )
    assert bad.value.code == "company_not_authorised"
    with pytest.raises(RuleViolation) as again:
        revoke_agent(authorisation, actor=boss.user)
    assert again.value.code == "agent_already_revoked"


def test_only_the_representative_authorises_and_the_scope_is_checked(world):
    _, _, boss, agent, company = world
    with pytest.raises(RuleViolation) as not_boss:
        grant(company, agent, boss, items=[], actions=[AgentAction.APPLY])
    assert not_boss.value.code == "not_legal_representative"
    with pytest.raises(RuleViolation) as bad_scope:
        grant(company, boss, agent, items=["no-such-item"], actions=["fly"])
    assert bad_scope.value.code == "agent_scope_invalid"
    assert {p.code for p in bad_scope.value.problems} == {"agent_action_unknown", "item_unknown"}
    with pytest.raises(RuleViolation) as past:
        grant(company, boss, agent, items=[], actions=[AgentAction.APPLY], days=-1)
    assert past.value.code == "agent_expiry_past"
    assert not AgentAuthorisation.objects.exists()


def test_a_new_authorisation_replaces_the_old_one(world):
    version, _, boss, agent, company = world
    first = grant(company, boss, agent, items=[], actions=[AgentAction.APPLY])
    second = grant(company, boss, agent, items=[version.item.code], actions=[AgentAction.WITHDRAW])
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
