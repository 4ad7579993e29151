"""Identifiers are NFKC-normalised to ASCII at every entry point (decision 80): full-width
digits of someone's ID number are that same number, never a second person or account."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import Person
from accounts.services import register_citizen, register_person
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.validators import normalize_id_number, normalize_mobile, normalize_uscc
from tests import builders

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


def test_full_width_identifiers_normalise_to_ascii():
    number = builders.valid_id_number("19880512")
    assert normalize_id_number(full_width(number)) == number
    assert normalize_mobile("１３９０４１１２３６８") == "13904112368"
    code = builders.valid_uscc(7)
    assert normalize_uscc(full_width(code)) == code


@pytest.mark.parametrize(
    "digits",
    [
        "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic
        "০১২৩৪৫৬৭৮৯",  # Bengali
    ],
)
def test_other_unicode_digits_are_refused(digits):
    number = builders.valid_id_number("19880512")
    foreign = number.translate(str.maketrans("0123456789", digits))
    with pytest.raises(ValidationError) as info:
        normalize_id_number(foreign)
    assert info.value.code == "id_number_format"
    with pytest.raises(ValidationError):
        normalize_mobile("1" + "3904112368".translate(str.maketrans("0123456789", digits)))
    with pytest.raises(ValidationError):
        normalize_uscc(builders.valid_uscc(8).translate(str.maketrans("0123456789", digits)))


def test_registering_full_width_digits_of_an_existing_id_is_refused_as_a_duplicate():
    number = builders.valid_id_number("19880512")
    register_citizen(
        name="王芳",
        id_number=number,
        mobile="13904112368",
        password="a-long-pass-phrase-7",
        actor=SystemActor("test"),
    )
    with pytest.raises(RuleViolation) as info:
        register_citizen(
            name="王芳",
            id_number=full_width(number),
            mobile="13904112369",
            password="a-long-pass-phrase-8",
            actor=SystemActor("test"),
        )
    assert info.value.code == "person_already_registered"
    assert Person.objects.count() == 1


def test_a_clerk_cannot_create_a_second_person_with_full_width_digits(client):
    org = builders.organisation("大连市公安局", "210200")
    version = builders.item("开具户籍类证明", org=org, promised_limit=10)
    citizen = builders.person("王五")
    clerk_user = builders.staff("window_clerk", org)
    builders.at_window(clerk_user, version)
    clerk = builders.bearer(clerk_user)

    def apply(name: str, number: str):
        body = {
            "item": version.item.code,
            "form": {"reason": "入学"},
            "applicant": {"kind": "person", "name": name, "id_number": number},
        }
        return client.post(
            "/api/v1/cases", json.dumps(body), content_type="application/json", **clerk
        )

    r = apply("李四", full_width(citizen.id_number))
    assert (r.status_code, r.json()["code"]) == (422, "person_name_mismatch")
    r = apply("王五", full_width(citizen.id_number))
    assert r.status_code == 201, r.content
    assert Person.objects.count() == 1


def test_check_identifiers_reports_stored_non_ascii_numbers():
    call_command("check_identifiers")  # a clean database passes
    person = register_person(
        name="赵六", id_number=builders.valid_id_number(), actor=SystemActor("test")
    )
    # A row written before the validators normalised input (bypassing them).
    Person.objects.filter(pk=person.pk).update(id_number="２１０２０２１９９００１０１００１Ｘ")
    with pytest.raises(CommandError, match="1 个"):
        call_command("check_identifiers")
