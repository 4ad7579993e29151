"""Seals and licences: issue, verify offline, tamper, revoke, expire, re-issue, and check
the signature with the openssl command line from the published key and canonical bytes."""

import base64
import datetime as dt
import shutil
import subprocess

import pytest

from cases import commitments as case_commitments
from cases import materials as case_materials
from catalog.models import LicenceType, Material
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.signing import Algorithm
from licences import canonical, services
from licences.identifiers import IdentifierError, parse_identifier
from licences.models import Licence, LicenceEvent
from tests import builders

FACE = [
    {"name": "registered_address", "label": "户籍地址", "type": "address"},
    {"name": "issued_for", "label": "用途", "type": "text", "required": False},
]


@pytest.fixture
def world():
    org = builders.organisation("大连市公安局", "210200")
    licence_type = LicenceType.objects.create(
        code="11100000000013338W011", name="户籍证明", face_fields=FACE, valid_years=1
    )
    seal = services.create_seal(org, actor=SystemActor("test"))
    person = builders.person("王𠮷")
    return org, licence_type, seal, person


def _issue(world, **kwargs):
    org, licence_type, _, person = world
    return services.issue_licence(
        licence_type=licence_type,
        holder=services.Holder.of_person(person),
        issuer=org,
        face_data={"registered_address": "辽宁省大连市中山区人民路1号"},
        case_number="LN-20261128-000001",
        actor=SystemActor("test"),
        **kwargs,
    )


def test_issued_licence_has_a_valid_identifier_and_token(world):
    licence = _issue(world)
    parsed = parse_identifier(licence.identifier)
    assert parsed.type_code == "11100000000013338W011" and parsed.version == 1
    assert licence.identifier.startswith("1.2.156.3005.2.11100000000013338W011.")
    result = services.verify_token(licence.token, actor=SystemActor("test"), channel="api")
    assert result.outcome == "valid", result.reason
    assert result.face["hn"] == "王*" and "**********" in result.face["hc"]
    assert LicenceEvent.objects.filter(licence=licence, kind="verified", outcome="valid").exists()


def test_one_changed_byte_is_tampered(world):
    licence = _issue(world)
    prefix, payload, signature = licence.token.split(".")
    raw = bytearray(canonical.unb64url(payload))
    raw[raw.index(b"2")] = ord("3")  # a digit of a date or identifier
    forged = f"{prefix}.{canonical.b64url(bytes(raw))}.{signature}"
    assert services.check_token(forged).outcome == "tampered"
    assert services.check_token(licence.token[:-3] + "AAA").outcome == "tampered"
    assert services.check_token("garbage").outcome == "malformed"


def test_wrong_algorithm_claim_and_unknown_issuer(world):
    licence = _issue(world)
    _, payload, signature = canonical.split_token(licence.token)
    claim = {**payload, "alg": Algorithm.ED25519.value}
    forged = canonical.build_token(canonical.canonical_json(claim), signature)
    result = services.check_token(forged)
    assert result.outcome == "tampered" and "算法" in result.reason
    stranger = {**payload, "kid": "0" * 64}
    assert (
        services.check_token(
            canonical.build_token(canonical.canonical_json(stranger), signature)
        ).outcome
        == "unknown_issuer"
    )


def test_revoked_expired_and_superseded(world):
    licence = _issue(world)
    assert (
        services.check_token(licence.token, today=dt.date.today() + dt.timedelta(days=400)).outcome
        == "expired"
    )
    newer = services.reissue_licence(
        licence,
        face_data={"registered_address": "辽宁省沈阳市"},
        case_number="LN-20261128-000002",
        actor=SystemActor("test"),
    )
    assert newer.version == 2 and newer.serial == licence.serial
    assert parse_identifier(newer.identifier).version == 2
    assert services.check_token(licence.token).outcome == "revoked"
    assert services.check_token(newer.token).outcome == "valid"
    services.revoke_licence(newer, reason="决定被撤销", actor=SystemActor("test"))
    result = services.check_token(newer.token)
    assert result.outcome == "revoked" and "决定被撤销" in result.reason
    assert Licence.objects.count() == 2  # nothing deleted


