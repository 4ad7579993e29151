"""An agent whose authorisation expired or was revoked no longer sees the company's cases,
bundle cases, licences, payments or data log — on the portal and in the API — not only
no longer acts (accounts.agents.acting_companies, decision 282). The representative
always sees them; an agent with a live authorisation sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.agents import (
    acting_accounts,
    acting_companies,
    authorise_agent,
    register_company_online,
    revoke_agent,
)
from accounts.models import AgentAction, AgentAuthorisation
from cases.services import apply
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.personal_data import lookup_hash
from licences import services as licence_services
from sharing.models import AccessLog
from tests import builders
from tests.accounts.test_agents import enterprise_uscc

pytestmark = pytest.mark.django_db
TEST = SystemActor("test")


@pytest.fixture
def world():
    version = builders.item("企业名称变更登记", audience="company")
    boss = builders.person("王大海")
    agent = builders.person("李经办")
    company = register_company_online(
        uscc=enterprise_uscc(7), name="大连海洋科技有限公司", actor=boss.user
    )
    authorisation = authorise_agent(
        company,
        agent_name=agent.name,
        agent_id_number=agent.id_number,
        items=[],
        actions=list(AgentAction.values),
        valid_until=timezone.now() + dt.timedelta(days=30),
        actor=boss.user,
    )
    case = apply(
        actor=agent.user,
        item_version=version,
        form_data={"reason": "变更"},
        company_uscc=company.uscc,
    )
    org = version.item.organisation
    licence_services.create_seal(org, actor=TEST)
    licence = licence_services.issue_licence(
        licence_type=builders.licence_type(),
        holder=licence_services.Holder.of_company(company),
        issuer=org,
        face_data={},
        case_number=case.number,
        actor=TEST,
    )
    AccessLog.objects.create(
        consumer_label="大连市税务局",
        method="verify",
        subject_kind="company",
        subject_hash=lookup_hash(company.uscc),
        subject_masked="大连海洋**",
        purpose="核验企业登记",
        outcome=AccessLog.Outcome.ANSWERED,
    )
    return {
        "boss": boss,
        "agent": agent,
        "company": company,
        "authorisation": authorisation,
        "case": case,
        "licence": licence,
    }


def _expire(world):
    AgentAuthorisation.objects.filter(pk=world["authorisation"].pk).update(
        valid_until=timezone.now() - dt.timedelta(minutes=1)
    )


def _revoke(world):
    revoke_agent(world["authorisation"], actor=world["boss"].user)


def _sees(client, user, world) -> dict[str, bool]:
    """What `user` sees of the company through every entry point, portal and API."""
    number, identifier = world["case"].number, world["licence"].identifier
    client.force_login(user)
    portal = {
        "portal_cases": number in client.get("/my/cases/").content.decode(),
        "portal_case": client.get(f"/my/cases/{number}/").status_code == 200,
        "portal_wallet": identifier in client.get("/my/licences/").content.decode(),
        "portal_licence": client.get(f"/my/licences/{identifier}/").status_code == 200,
        "portal_data_log": "大连市税务局" in client.get("/sharing/my/?company=1").content.decode(),
    }
    client.logout()
    headers = builders.bearer(user)
    cases = client.get("/api/v1/cases", **headers).json()["items"]
    licences = client.get("/api/v1/licences", **headers).json()
    log = client.get("/api/v1/sharing/my-data-log?company=true", **headers).json()
    api = {
        "api_cases": any(c["number"] == number for c in cases),
        "api_case": client.get(f"/api/v1/cases/{number}", **headers).status_code == 200,
        "api_payments": client.get(f"/api/v1/cases/{number}/payments", **headers).status_code
        == 200,
        "api_licences": any(row["identifier"] == identifier for row in licences),
        "api_licence": client.get(f"/api/v1/licences/{identifier}", **headers).status_code == 200,
        "api_data_log": any(row["consumer"] == "大连市税务局" for row in log["items"]),
    }
    return portal | api


def test_an_authorised_agent_and_the_representative_see_everything(world, client):
    assert all(_sees(client, world["agent"].user, world).values())
    assert all(_sees(client, world["boss"].user, world).values())


@pytest.mark.parametrize("end", [_expire, _revoke], ids=["expired", "revoked"])
def test_an_agent_whose_authorisation_ended_sees_nothing_of_the_company(world, client, end):
    end(world)
    seen = _sees(client, world["agent"].user, world)
    assert not any(seen.values()), [k for k, v in seen.items() if v]
    # The representative still sees it all.
    assert all(_sees(client, world["boss"].user, world).values())


def test_the_rule_names_the_live_accounts_only(world):
    company, agent, boss = world["company"], world["agent"].user, world["boss"].user
    assert list(acting_accounts(company)) == sorted([boss, agent], key=lambda u: u.pk)
    assert list(acting_companies(agent)) == [company]
    _expire(world)
    assert list(acting_accounts(company)) == [boss]
    assert not acting_companies(agent).exists()
    # A company's notices go to the representative once the agent's mandate ended.
    from cases.timeline import _applicant_user_and_mobile

    assert _applicant_user_and_mobile(world["case"])[0] == boss


@pytest.fixture
def company_bundle(world):
    """A bundle of two company items: the world's item, then a second one."""
    from catalog.bundles import StepData, create_bundle_version, publish_bundle_version, save_bundle

    first = world["case"].item_version
    second = builders.item("公章刻制备案", audience="company", org=first.item.organisation)
    bundle = save_bundle(code="firm", name="开办企业", audience="company", actor=TEST)
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=[{"name": "reason", "label": "原因", "type": "text"}],
        steps=[
            StepData(1, first.item, field_map={"reason": "reason"}),
            StepData(2, second.item, field_map={"reason": "reason"}),
        ],
        actor=TEST,
        change_note="x",
    )
    return publish_bundle_version(version, actor=TEST), first, second


