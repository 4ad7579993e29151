"""Licence faces are masked for everyone but the holder, the canonical bytes (which carry
the holder's ID number in clear) are the holder's alone, and the coverage is for
supervisors and organisation admins (decision 82)."""

from __future__ import annotations

import pytest

from catalog.models import LicenceType
from core.actors import SystemActor
from licences import services
from licences.models import LicenceEvent
from licences.rendering import face_rows
from licences.selectors import face_for
from tests import builders

ADDRESS = "辽宁省大连市中山区人民路 15 号 3 单元 502"


@pytest.fixture
def issued():
    org = builders.organisation("大连市公安局", "210200")
    licence_type = LicenceType.objects.create(
        code="11100000000013338W011",
        name="居住证",
        face_fields=[
            {"name": "address", "label": "居住地址", "type": "address"},
            {"name": "guardian_id", "label": "监护人身份号码", "type": "id_number"},
            {"name": "phone", "label": "联系电话", "type": "phone"},
            {"name": "note", "label": "备注", "type": "text"},
        ],
    )
    services.create_seal(org, actor=SystemActor("test"))
    person = builders.person("刘一")
    guardian = builders.valid_id_number("19920304")
    licence = services.issue_licence(
        licence_type=licence_type,
        holder=services.Holder.of_person(person),
        issuer=org,
        face_data={
            "address": ADDRESS,
            "guardian_id": guardian,
            "phone": "13904112368",
            "note": "长期",
        },
        case_number="LN-20261128-000010",
        actor=SystemActor("test"),
    )
    return org, person, licence, guardian


def test_the_holder_sees_the_face_in_full(client, issued):
    _, person, licence, guardian = issued
    me = builders.bearer(person.user)
    face = client.get(f"/api/v1/licences/{licence.identifier}", **me).json()["face"]
    assert face == {
        "address": ADDRESS,
        "guardian_id": guardian,
        "phone": "13904112368",
        "note": "长期",
    }
    canonical = client.get(f"/api/v1/licences/{licence.identifier}/canonical", **me)
    assert canonical.status_code == 200 and person.id_number in canonical.content.decode()


@pytest.mark.parametrize("role", ["reviewer", "approver", "org_admin"])
def test_staff_see_a_masked_face_and_no_canonical_bytes(client, issued, role):
    org, person, licence, guardian = issued
    staff = builders.bearer(builders.staff(role, org))
    r = client.get(f"/api/v1/licences/{licence.identifier}", **staff)
    assert r.status_code == 200
    body = r.content.decode()
    face = r.json()["face"]
    assert face["address"] == "辽宁省大连市****" and face["note"] == "长期"
    assert face["phone"] == "139****2368"
    assert face["guardian_id"] == guardian[:4] + "*" * 10 + guardian[-4:]
    for secret in (ADDRESS, guardian, person.id_number, "13904112368"):
        assert secret not in body
    events = LicenceEvent.objects.count()
    r = client.get(f"/api/v1/licences/{licence.identifier}/canonical", **staff)
    assert (r.status_code, r.json()["code"]) == (403, "canonical_holder_only")
    assert person.id_number not in r.content.decode()
    assert LicenceEvent.objects.count() == events


def test_face_rows_and_pdf_face_for_staff_are_masked(issued):
    org, person, licence, guardian = issued
    staff = builders.staff("reviewer", org)
    rows = dict(face_rows(licence, face_for(licence, staff)))
    assert rows["居住地址"] == "辽宁省大连市****" and guardian not in str(rows)
    assert dict(face_rows(licence, face_for(licence, person.user)))["居住地址"] == ADDRESS


def test_coverage_is_for_supervisors_and_org_admins_only(client, issued):
    org, person, _, _ = issued
    for user in (person.user, builders.staff("reviewer", org)):
        r = client.get("/api/v1/licence-library/coverage", **builders.bearer(user))
        assert (r.status_code, r.json()["code"]) == (403, "coverage_forbidden")
    admin = builders.bearer(builders.staff("org_admin", org))
    r = client.get("/api/v1/licence-library/coverage", **admin)
    assert r.status_code == 200
    assert [row["organisation"]["name"] for row in r.json()] == ["大连市公安局"]
    assert client.get("/api/v1/licence-library/coverage").status_code == 401
