"""A result the applicant already holds (issue 9, item 5): an item that re-issues it
supersedes the held licence on approval; an item that cannot give it twice is refused when
applying — at every entry, with a stable code, nothing written — never after approval."""

from __future__ import annotations

import json

import pytest

from cases import engine, services
from cases.models import Case
from catalog.models import ItemVersion
from core.actors import SystemActor
from core.exceptions import RuleViolation
from licences import services as licence_services
from licences.models import Licence
from tests import builders
from tests.case_pages import (
    REGISTERED_ADDRESS,
    World,
    approved_licence_case,
    build_world,
    household_licence_type,
    licence_item,
    police_seal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    world = build_world()
    police_seal(world)
    return world


def _item(world: World, held_result: str) -> ItemVersion:
    version = licence_item(world, household_licence_type(allow_multiple=False))
    # Setup only: a published version is frozen to services.
    ItemVersion.objects.filter(pk=version.pk).update(held_result=held_result)
    version.refresh_from_db()
    return version


def test_a_replacing_item_supersedes_the_held_licence(world: World):
    version = _item(world, ItemVersion.HeldResult.REPLACE)
    first = approved_licence_case(world, version)
    old = Licence.objects.get(case_number=first.number)

    second = approved_licence_case(world, version)

    assert second.state == "approved"
    new = Licence.objects.get(case_number=second.number)
    old.refresh_from_db()
    assert old.status == Licence.Status.SUPERSEDED
    assert new.supersedes == old and new.version == old.version + 1 and new.serial == old.serial
    assert second.events.filter(action="issue_licence", note__contains=old.identifier).exists()
    verdict = licence_services.verify_token(old.token, actor=SystemActor("test"), channel="api")
    assert (verdict.outcome, verdict.code, verdict.status) == (
        "revoked",
        "licence_superseded",
        "superseded",
    )
    fresh = licence_services.verify_token(new.token, actor=SystemActor("test"), channel="api")
    assert fresh.outcome == "valid"


def test_a_single_result_is_refused_when_applying_not_after_approval(world: World):
    version = _item(world, ItemVersion.HeldResult.REFUSE)
    approved_licence_case(world, version)
    cases_before = Case.objects.count()

    with pytest.raises(RuleViolation) as refused:
        services.start_case(
            item_version=version,
            form_data={"registered_address": REGISTERED_ADDRESS},
            person=world.applicant,
            actor=world.applicant.user,
        )
    assert refused.value.code == "result_already_held"
    assert "居民户籍证明" in refused.value.message
    assert Case.objects.count() == cases_before

    # Another person is not concerned.
    other = builders.person("李四")
    case = services.start_case(
        item_version=version,
        form_data={"registered_address": REGISTERED_ADDRESS},
        person=other,
        actor=other.user,
    )
    assert case.state == "draft"


def test_a_draft_is_refused_at_submission_once_the_result_is_held(world: World):
    version = _item(world, ItemVersion.HeldResult.REFUSE)
    draft = services.start_case(
        item_version=version,
        form_data={"registered_address": REGISTERED_ADDRESS},
        person=world.applicant,
        actor=world.applicant.user,
    )
    approved_licence_case(world, version)

    with pytest.raises(RuleViolation) as refused:
        engine.take_action(draft, "submit", actor=world.applicant.user)
    assert refused.value.code == "result_already_held"
    draft.refresh_from_db()
    assert draft.state == "draft" and draft.submitted_at is None


def test_the_api_refuses_a_second_single_result_with_a_stable_code(client, world: World):
    version = _item(world, ItemVersion.HeldResult.REFUSE)
    approved_licence_case(world, version)
    cases_before = Case.objects.count()
    client.force_login(world.applicant.user)

    response = client.post(
        "/api/v1/cases",
        json.dumps(
            {
                "item": version.item.code,
                "form": {"registered_address": REGISTERED_ADDRESS},
                "submit": True,
            }
        ),
        content_type="application/json",
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "result_already_held"
    assert Case.objects.count() == cases_before


def test_the_portal_refuses_a_second_single_result_in_chinese(client, world: World):
    version = _item(world, ItemVersion.HeldResult.REFUSE)
    approved_licence_case(world, version)
    cases_before = Case.objects.count()
    client.force_login(world.applicant.user)
    code = version.item.code
    page = client.get(f"/items/{code}/apply/").content.decode()
    import re

    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key
    response = client.post(
        f"/items/{code}/apply/",
        {
            "applicant": "person",
            "place": version.item.division.code,
            "idempotency_key": key.group(1),
            "form-registered_address": REGISTERED_ADDRESS,
        },
    )
    assert "不能重复申请" in response.content.decode()
    assert Case.objects.count() == cases_before