def _start(version, world):
    from cases.bundles import start_bundle_case

    return start_bundle_case(
        bundle_version=version,
        form_data={"reason": "开办"},
        actor=world["agent"].user,
        company_uscc=world["company"].uscc,
    )


def test_a_company_bundle_is_refused_up_front_outside_the_agent_scope_or_after_expiry(
    world, company_bundle, client
):
    from cases.models import BundleCase

    version, first, _second = company_bundle
    bundle_case = _start(version, world)  # every item and action: allowed
    authorise_agent(
        world["company"],
        agent_name=world["agent"].name,
        agent_id_number=world["agent"].id_number,
        items=[first.item.code],
        actions=[AgentAction.APPLY],
        valid_until=timezone.now() + dt.timedelta(days=30),
        actor=world["boss"].user,
    )
    with pytest.raises(RuleViolation) as narrow:
        _start(version, world)
    assert narrow.value.code == "agent_out_of_scope"
    assert BundleCase.objects.count() == 1
    AgentAuthorisation.objects.filter(revoked_at__isnull=True).update(
        valid_until=timezone.now() - dt.timedelta(minutes=1)
    )
    with pytest.raises(RuleViolation) as late:
        _start(version, world)
    assert late.value.code == "agent_authorisation_expired"
    # Nor does the agent see the company's bundle case any more, in the API or the portal.
    headers = builders.bearer(world["agent"].user)
    assert client.get(f"/api/v1/bundle-cases/{bundle_case.number}", **headers).status_code == 404
    assert client.get("/api/v1/bundle-cases", **headers).json()["items"] == []
    client.force_login(world["agent"].user)
    assert client.get(f"/my/bundles/{bundle_case.number}/").status_code == 404
    client.force_login(world["boss"].user)
    assert client.get(f"/my/bundles/{bundle_case.number}/").status_code == 200
