"""Assurance levels: established at sign-in, kept in the session, required per item
version and enforced when applying online."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.assurance import SESSION_KEY, identity_level, level_of, verify_in_person
from accounts.services import register_person
from cases.models import Case
from cases.services import apply
from core.actors import SystemActor
from core.assurance import Assurance, lowest
from core.exceptions import RuleViolation
from tests import builders

pytestmark = pytest.mark.django_db
TEST = SystemActor("test")


def unverified_person(name: str = "赵未核"):
    user = get_user_model().objects.create_user("unverified", password="pw-123456")
    return register_person(
        name=name,
        id_number=builders.valid_id_number(),
        user=user,
        actor=TEST,
        verify_real_name=False,
    )


def test_identity_levels_follow_the_person_record():
    clerk = builders.staff("window_clerk", builders.organisation())
    plain = unverified_person()
    checked = builders.person("钱实名")
    assert identity_level(plain.user) == Assurance.PASSWORD
    assert identity_level(checked.user) == Assurance.REAL_NAME
    verify_in_person(checked, actor=clerk)
    assert identity_level(checked.user) == Assurance.IN_PERSON
    with pytest.raises(RuleViolation) as bad:
        verify_in_person(plain, actor=checked.user)
    assert bad.value.code == "action_forbidden"
    assert lowest(Assurance.IN_PERSON, Assurance.REAL_NAME) == Assurance.REAL_NAME


def test_an_item_requiring_a_higher_level_refuses_a_lower_sign_in():
    version = builders.item(assurance_level=Assurance.REAL_NAME)
    plain = unverified_person()
    with pytest.raises(RuleViolation) as bad:
        apply(actor=plain.user, item_version=version, form_data={"reason": "投靠"})
    assert bad.value.code == "assurance_too_low"
    assert bad.value.status == 403
    assert not Case.objects.exists()
    checked = builders.person("孙实名")
    assert apply(actor=checked.user, item_version=version, form_data={"reason": "投靠"})


def test_the_session_carries_the_level_of_its_sign_in(client):
    version = builders.item(assurance_level=Assurance.IN_PERSON)
    checked = builders.person("周实名")
    client.force_login(checked.user)
    assert client.session[SESSION_KEY] == Assurance.REAL_NAME
    answer = client.post(
        "/api/v1/cases",
        {"item": version.item.code, "form": {"reason": "投靠"}},
        content_type="application/json",
    )
    assert answer.status_code == 403, answer.content
    assert answer.json()["code"] == "assurance_too_low"
    # Checked at a window afterwards: the level counts from the next sign-in on.
    verify_in_person(checked, actor=builders.staff("window_clerk", builders.organisation()))
    checked.user.assurance_level = Assurance.REAL_NAME
    assert level_of(checked.user) == Assurance.REAL_NAME
    client.force_login(checked.user)
    assert client.session[SESSION_KEY] == Assurance.IN_PERSON
    again = client.post(
        "/api/v1/cases",
        {"item": version.item.code, "form": {"reason": "投靠"}},
        content_type="application/json",
    )
    assert again.status_code == 201, again.content
