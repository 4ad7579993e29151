"""Registering a natural person: the ID number checked, the real-name service asked, the
number stored encrypted with a keyed hash beside it, and nothing written when refused."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import Person
from accounts.services import find_person, register_person
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent
from core.personal_data import current_prefix
from tests import builders


def _raw_columns(person: Person) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, mobile FROM accounts_person WHERE id = %s", [person.pk])
        return cursor.fetchone()


def test_new_person_is_stored_encrypted_and_masked():
    number = builders.valid_id_number("19880512")
    person = register_person(
        name="王芳", id_number=number, mobile="139 0411 2368", actor=SystemActor("test")
    )

    person.refresh_from_db()
    assert person.id_number == number and person.mobile == "13904112368"
    assert person.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert person.mobile_masked == "139****2368"
    assert person.real_name_verified_at is not None
    raw_id, raw_mobile = _raw_columns(person)
    assert raw_id.startswith(current_prefix()) and number not in raw_id
    assert raw_mobile.startswith(current_prefix()) and "13904112368" not in raw_mobile
    assert find_person(number) == person
    audit = AuditEvent.objects.get(action="register_person")
    assert number not in audit.summary and "王芳" not in audit.summary
    assert person.id_number_masked in audit.summary


def test_existing_person_with_the_same_name_is_returned_and_completed():
    number = builders.valid_id_number("19880512")
    first = register_person(name="王芳", id_number=number, actor=SystemActor("test"))
    audits = AuditEvent.objects.count()
    user = get_user_model().objects.create_user("wangfang")

    again = register_person(
        name=" 王芳 ",
        id_number=number.lower(),
        mobile="13904112368",
        user=user,
        actor=SystemActor("test"),
    )

    assert again.pk == first.pk and Person.objects.count() == 1
    again.refresh_from_db()
    assert again.user == user and again.mobile == "13904112368"
    assert AuditEvent.objects.count() == audits


def test_existing_person_with_another_name_is_refused():
    number = builders.valid_id_number("19880512")
    register_person(name="王芳", id_number=number, actor=SystemActor("test"))
    with pytest.raises(RuleViolation) as info:
        register_person(
            name="王方", id_number=number, mobile="13904112368", actor=SystemActor("test")
        )
    assert info.value.code == "person_name_mismatch"
    assert Person.objects.get().mobile == ""


@pytest.mark.parametrize(
    "number, code",
    [
        ("21020219880512024", "id_number_format"),  # 17 characters
        ("2102021988051202X5", "id_number_format"),
        ("210202198805120240", "id_number_checksum"),  # the check character is 5
    ],
)
def test_invalid_id_number_is_refused_with_its_code(number, code):
    with pytest.raises(RuleViolation) as info:
        register_person(name="王芳", id_number=number, actor=SystemActor("test"))
    assert info.value.code == code
    assert not Person.objects.exists() and not AuditEvent.objects.exists()


def test_impossible_birth_date_is_refused():
    from stdnum.cn import ric

    body = "21020219880230024"  # 30 February, with a correct check character
    with pytest.raises(RuleViolation) as info:
        register_person(
            name="王芳",
            id_number=body + ric.calc_check_digit(body + "0"),
            actor=SystemActor("test"),
        )
    assert info.value.code == "id_number_component"


def test_invalid_mobile_is_refused():
    with pytest.raises(RuleViolation) as info:
        register_person(
            name="王芳",
            id_number=builders.valid_id_number(),
            mobile="12345",
            actor=SystemActor("test"),
        )
    assert info.value.code == "mobile_format"
    assert not Person.objects.exists()


def test_real_name_refused_by_the_local_adapter_writes_nothing():
    with pytest.raises(RuleViolation) as info:
        register_person(
            name="Wang Fang", id_number=builders.valid_id_number(), actor=SystemActor("test")
        )
    assert info.value.code == "real_name_mismatch"
    assert "姓名应为2至30个汉字" in info.value.message
    assert not Person.objects.exists() and not AuditEvent.objects.exists()


def test_real_name_refused_by_the_province_writes_nothing(use_adapters, settings, local_server):
    use_adapters(real_name="accounts.adapters.HttpRealNameService")
    settings.REAL_NAME_URL = local_server.url
    local_server.reply = lambda r: (
        200,
        json.dumps({"matched": False, "reason": "查无此人"}).encode(),
    )
    user = get_user_model().objects.create_user("someone")
    with pytest.raises(RuleViolation) as info:
        register_person(
            name="王芳", id_number=builders.valid_id_number(), user=user, actor=SystemActor("test")
        )
    assert info.value.code == "real_name_mismatch" and "查无此人" in info.value.message
    assert len(local_server.received) == 1
    assert not Person.objects.exists() and not AuditEvent.objects.exists()


def test_real_name_service_down_refuses_with_its_own_code(use_adapters, settings, closed_port_url):
    use_adapters(real_name="accounts.adapters.HttpRealNameService")
    settings.REAL_NAME_URL = closed_port_url
    with pytest.raises(RuleViolation) as info:
        register_person(
            name="王芳", id_number=builders.valid_id_number(), actor=SystemActor("test")
        )
    assert (info.value.code, info.value.status) == ("real_name_unavailable", 503)
    assert "暂不可用" in info.value.message
    assert not Person.objects.exists()


def test_registration_without_the_check_skips_the_service(use_adapters, settings, closed_port_url):
    use_adapters(real_name="accounts.adapters.HttpRealNameService")
    settings.REAL_NAME_URL = closed_port_url
    person = register_person(
        name="王芳",
        id_number=builders.valid_id_number(),
        verify_real_name=False,
        actor=SystemActor("test"),
    )
    assert person.real_name_verified_at is None
