"""免提交 with a licence another node issued: verified offline, confirmed by its issuer,
held by the applicant — or refused with nothing stored."""

import pytest

from cases import services
from cases.materials import use_foreign_licence
from cases.models import CaseMaterial
from catalog.models import Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.exceptions import RuleViolation
from tests import builders
from tests.licences.test_cross_node import TYPE_CODE, _identifier


@pytest.fixture
def draft(world):
    licence_type = builders.licence_type(code=TYPE_CODE)
    version = builders.item(publish=False)
    Material.objects.filter(version=version, position=1).update(licence_type=licence_type)
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    applicant = builders.person("李四")
    case = services.start_case(
        item_version=version, form_data={"reason": "投靠"}, actor=applicant.user, person=applicant
    )
    return case, version.materials.get(position=1), applicant


def test_a_licence_of_another_node_replaces_a_material(world, issuer, draft):
    case, requirement, applicant = draft
    token = world.seal.token()
    issuer.answers[_identifier(token)] = {"status": "valid", "version": 1, "holder_matches": True}
    material = use_foreign_licence(case, requirement, token, actor=applicant.user)
    assert (
        material.foreign_licence == _identifier(token) and material.foreign_licence_node == "jilin"
    )
    assert issuer.questions[-1]["holder_code"] == applicant.id_number
    event = case.events.get(action="use_licence")
    assert "吉林省节点" in event.note
    with pytest.raises(RuleViolation) as refused:
        use_foreign_licence(case, requirement, token, actor=applicant.user)
    assert refused.value.code == "material_licence_verified"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"status": "valid", "version": 1, "holder_matches": False}, "licence_not_applicants"),
        ({"status": "revoked", "version": 1, "holder_matches": True}, "licence_not_valid"),
    ],
)
def test_a_licence_not_the_applicants_or_not_valid_is_refused(world, issuer, draft, answer, code):
    case, requirement, applicant = draft
    token = world.seal.token()
    issuer.answers[_identifier(token)] = answer
    with pytest.raises(RuleViolation) as refused:
        use_foreign_licence(case, requirement, token, actor=applicant.user)
    assert refused.value.code == code
    assert not CaseMaterial.objects.exists()


def test_an_unreachable_issuer_stores_nothing(world, draft, settings):
    settings.FEDERATION_TIMEOUT = 0.5
    case, requirement, applicant = draft
    with pytest.raises(RuleViolation) as refused:
        use_foreign_licence(case, requirement, world.seal.token(), actor=applicant.user)
    assert refused.value.code == "licence_not_valid" and "暂无法" in refused.value.message
    assert not CaseMaterial.objects.exists()


def test_a_material_no_licence_may_replace_is_refused(world, issuer, draft):
    case, _, applicant = draft
    token = world.seal.token(typ="营业执照")
    issuer.answers[_identifier(token)] = {"status": "valid", "version": 1, "holder_matches": True}
    other = builders.item(publish=True).materials.get(position=2)
    with pytest.raises(RuleViolation) as refused:
        use_foreign_licence(case, other, token, actor=applicant.user)
    assert refused.value.code == "licence_type_not_accepted"


def test_the_applicant_uses_it_from_the_materials_page(world, issuer, draft, client):
    case, requirement, applicant = draft
    client.force_login(applicant.user)
    page = client.get(f"/my/cases/{case.number}/materials/").content.decode()
    assert "使用其他省份签发的电子证照" in page
    token = world.seal.token()
    issuer.answers[_identifier(token)] = {"status": "valid", "version": 1, "holder_matches": True}
    response = client.post(
        f"/my/cases/{case.number}/foreign-licence/",
        {"foreign-material": requirement.pk, "foreign-token": token},
        follow=True,
    )
    assert "已向签发节点核验有效" in response.content.decode()
    assert CaseMaterial.objects.get().foreign_licence == _identifier(token)
    response = client.post(
        f"/my/cases/{case.number}/foreign-licence/",
        {"foreign-material": requirement.pk, "foreign-token": "TB1.garbage.x"},
        follow=True,
    )
    assert "未能以外省电子证照代替" in response.content.decode()
