"""The console's licence library: the licences my organisation issued, revocation by an
approver (and a reviewer refused), seals made and revoked by the organisation admin only,
the coverage of the library, and a licence given as a material on the case page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import engine
from cases import materials as case_materials
from cases import services as case_services
from core.actors import SystemActor
from licences import services as licence_services
from licences.models import Licence, LicenceEvent, Seal
from tests import builders
from tests.case_pages import (
    World,
    accept_licence_for,
    approved_licence_case,
    household_licence_type,
    issue_licence,
    licence_item,
    police_seal,
)
from tests.portal.html import assert_accessible_structure, text


@pytest.fixture
def licence(world: World) -> Licence:
    police_seal(world)
    return issue_licence(world)


# Licences -----------------------------------------------------------------------------------


def test_list_shows_what_my_organisation_issued(client, world: World, licence: Licence):
    licence_services.create_seal(world.shenyang, actor=SystemActor("test"))
    elsewhere = licence_services.issue_licence(
        licence_type=licence.licence_type,
        holder=licence_services.Holder.of_person(builders.person("陈九")),
        issuer=world.shenyang,
        face_data={"registered_address": "辽宁省沈阳市"},
        case_number="x",
        actor=SystemActor("test"),
    )
    client.force_login(world.reviewer)
    response = client.get("/console/licences/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    page = text(response.content)
    assert licence.number in page and "居民户籍证明" in page
    assert "张**" in page and "张三丰" not in page  # the holder masked
    assert elsewhere.number not in page
    assert client.get(f"/console/licences/{elsewhere.identifier}/").status_code == 404
    revoked = client.get("/console/licences/", {"status": "revoked"})
    assert licence.number not in text(revoked.content)


def test_detail_shows_history_without_the_face(client, world: World, licence: Licence):
    client.force_login(world.reviewer)
    response = client.get(f"/console/licences/{licence.identifier}/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    page = text(response.content)
    assert licence.identifier in page and licence.seal.fingerprint in page
    assert "使用与核验记录" in page and "签发" in page
    assert "辽宁省大连市中山区人民路1号" not in page  # the face stays in the case
    # A reviewer is told who may revoke, and gets no form.
    assert "只有颁证机构的审批人员或机构管理员可以撤销证照" in page
    assert 'name="revoke-reason"' not in response.content.decode()


def test_approver_revokes_and_verification_says_so(client, world: World, licence: Licence):
    client.force_login(world.approver)
    page = client.get(f"/console/licences/{licence.identifier}/")
    assert 'name="revoke-reason"' in page.content.decode()
    empty = client.post(f"/console/licences/{licence.identifier}/revoke/", {"revoke-reason": ""})
    assert empty.status_code == 422 and "请填写撤销原因" in text(empty.content)
    response = client.post(
        f"/console/licences/{licence.identifier}/revoke/", {"revoke-reason": "证照信息有误"}
    )
    assert response.status_code == 302
    licence.refresh_from_db()
    assert licence.status == Licence.Status.REVOKED and licence.revocation_reason == "证照信息有误"
    event = LicenceEvent.objects.get(licence=licence, kind="revoked")
    assert event.actor == world.approver
    page = text(client.get(f"/console/licences/{licence.identifier}/").content)
    assert "已撤销" in page and "证照信息有误" in page
    verified = text(client.get("/verify/", {"t": licence.token}).content)
    assert "核验结果：已撤销" in verified
    again = client.post(
        f"/console/licences/{licence.identifier}/revoke/", {"revoke-reason": "再次撤销"}
    )
    assert again.status_code == 409 and "该证照已撤销" in text(again.content)


def test_reviewer_is_refused(client, world: World, licence: Licence):
    client.force_login(world.reviewer)
    response = client.post(
        f"/console/licences/{licence.identifier}/revoke/", {"revoke-reason": "越权撤销"}
    )
    assert response.status_code == 403
    assert "只有颁证机构的审批人员或机构管理员可以撤销证照" in text(response.content)
    licence.refresh_from_db()
    assert licence.status == Licence.Status.VALID
    assert not LicenceEvent.objects.filter(kind="revoked").exists()


def test_licence_list_queries_do_not_grow(client, world: World):
    police_seal(world)
    client.force_login(world.reviewer)
    for _ in range(3):
        issue_licence(world)
    client.get("/console/licences/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/console/licences/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for _ in range(9):
        issue_licence(world)
    large = count()
    assert small == large, f"{small} queries with 3 licences, {large} with 12"


def test_case_page_shows_a_licence_given_as_material(client, world: World, licence: Licence):
    material = accept_licence_for(world.version, "居民户口簿", licence.licence_type)
    applicant = world.applicant
    case = case_services.start_case(
        item_version=world.version,
        form_data={"reason": "投靠"},
        person=applicant,
        actor=applicant.user,
    )
    case_materials.use_licence(case, material, licence, actor=applicant.user)
    for other in world.version.materials.exclude(pk=material.pk):
        case_materials.add_material(
            case, other, content=builders.uploaded_pdf(), name="m.pdf", actor=applicant.user
        )
    engine.take_action(case, "submit", actor=applicant.user)  # staff see submitted cases
    client.force_login(world.reviewer)
    response = client.get(f"/console/cases/{case.number}/")
    assert response.status_code == 200
    assert f"电子证照 {licence.identifier}（已核验）" in text(response.content)
    assert f'href="/verify/?t={licence.token}"' in response.content.decode()


# Seals --------------------------------------------------------------------------------------


def test_seals_page_lists_seals_with_image(client, world: World):
    seal = police_seal(world)
    client.force_login(world.reviewer)
    response = client.get("/console/seals/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    html = response.content.decode()
    page = text(html)
    assert seal.name in page and "SM2-SM3" in page and seal.fingerprint in page
    assert "签发新证照使用此印章" in page and 'class="seal"' in html
    assert f'href="/api/v1/seals/{seal.pk}"' in html
    # A reviewer sees no forms.
    assert "制作和吊销印章仅限本机构的机构管理员" in page
    assert "制作新印章" not in page and 'name="revoke-seal' not in html


def test_org_admin_makes_and_revokes_a_seal(client, world: World):
    old = police_seal(world)
    client.force_login(world.org_admin)
    page = client.get("/console/seals/").content.decode()
    assert "制作新印章" in page and f'name="revoke-seal{old.pk}-reason"' in page
    prefix = f"seal-org{world.police.pk}"
    response = client.post(
        "/console/seals/new/",
        {
            "organisation": world.police.pk,
            f"{prefix}-name": "大连市公安局户籍专用章",
            f"{prefix}-algorithm": "Ed25519",
            f"{prefix}-years": "2",
        },
    )
    assert response.status_code == 302
    seal = Seal.objects.get(name="大连市公安局户籍专用章")
    assert seal.algorithm == "Ed25519" and seal.organisation == world.police
    assert response["Location"] == f"/console/seals/#seal-{seal.pk}"
    assert licence_services.signing_seal(world.police) == seal

    empty = client.post(f"/console/seals/{old.pk}/revoke/", {f"revoke-seal{old.pk}-reason": ""})
    assert empty.status_code == 422 and "请填写吊销原因" in text(empty.content)
    response = client.post(
        f"/console/seals/{old.pk}/revoke/", {f"revoke-seal{old.pk}-reason": "密钥轮换"}
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.status == Seal.Status.REVOKED and old.revocation_reason == "密钥轮换"
    page = text(client.get("/console/seals/").content)
    assert "已吊销" in page and "密钥轮换" in page


def test_reviewer_cannot_make_or_revoke_seals(client, world: World):
    seal = police_seal(world)
    client.force_login(world.reviewer)
    prefix = f"seal-org{world.police.pk}"
    response = client.post(
        "/console/seals/new/",
        {"organisation": world.police.pk, f"{prefix}-algorithm": "SM2-SM3", f"{prefix}-years": "5"},
    )
    assert response.status_code == 403
    assert "只有本机构的机构管理员可以制作或吊销电子印章" in text(response.content)
    assert Seal.objects.count() == 1
    response = client.post(
        f"/console/seals/{seal.pk}/revoke/", {f"revoke-seal{seal.pk}-reason": "越权"}
    )
    assert response.status_code == 403
    seal.refresh_from_db()
    assert seal.status == Seal.Status.ACTIVE


def test_seals_of_another_organisation_are_out_of_reach(client, world: World):
    theirs = licence_services.create_seal(world.shenyang, actor=SystemActor("test"))
    client.force_login(world.org_admin)
    assert theirs.fingerprint not in text(client.get("/console/seals/").content)
    response = client.post(
        f"/console/seals/{theirs.pk}/revoke/", {f"revoke-seal{theirs.pk}-reason": "越权"}
    )
    assert response.status_code == 404
    response = client.post("/console/seals/new/", {"organisation": world.shenyang.pk})
    assert response.status_code == 404
    assert Seal.objects.filter(organisation=world.shenyang).count() == 1


# Coverage -----------------------------------------------------------------------------------


def test_coverage_after_approving_licence_producing_cases(client, world: World):
    police_seal(world)
    version = licence_item(world, household_licence_type())
    first = approved_licence_case(world, version)
    assert Licence.objects.filter(case_number=first.number).exists()
    client.force_login(world.org_admin)
    response = client.get("/console/coverage/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    assert "大连市公安局 1 1 0 100%" in text(response.content)

    # A second approved case whose licence is missing from the library (setup only: a
    # case decided before the library existed), and the share drops to one half.
    second = approved_licence_case(world, version)
    Licence.objects.filter(case_number=second.number).update(case_number="LN-LEGACY")
    assert "大连市公安局 2 1 1 50%" in text(client.get("/console/coverage/").content)

    supervisor = builders.staff(
        "supervisor", builders.organisation("辽宁省营商环境建设局", "210000")
    )
    client.force_login(supervisor)
    page = text(client.get("/console/coverage/").content)
    assert "大连市公安局 2 1 1 50%" in page

    shenyang_admin = builders.staff("org_admin", world.shenyang)
    client.force_login(shenyang_admin)
    page = text(client.get("/console/coverage/").content)
    assert "沈阳市公安局 0 0 0 —" in page and "大连市公安局" not in page


def test_coverage_is_for_supervisors_and_org_admins(client, world: World):
    client.force_login(world.reviewer)
    response = client.get("/console/coverage/")
    assert response.status_code == 403
    assert "证照库入库率仅供监督人员和机构管理员查看" in text(response.content)
    assert 'href="/console/coverage/"' not in client.get("/console/").content.decode()
    client.force_login(world.org_admin)
    assert 'href="/console/coverage/"' in client.get("/console/").content.decode()
