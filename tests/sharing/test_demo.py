"""The sharing demo on the Liaoning node: a 开具户籍类证明 whose one required material is
obtainable by sharing completes without an upload once the applicant consents, and the
read shows in their data log."""

import json
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


# The cross-node part (`load_demo_remote_sharing`, run by scripts/run-nodes once the four
# nodes answer): Jilin files its request as a department does, Liaoning approves it.


def _provider_down(url, data):
    from federation.services import FederationUnavailable

    raise FederationUnavailable("not reached in this test")


def test_the_jilin_demo_files_its_request_through_the_remote_service(
    settings, tmp_path, monkeypatch
):
    from federation import keys
    from federation import services as fed_services
    from federation.models import LogEntry
    from sharing.models import RemoteRequest
    from tests.federation.support import Authority, ForeignNode, node_entry

    be_node(settings, "jilin")
    call_command("load_demo", stdout=StringIO())
    authority = Authority()
    settings.FEDERATION_ANCHOR = str(authority.write_anchor(tmp_path / "anchor.pem"))
    settings.FEDERATION_DIRECTORY = str(tmp_path / "directory.json")
    local, liaoning = keys.create_key(), ForeignNode("liaoning")
    own = {"kid": local.fingerprint, "alg": local.algorithm, "public_key": local.public_pem}
    authority.write(tmp_path / "directory.json", [node_entry("jilin", [own]), liaoning.entry()])
    from federation import directory

    directory.refresh()
    catalog = {
        "resources": [
            {
                "code": "LN-GA-HJ-001",
                "name": "居民户籍信息",
                "provider": "辽宁省公安厅",
                "methods": ["verify", "query"],
                "fields": [{"name": "household_division", "label": "户籍所在地区划"}],
            }
        ]
    }

    def post(url, data):
        if url.endswith("/queries"):
            question = json.loads(data["envelope"])
            body, signature = liaoning.envelope(
                "sharing.catalog.answer",
                {"in_reply_to": question["id"], "answer": catalog},
                receiver="jilin",
            )
            return 200, {"answer": body, "signature": signature}
        return _provider_down(url, data)

    monkeypatch.setattr(fed_services, "_post", post)
    assert call_command("load_demo_remote_sharing", stdout=StringIO()) is None
    remote = RemoteRequest.objects.get()
    assert remote.consumer.name == "长春市公安局" and remote.provider_node == "liaoning"
    assert remote.provider_name == "辽宁省公安厅" and remote.requested_by_label == "cc-gaj-approver"
    (sent,) = LogEntry.objects.filter(kind="sharing.request", direction="out")
    payload = json.loads(sent.body)["payload"]
    assert payload["reference"] == remote.reference
    assert payload["scene_items"] == ["070010100000-220100000000-000-11220100001325601D-3-00"]
    call_command("load_demo_remote_sharing", stdout=StringIO())
    assert RemoteRequest.objects.count() == 1  # filed once


def test_the_liaoning_demo_approves_the_jilin_request(settings, federation, monkeypatch):
    from federation import services as fed_services
    from federation.models import LogEntry

    be_node(settings, "liaoning")
    call_command("load_demo", stdout=StringIO())
    monkeypatch.setattr(fed_services, "_post", _provider_down)
    payload = {
        "resource": "LN-GA-HJ-001",
        "consumer": {"uscc": "11220100001325601D", "name": "长春市公安局", "division": "220100"},
        "fields": ["household_division"],
        "methods": ["verify"],
        "purpose": "户口迁入（跨省）核验迁出地户籍",
        "legal_basis": "《中华人民共和国户口登记条例》第十条",
        "valid_until": "2027-12-31",
        "requested_by": "cc-gaj-approver",
        "reference": "WQ20261205CAFE0001",
    }
    fed_services.receive(*federation.jilin.envelope("sharing.request", payload))
    call_command("load_demo_remote_sharing", stdout=StringIO())
    grant = Grant.objects.get(consumer_node="jilin")
    assert grant.consumer.name == "长春市公安局" and grant.fields == ["household_division"]
    (granted,) = LogEntry.objects.filter(kind="sharing.granted", direction="out")
    assert json.loads(granted.body)["payload"]["reference"] == "WQ20261205CAFE0001"
    call_command("load_demo_remote_sharing", stdout=StringIO())
    assert Grant.objects.filter(consumer_node="jilin").count() == 1
