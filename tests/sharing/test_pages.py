"""The sharing pages: the person's data log (constant queries), the consent on the
materials step, the request page with its actions, the authority's alerts."""

import contextlib

from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services as case_services
from catalog.models import Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.exceptions import RuleViolation
from sharing.calls import Call, Question, call_grant
from sharing.models import SharingRequest
from sharing.services import put_record
from sharing.subjects import subject_of
from tests import builders
from tests.sharing import helpers


def _world():
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", division="210200", seed=9600)
    grant, _ = helpers.granted(resource, consumer)
    applicant = builders.person("李雷")
    put_record(
        resource,
        subject=subject_of("person", applicant.id_number),
        data={"household_division": "210202"},
        actor=SystemActor("test"),
    )
    case = case_services.start_case(
        item_version=builders.item(),
        form_data={"reason": "x"},
        actor=applicant.user,
        person=applicant,
    )
    clerk = builders.staff("reviewer", consumer)
    return resource, grant, applicant, case, clerk


def _read(grant, applicant, case, clerk, value="2102"):
    with contextlib.suppress(RuleViolation):  # a refused read is logged too
        call_grant(
            Call(
                grant.number,
                "verify",
                subject_of("person", applicant.id_number),
                "核验户籍",
                case.number,
                question=Question("household_division", "within", value),
            ),
            actor=clerk,
        )


def test_the_data_log_page_shows_who_read_and_why(client):
    _, grant, applicant, case, clerk = _world()
    client.force_login(applicant.user)
    _read(grant, applicant, case, clerk)
    with CaptureQueriesContext(connection) as one:
        page = client.get("/sharing/my/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "大连市民政局" in text and "核验户籍" in text and case.number in text
    assert applicant.id_number not in text
    _read(grant, applicant, case, clerk)
    _read(grant, applicant, case, clerk)
    with CaptureQueriesContext(connection) as three:
        client.get("/sharing/my/")
    assert len(one) == len(three)


def test_a_request_is_approved_on_its_page_and_the_credential_shown_once(client):
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", division="210200", seed=9601)
    request = helpers.request(resource, consumer)
    reviewer = builders.staff("reviewer", resource.provider)
    client.force_login(reviewer)
    page = client.get(f"/sharing/requests/{request.number}/")
    assert page.status_code == 200 and "同意共享并授权" in page.content.decode()
    answer = client.post(f"/sharing/requests/{request.number}/actions/approve/", follow=True)
    assert "授权凭据" in answer.content.decode()
    assert SharingRequest.objects.get(pk=request.pk).state == "granted"
    assert client.get("/sharing/requests/").status_code == 200


def test_a_request_from_the_page_without_purpose_is_refused(client):
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", division="210200", seed=9602)
    client.force_login(builders.staff("approver", consumer))
    answer = client.post(
        "/sharing/requests/new/",
        {
            "resource": resource.code,
            "fields": ["household_division"],
            "methods": ["verify"],
            "purpose": "",
            "legal_basis": "x",
            "valid_until": "2027-06-30",
        },
    )
    assert answer.status_code == 422 and "用途" in answer.content.decode()
    assert not SharingRequest.objects.exists()


def test_the_authority_sees_the_alert(client):
    _, grant, applicant, case, _ = _world()
    intruder = builders.staff("reviewer", builders.organisation("大连市税务局", seed=9603))
    _read(grant, applicant, case, intruder)
    authority = builders.organisation("辽宁省大数据管理局", division="210000", seed=9604)
    client.force_login(builders.staff("supervisor", authority))
    page = client.get("/sharing/alerts/").content.decode()
    assert "大连市税务局" in page and "grant_other_organisation" in page


def test_the_materials_step_offers_sharing_and_takes_consent(client):
    provider = builders.organisation("大连市公安局", seed=9605)
    resource = helpers.household_resource(provider)
    handling = builders.organisation("大连市民政局", seed=9606)
    helpers.granted(resource, handling)
    version = builders.item(org=handling, publish=False)
    Material.objects.filter(version=version, position=1).update(code="HJ-HKB")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    applicant = builders.person("韩梅梅")
    case = case_services.start_case(
        item_version=version, form_data={"reason": "x"}, actor=applicant.user, person=applicant
    )
    client.force_login(applicant.user)
    page = client.get(f"/my/cases/{case.number}/materials/").content.decode()
    assert "共享获取" in page and "同意共享获取" in page and "大连市公安局" in page
    answer = client.post(f"/my/cases/{case.number}/sharing-consent/", follow=True)
    assert "已同意共享获取" in answer.content.decode()
    assert case.events.filter(action="consent_sharing").exists()
