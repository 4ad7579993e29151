"""The sharing demo on the Liaoning node: a 开具户籍类证明 whose one required material is
obtainable by sharing completes without an upload once the applicant consents, and the
read shows in their data log."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases import engine as case_engine
from cases import services as case_services
from cases.sharing import consent_to_sharing
from catalog.models import ServiceItem
from catalog.selectors import current_version_of
from sharing.models import Grant, SharingRequest
from sharing.selectors import data_log_of_person
from tests.demo.conftest import be_node


def test_the_demo_marriage_registration_needs_no_upload(settings):
    be_node(settings, "liaoning")
    call_command("load_demo", stdout=StringIO())
    # The Jilin grant is no longer written here: Jilin files it (test_demo_remote below).
    assert not Grant.objects.filter(consumer_node="jilin").exists()
    assert SharingRequest.objects.filter(state="under_review").exists()
    item = ServiceItem.objects.get(
        implementation_code="200000100000-210100000000-000-11210100001234501H-3-00"
    )
    version = current_version_of(item)
    citizen = get_user_model().objects.get(username="citizen-wangfang")
    person = citizen.person
    form = {
        "applicant_name": person.name,
        "id_number": person.id_number,
        "phone": "13904112368",
        "certificate_kind": "户籍信息证明",
        "purpose": "办理落户",
    }
    case = case_services.start_case(
        item_version=version, form_data=form, actor=citizen, person=person
    )
    consent_to_sharing(case, actor=citizen)
    case = case_engine.take_action(case, "submit", actor=citizen)
    assert case.state == "submitted"
    assert all(m.shared_source for m in case.materials.all())
    assert data_log_of_person(person).filter(case_number=case.number).count() == 1