def test_revoked_seal_signs_nothing_new_and_old_licences_report_it(world):
    org, licence_type, seal, _ = world
    licence_type.allow_multiple = True
    licence_type.save()
    licence = _issue(world)
    services.revoke_seal(seal, reason="密钥泄露", actor=SystemActor("test"))
    assert services.check_token(licence.token).outcome == "revoked"
    with pytest.raises(RuleViolation) as info:
        _issue(world)
    assert info.value.code == "no_active_seal"
    services.create_seal(org, actor=SystemActor("test"), algorithm=Algorithm.ED25519)
    fresh = _issue(world)
    assert fresh.seal.algorithm == "Ed25519"
    assert services.check_token(fresh.token).outcome == "valid"


def test_second_live_licence_of_a_single_instance_type_is_refused(world):
    _issue(world)
    with pytest.raises(RuleViolation) as info:
        _issue(world)
    assert info.value.code == "licence_exists"


def test_face_data_is_validated(world):
    org, licence_type, _, person = world
    with pytest.raises(RuleViolation) as info:
        services.issue_licence(
            licence_type=licence_type,
            holder=services.Holder.of_person(person),
            issuer=org,
            face_data={},
            case_number="x",
            actor=SystemActor("test"),
        )
    assert info.value.code == "form_invalid"
    assert not Licence.objects.exists()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1.2.156.3005.1.X.Y.Z.001.A", "identifier_root"),
        ("1.2.156.3005.2.A.B.001.U", "identifier_format"),
        (
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.01.U",
            "identifier_version",
        ),
        (
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V",
            "identifier_check",
        ),
    ],
)
def test_malformed_identifiers(text, code):
    with pytest.raises(IdentifierError) as info:
        parse_identifier(text)
    assert info.value.code == code
    assert parse_identifier(
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
    ).serial


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_signature_verifies_with_openssl_alone(world, tmp_path):
    licence = _issue(world)
    (tmp_path / "seal.pem").write_text(licence.seal.public_pem)
    (tmp_path / "licence.json").write_bytes(canonical.canonical_bytes(licence))
    (tmp_path / "licence.sig").write_bytes(base64.b64decode(licence.signature))
    command = [
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
    ]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "Signature Verified Successfully" in ok.stdout, ok.stderr
    (tmp_path / "licence.json").write_bytes(canonical.canonical_bytes(licence) + b" ")
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "Signature Verified Successfully" not in bad.stdout


def test_approving_a_licence_item_issues_the_licence_in_the_same_transaction(world):
    from cases import services as cases

    org, licence_type, _, person = world
    version = builders.item(
        "开具户籍证明",
        org=org,
        result_type="licence",
        result_licence_type=licence_type,
        form_fields=[{"name": "registered_address", "label": "户籍地址", "type": "address"}],
    )
    case = cases.start_case(
        item_version=version,
        person=person,
        actor=person.user,
        form_data={"registered_address": "辽宁省大连市中山区人民路1号"},
    )
    for m in version.materials.all():
        case_materials.add_material(
            case, m, content=builders.uploaded_pdf(m.name), name="m.pdf", actor=person.user
        )
    reviewer, approver = builders.staff("reviewer", org), builders.staff("approver", org)
    case = cases.take_action(case, "submit", actor=person.user)
    for name, who in [("accept", reviewer), ("start_review", reviewer)]:
        case = cases.take_action(case, name, actor=who)
    # Without an active seal, neither the licence nor the decision happens.
    services.revoke_seal(world[2], reason="轮换", actor=SystemActor("test"))
    with pytest.raises(RuleViolation) as info:
        cases.take_action(case, "approve", actor=approver)
    assert info.value.code == "no_active_seal"
    case.refresh_from_db()
    assert case.state == "under_review" and not Licence.objects.exists()
    services.create_seal(org, actor=SystemActor("test"))
    case = cases.take_action(case, "approve", actor=approver)
    licence = Licence.objects.get(case_number=case.number)
    assert licence.holder_person == person and licence.issuer == org
    assert licence.face_data == {"registered_address": "辽宁省大连市中山区人民路1号"}
    assert case.events.filter(action="issue_licence").exists()


