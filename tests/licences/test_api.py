"""The licences API as the holder, staff, other nodes and anonymous verifiers use it."""

import base64
import json
import shutil
import subprocess

import pytest

from catalog.models import LicenceType
from core.actors import SystemActor
from licences import services
from licences.models import LicenceEvent
from tests import builders


@pytest.fixture
def issued():
    org = builders.organisation("大连市民政局", "210200")
    licence_type = LicenceType.objects.create(
        code="11100000000013132Y001",
        name="结婚证",
        allow_multiple=True,
        face_fields=[{"name": "spouse", "label": "配偶姓名", "type": "text"}],
    )
    services.create_seal(org, actor=SystemActor("test"))
    person = builders.person("刘一")
    licence = services.issue_licence(
        licence_type=licence_type,
        holder=services.Holder.of_person(person),
        issuer=org,
        face_data={"spouse": "陈二"},
        case_number="LN-20261128-000009",
        actor=SystemActor("test"),
    )
    return org, person, licence


def test_key_set_and_public_key(client, issued):
    _, _, licence = issued
    seals = client.get("/api/v1/seals").json()
    assert [s["fingerprint"] for s in seals] == [licence.seal.fingerprint]
    pem = client.get(seals[0]["public_key_url"])
    assert pem["Content-Type"] == "application/x-pem-file"
    assert pem.content.decode() == licence.seal.public_pem
    assert client.get("/api/v1/seals/999").json()["code"] == "seal_not_found"


def test_anyone_can_verify_and_every_verification_is_logged(client, issued):
    _, _, licence = issued
    r = client.post(
        "/api/v1/licences/verify",
        json.dumps({"token": licence.token}),
        content_type="application/json",
    )
    body = r.json()
    assert body["outcome"] == "valid" and body["revocation_checked"]
    assert body["face"]["hn"] == "刘*" and "spouse" not in body["face"]
    r = client.post(
        "/api/v1/licences/verify",
        json.dumps({"token": licence.token + "x"}),
        content_type="application/json",
    )
    assert r.json()["outcome"] == "tampered"
    outcomes = list(LicenceEvent.objects.filter(kind="verified").values_list("outcome", flat=True))
    assert sorted(outcomes) == ["tampered", "valid"]


def test_holder_wallet_detail_and_strangers(client, issued):
    _org, person, licence = issued
    me = builders.bearer(person.user)
    wallet = client.get("/api/v1/licences", **me).json()
    assert [w["identifier"] for w in wallet] == [licence.identifier]
    detail = client.get(f"/api/v1/licences/{licence.identifier}", **me).json()
    assert detail["face"] == {"spouse": "陈二"}
    assert person.id_number not in json.dumps(detail)
    assert {e["kind"] for e in detail["events"]} == {"issued"}
    stranger = builders.bearer(builders.person("路人").user)
    r = client.get(f"/api/v1/licences/{licence.identifier}", **stranger)
    assert (r.status_code, r.json()["code"]) == (404, "licence_not_found")
    assert client.get("/api/v1/licences").status_code == 401


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_documented_openssl_recipe_through_the_api(client, issued, tmp_path):
    _, person, licence = issued
    me = builders.bearer(person.user)
    (tmp_path / "licence.json").write_bytes(
        client.get(f"/api/v1/licences/{licence.identifier}/canonical", **me).content
    )
    detail = client.get(f"/api/v1/licences/{licence.identifier}", **me).json()
    (tmp_path / "licence.sig").write_bytes(base64.b64decode(detail["signature"]))
    (tmp_path / "seal.pem").write_bytes(client.get(f"/api/v1/seals/{detail['seal']['id']}").content)
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "seal.pem",
            "-rawin",
            "-in",
            "licence.json",
            "-sigfile",
            "licence.sig",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Signature Verified Successfully" in result.stdout, result.stderr


def test_pdf_download_is_logged(client, issued):
    _, person, licence = issued
    r = client.get(f"/api/v1/licences/{licence.identifier}/pdf", **builders.bearer(person.user))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert LicenceEvent.objects.filter(licence=licence, kind="downloaded").count() == 1


def test_revocation_by_staff_only(client, issued):
    org, person, licence = issued
    path = f"/api/v1/licences/{licence.identifier}/revoke"
    body = json.dumps({"reason": "登记错误"})
    r = client.post(
        path,
        body,
        content_type="application/json",
        **builders.bearer(builders.staff("reviewer", org)),
    )
    assert (r.status_code, r.json()["code"]) == (403, "action_forbidden")
    r = client.post(path, body, content_type="application/json", **builders.bearer(person.user))
    assert r.status_code == 403
    r = client.post(
        path,
        body,
        content_type="application/json",
        **builders.bearer(builders.staff("approver", org)),
    )
    assert r.json()["status"] == "revoked"
    check = client.post(
        "/api/v1/licences/verify",
        json.dumps({"token": licence.token}),
        content_type="application/json",
    ).json()
    assert check["outcome"] == "revoked" and "登记错误" in check["reason"]


def test_use_licence_through_the_cases_api_and_coverage(client, issued):
    from catalog.models import Material

    org, person, licence = issued
    version = builders.item("婚姻状况证明", org=org)
    material = version.materials.get(name="结婚证")
    Material.objects.filter(pk=material.pk).update(licence_type=licence.licence_type)
    me = builders.bearer(person.user)
    case = client.post(
        "/api/v1/cases",
        json.dumps({"item": version.item.code, "form": {"reason": "x"}}),
        content_type="application/json",
        **me,
    ).json()
    r = client.post(
        f"/api/v1/cases/{case['number']}/materials/licence",
        json.dumps({"material": material.pk, "identifier": licence.identifier}),
        content_type="application/json",
        **me,
    )
    assert r.status_code == 201, r.content
    row = next(m for m in r.json()["materials"] if m["id"] == material.pk)
    assert row["provided"]
    coverage = client.get("/api/v1/licence-library/coverage", **me)
    assert (coverage.status_code, coverage.json()["code"]) == (403, "coverage_forbidden")


def test_malformed_identifier_is_named(client, issued):
    _, person, licence = issued
    me = builders.bearer(person.user)
    wrong_check = licence.identifier[:-1] + ("A" if licence.identifier[-1] != "A" else "B")
    r = client.get(f"/api/v1/licences/{wrong_check}", **me)
    assert (r.status_code, r.json()["code"]) == (422, "identifier_check")
    r = client.get("/api/v1/licences/1.2.3", **me)
    assert (r.status_code, r.json()["code"]) == (422, "identifier_root")
