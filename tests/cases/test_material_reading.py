"""Reviewers read the materials (issue 9.3): the file as given, encrypted at rest, checked
against its digest on every read, each staff read logged; nobody outside the case reads it."""

import base64
import hashlib

import pytest
from django.core.files.storage import default_storage

from accounts.models import Role
from cases import engine, services
from cases.materials import add_material, read_material, receive_material
from core.exceptions import RuleViolation
from core.models import PersonalDataAccess
from tests import builders

PDF = b"%PDF-1.4\n% a scanned household register\n%%EOF\n"


@pytest.fixture
def world():
    org = builders.organisation("大连市公安局", "210200")
    version = builders.item("开具户籍类证明", org=org)
    applicant = builders.person("王五")
    case = services.start_case(
        item_version=version,
        form_data={"reason": "入学"},
        person=applicant,
        actor=applicant.user,
        place=org.division,
    )
    for material in version.materials.all():
        add_material(case, material, content=PDF, name="户口簿.pdf", actor=applicant.user)
    case = engine.take_action(case, "submit", actor=applicant.user)
    return {
        "case": case,
        "material": case.materials.get(requirement__position=1),
        "applicant": applicant,
        "reviewer": builders.staff(Role.REVIEWER, org),
        "admin": builders.staff(Role.ORG_ADMIN, org),
        "stranger": builders.staff(Role.REVIEWER, builders.organisation("长春市公安局", "220100")),
    }


def url(case, material):
    return f"/api/v1/cases/{case.number}/materials/{material.pk}/file"


def test_a_reviewer_reads_the_bytes_as_given_and_the_read_is_logged(client, world):
    case, material = world["case"], world["material"]
    r = client.get(url(case, material), **builders.bearer(world["reviewer"]))
    assert r.status_code == 200, r.content
    assert r.content == PDF
    assert r["Content-Type"] == "application/pdf"
    assert (
        r["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(PDF).digest()).decode()}:"
    )
    assert "no-store" in r["Cache-Control"] and r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"].startswith("default-src 'none'")  # its own, not the page's
    assert "inline" in r["Content-Disposition"] and "%E6%88%B7" in r["Content-Disposition"]
    access = PersonalDataAccess.objects.get()
    assert access.actor == world["reviewer"] and access.context == f"办件 {case.number}"
    assert access.purpose == "审查申请材料" and "户口簿.pdf" in access.fields[0]


def test_files_are_encrypted_at_rest_under_the_digest_of_their_clear_bytes(world):
    material = world["material"]
    assert material.sha256 == hashlib.sha256(PDF).hexdigest()
    assert material.file.name.endswith(material.sha256)
    with default_storage.open(material.file.name, "rb") as handle:
        stored = handle.read()
    assert PDF not in stored and b"household" not in stored


def test_staff_of_another_organisation_get_404_and_nothing_is_logged(client, world):
    r = client.get(url(world["case"], world["material"]), **builders.bearer(world["stranger"]))
    assert r.status_code == 404 and r.json()["code"] == "case_not_found"
    assert not PersonalDataAccess.objects.exists()


def test_a_role_that_sees_the_case_but_does_not_handle_it_is_refused(client, world):
    r = client.get(url(world["case"], world["material"]), **builders.bearer(world["admin"]))
    assert r.status_code == 403 and r.json()["code"] == "action_forbidden"
    assert not PersonalDataAccess.objects.exists()


def test_a_file_whose_stored_bytes_do_not_match_its_digest_is_refused(client, world):
    material = world["material"]
    path = default_storage.path(material.file.name)
    with open(path, "r+b") as handle:  # one flipped bit on disk
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 1]))
    r = client.get(url(world["case"], material), **builders.bearer(world["reviewer"]))
    assert r.status_code == 409 and r.json()["code"] == "file_integrity_failed"
    assert not PersonalDataAccess.objects.exists()


def test_a_clear_file_stored_before_encryption_is_still_read_and_checked(world):
    material = world["material"]
    default_storage.delete(material.file.name)
    default_storage.save(material.file.name, __import__("io").BytesIO(PDF))
    assert read_material(world["case"].number, material.pk, viewer=world["reviewer"]).content == PDF


def test_the_applicant_reads_their_own_file_without_an_access_row(client, world):
    client.force_login(world["applicant"].user)
    case, material = world["case"], world["material"]
    page = client.get(f"/my/cases/{case.number}/")
    link = f"/my/cases/{case.number}/materials/{material.pk}/file/"
    assert link in page.content.decode()
    r = client.get(link)
    assert r.status_code == 200 and r.content == PDF
    assert not PersonalDataAccess.objects.exists()


def test_unknown_and_huge_material_ids_answer_404(client, world):
    case = world["case"]
    auth = builders.bearer(world["reviewer"])
    for material_id in (999999, 2**62):
        r = client.get(f"/api/v1/cases/{case.number}/materials/{material_id}/file", **auth)
        assert r.status_code == 404 and r.json()["code"] == "material_not_found"


def test_the_console_shows_the_file_in_the_page(client, world):
    case, material = world["case"], world["material"]
    client.force_login(world["reviewer"])
    detail = client.get(f"/console/cases/{case.number}/").content.decode()
    page_url = f"/console/cases/{case.number}/materials/{material.pk}/"
    assert page_url in detail
    page = client.get(page_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<iframe class="material-preview" src="{page_url}file/"' in html
    assert not PersonalDataAccess.objects.exists()  # the page is not the file
    r = client.get(f"{page_url}file/")
    assert r.status_code == 200 and r.content == PDF and r["X-Frame-Options"] == "SAMEORIGIN"
    assert PersonalDataAccess.objects.count() == 1


def test_the_console_refuses_a_stranger(client, world):
    client.force_login(world["stranger"])
    case, material = world["case"], world["material"]
    r = client.get(f"/console/cases/{case.number}/materials/{material.pk}/file/")
    assert r.status_code == 404


def test_a_material_from_another_node_is_stored_sealed_and_read_the_same_way(world):
    case, material = world["case"], world["material"]
    content = b"%PDF-1.4\n% from jilin\n%%EOF\n"
    received = receive_material(
        case,
        position=material.requirement.position,
        name=material.requirement.name,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        original_name="jl.pdf",
        content_type="application/pdf",
        paper_custody="",
        licence="",
        node="jilin",
        uploader=world["reviewer"],
    )
    with default_storage.open(received.file.name, "rb") as handle:
        assert b"from jilin" not in handle.read()
    read = read_material(case.number, received.pk, viewer=world["reviewer"])
    assert read.content == content


def test_read_material_refuses_through_the_service_too(world):
    with pytest.raises(RuleViolation) as refused:
        read_material(world["case"].number, world["material"].pk, viewer=world["admin"])
    assert refused.value.code == "action_forbidden"