def test_a_licence_replaces_the_paper_material_in_a_later_application(world):
    from cases import services as cases
    from cases.models import CaseMaterial

    org, licence_type, _, person = world
    licence_type.allow_multiple = True
    licence_type.save()
    licence = _issue(world)
    version = builders.item("迁入登记", org=org)
    material = version.materials.get(name="居民户口簿")
    # Setup only: the published version is frozen to services, so mark it in the database.
    Material.objects.filter(pk=material.pk).update(licence_type=licence_type)
    material.refresh_from_db()
    case = cases.start_case(
        item_version=version, person=person, actor=person.user, form_data={"reason": "x"}
    )
    stranger = builders.person("陈九")
    other = services.issue_licence(
        licence_type=licence_type,
        holder=services.Holder.of_person(stranger),
        issuer=org,
        face_data={"registered_address": "辽宁省大连市"},
        case_number="x",
        actor=SystemActor("test"),
    )
    with pytest.raises(RuleViolation) as info:
        case_materials.use_licence(case, material, other, actor=person.user)
    assert info.value.code == "licence_not_applicants"
    wrong = version.materials.get(name="结婚证")
    with pytest.raises(RuleViolation) as info:
        case_materials.use_licence(case, wrong, licence, actor=person.user)
    assert info.value.code == "licence_type_not_accepted"
    used = case_materials.use_licence(case, material, licence, actor=person.user)
    assert used.licence == licence and used.licence_verified_at
    assert LicenceEvent.objects.filter(licence=licence, kind="used").exists()
    with pytest.raises(RuleViolation) as info:
        case_materials.add_material(
            case, material, content=builders.uploaded_pdf(), name="a.pdf", actor=person.user
        )
    assert info.value.code == "material_licence_verified"
    case_materials.add_material(
        case, wrong, content=builders.uploaded_pdf(), name="a.pdf", actor=person.user
    )
    case = cases.take_action(case, "submit", actor=person.user)
    assert case.state == "submitted"
    services.revoke_licence(other, reason="测试", actor=SystemActor("test"))
    later = cases.start_case(
        item_version=version, person=stranger, actor=stranger.user, form_data={"reason": "y"}
    )
    with pytest.raises(RuleViolation) as info:
        case_materials.use_licence(later, material, other, actor=stranger.user)
    assert info.value.code == "licence_not_valid"
    assert CaseMaterial.objects.filter(case=later).count() == 0


def test_false_commitment_revokes_the_licence_of_the_case(world):
    from cases import services as cases
    from catalog.services import publish_item_version

    org, licence_type, _, person = world
    version = builders.item(
        "户籍证明（告知承诺）",
        org=org,
        result_type="licence",
        result_licence_type=licence_type,
        allows_commitment=True,
        publish=False,
        form_fields=[{"name": "registered_address", "label": "户籍地址", "type": "address"}],
    )
    proof = version.materials.get(name="结婚证")
    proof.commitment_allowed, proof.necessity = True, "required"
    proof.save()
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    case = cases.start_case(
        item_version=version,
        person=person,
        actor=person.user,
        form_data={"registered_address": "辽宁省大连市"},
    )
    commitment = case_commitments.sign_notification_commitment(case, actor=person.user)
    case_materials.add_material(
        case,
        version.materials.get(name="居民户口簿"),
        content=builders.uploaded_pdf(),
        name="a.pdf",
        actor=person.user,
    )
    reviewer, approver = builders.staff("reviewer", org), builders.staff("approver", org)
    case = cases.take_action(case, "submit", actor=person.user)
    for name, who in [("accept", reviewer), ("start_review", reviewer), ("approve", approver)]:
        case = cases.take_action(case, name, actor=who)
    licence = Licence.objects.get(case_number=case.number)
    assert services.check_token(licence.token).outcome == "valid"
    commitment.refresh_from_db()
    case_commitments.record_verification(
        commitment, truthful=False, note="查无婚姻登记", actor=reviewer
    )
    licence.refresh_from_db()
    assert licence.status == Licence.Status.REVOKED
    result = services.check_token(licence.token)
    assert result.outcome == "revoked" and "告知承诺" in result.reason
