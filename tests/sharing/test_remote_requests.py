"""A department of this node (Liaoning) files a sharing request with a provider on another
node (Jilin): it sees Jilin's catalog (asked there), its request is checked here against
that catalog and sent through the outbox; a refusal of Jilin comes back to its page."""

import datetime as dt
import hashlib
import json

import pytest
from django.utils import timezone

from core.models import AuditEvent
from federation import services as fed_services
from federation.directory import utc_text
from federation.models import LogEntry, Outbox
from sharing import engine
from sharing.exchange import file_remote_request
from sharing.models import SharingRequest
from tests import builders
from tests.sharing import helpers
from tests.sharing.helpers import HOUSEHOLD_FIELDS

JILIN_RESOURCE = {
    "code": "JL-GA-HJ-001",
    "name": "吉林省居民户籍信息",
    "provider": "长春市公安局",
    "subject_kind": "person",
    "sharing_class": "conditional",
    "legal_basis": "《户口登记条例》",
    "update_frequency": "realtime",
    "methods": ["verify", "query"],
    "fields": [
        {k: f[k] for k in ("name", "label", "type", "sensitivity")} for f in HOUSEHOLD_FIELDS
    ],
    "material_codes": ["HJ-HKB"],
}


@pytest.fixture
def jilin(federation, monkeypatch):
    """Jilin answers catalog questions with its one resource; envelopes sent to it are
    refused with `refusal` when set, else received."""
    state: dict = {"refusal": None, "asked": 0}

    def post(url, data):
        if url.endswith("/queries"):
            question = json.loads(data["envelope"])
            state["asked"] += 1
            body, signature = federation.jilin.envelope(
                "sharing.catalog.answer",
                {"in_reply_to": question["id"], "answer": {"resources": [JILIN_RESOURCE]}},
            )
            return 200, {"answer": body, "signature": signature}
        envelopes = data.get("envelopes") or [data]
        results = []
        for sent in envelopes:
            doc = json.loads(sent["envelope"])
            refusal, signature = federation.jilin.signed(
                {
                    "format": fed_services.REFUSAL,
                    "envelope": doc["id"],
                    "digest": hashlib.sha256(sent["envelope"].encode()).hexdigest(),
                    "sender": "jilin",
                    "receiver": "liaoning",
                    "code": state["refusal"] or "x",
                    "reason": "依据不足，不予受理",
                    "at": utc_text(timezone.now()),
                }
            )
            results.append({"status": 422, "refusal": refusal, "signature": signature})
        return (200, {"results": results}) if "envelopes" in data else (422, results[0])

    monkeypatch.setattr(fed_services, "_post", post)
    return state


@pytest.fixture
def clerk():
    org = builders.organisation("大连市民政局", division="210200", seed=9700)
    return org, builders.staff("approver", org)


def _body(**overrides):
    return {
        "resource": "JL-GA-HJ-001",
        "fields": ["household_division"],
        "methods": ["verify"],
        "purpose": "异地婚姻登记核验户籍",
        "legal_basis": "《婚姻登记条例》第五条",
        "scene_items": ["HY-001"],
        "valid_until": str(timezone.localdate() + dt.timedelta(days=200)),
        **overrides,
    }


def _post(client, path, body, user):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **builders.bearer(user)
    )


def test_the_remote_catalog_is_asked_there_for_staff_only(client, jilin, clerk):
    _, staff = clerk
    answer = client.get("/api/v1/sharing/nodes/jilin/resources", **builders.bearer(staff))
    assert answer.status_code == 200, answer.content
    assert [r["code"] for r in answer.json()] == ["JL-GA-HJ-001"]
    citizen = builders.person("王五").user
    refused = client.get("/api/v1/sharing/nodes/jilin/resources", **builders.bearer(citizen))
    assert refused.status_code == 403 and refused.json()["code"] == "action_forbidden"
    unknown = client.get("/api/v1/sharing/nodes/nowhere/resources", **builders.bearer(staff))
    assert unknown.status_code == 404 and unknown.json()["code"] == "node_unknown"
    own = client.get("/api/v1/sharing/nodes/liaoning/resources", **builders.bearer(staff))
    assert own.status_code == 404 and own.json()["code"] == "node_unknown"


def test_the_provider_node_down_is_said(client, federation, clerk, monkeypatch):
    def down(url, data):
        raise fed_services.FederationUnavailable("connection refused")

    monkeypatch.setattr(fed_services, "_post", down)
    answer = client.get("/api/v1/sharing/nodes/jilin/resources", **builders.bearer(clerk[1]))
    assert answer.status_code == 503 and answer.json()["code"] == "source_unavailable"


def test_a_request_is_sent_to_the_provider_node(client, jilin, clerk):
    org, staff = clerk
    answer = _post(client, "/sharing/nodes/jilin/requests", _body(), staff)
    assert answer.status_code == 202, answer.content
    assert answer.json() == {
        "node": "jilin",
        "resource": "JL-GA-HJ-001",
        "resource_name": "吉林省居民户籍信息",
        "provider": "长春市公安局",
        "consumer": org.uscc,
        "state": "sent",
    }
    (sent,) = LogEntry.objects.filter(kind="sharing.request", direction="out")
    payload = json.loads(sent.body)["payload"]
    assert json.loads(sent.body)["receiver"] == "jilin"
    assert payload["consumer"] == {"uscc": org.uscc, "name": org.name, "division": "210200"}
    assert payload["fields"] == ["household_division"] and payload["scene_items"] == ["HY-001"]
    assert payload["legal_basis"] == "《婚姻登记条例》第五条"
    assert Outbox.objects.filter(envelope=sent, receiver="jilin").exists()
    assert AuditEvent.objects.filter(action="send_sharing_request", object_id=str(org.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"purpose": " "}, 422, "purpose_required"),
        ({"legal_basis": ""}, 422, "legal_basis_required"),
        ({"fields": ["household_division", "income"]}, 422, "fields_outside_resource"),
        ({"fields": []}, 422, "fields_required"),
        ({"methods": ["bulk"]}, 422, "method_not_offered"),
        ({"resource": "JL-NOPE"}, 404, "resource_unknown"),
        ({"valid_until": "2000-01-01"}, 422, "valid_until_invalid"),
        ({"valid_until": "2099-01-01"}, 422, "valid_until_invalid"),
    ],
)
def test_a_wrong_request_is_refused_here_and_nothing_is_sent(
    client, jilin, clerk, overrides, status, code
):
    answer = _post(client, "/sharing/nodes/jilin/requests", _body(**overrides), clerk[1])
    assert answer.status_code == status and answer.json()["code"] == code, answer.content
    assert not LogEntry.objects.filter(kind="sharing.request").exists()
    assert not Outbox.objects.exists()


def test_a_citizen_cannot_file_a_request(client, jilin):
    citizen = builders.person("赵六").user
    answer = _post(client, "/sharing/nodes/jilin/requests", _body(), citizen)
    assert answer.status_code == 403 and answer.json()["code"] == "action_forbidden"


def test_a_refusal_of_the_provider_node_is_shown_to_the_consumer(client, jilin, clerk):
    org, staff = clerk
    file_remote_request(
        node="jilin",
        resource_code="JL-GA-HJ-001",
        consumer=org,
        fields=["household_division"],
        methods=["verify"],
        purpose="异地婚姻登记核验户籍",
        legal_basis="《婚姻登记条例》第五条",
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        actor=staff,
    )
    jilin["refusal"] = "legal_basis_insufficient"
    counts = fed_services.deliver_due()
    assert counts["refused"] == 1
    refused = AuditEvent.objects.get(action="sharing_request_refused")
    assert refused.object_id == str(org.pk) and "legal_basis_insufficient" in refused.summary
    client.force_login(staff)
    page = client.get("/sharing/remote/")
    text = page.content.decode()
    assert page.status_code == 200 and "被拒收" in text and "依据不足" in text


def test_the_page_shows_the_catalog_and_files_a_request(client, jilin, clerk):
    org, staff = clerk
    client.force_login(staff)
    page = client.get("/sharing/remote/?node=jilin")
    text = page.content.decode()
    assert page.status_code == 200 and "吉林省居民户籍信息" in text
    assert '<label for="r-purpose">用途</label>' in text and "<caption" in text
    answer = client.post(
        "/sharing/remote/new/",
        {
            "node": "jilin",
            "consumer": org.uscc,
            "resource": "JL-GA-HJ-001",
            "fields": ["household_division", "name"],
            "methods": ["verify", "query"],
            "purpose": "异地婚姻登记核验户籍",
            "scene_items": "HY-001、HY-002",
            "legal_basis": "《婚姻登记条例》第五条",
            "valid_until": str(timezone.localdate() + dt.timedelta(days=90)),
        },
    )
    assert answer.status_code == 302 and answer["Location"].endswith("?node=jilin")
    (sent,) = LogEntry.objects.filter(kind="sharing.request", direction="out")
    payload = json.loads(sent.body)["payload"]
    assert payload["methods"] == ["verify", "query"]
    assert payload["scene_items"] == ["HY-001", "HY-002"]
    assert "已发出" in client.get("/sharing/remote/").content.decode()
    missing = client.post(
        "/sharing/remote/new/",
        {
            "node": "jilin",
            "resource": "JL-GA-HJ-001",
            "fields": ["name"],
            "methods": ["verify"],
            "purpose": "x",
            "legal_basis": "",
            "valid_until": "2027-06-01",
        },
    )
    assert missing.status_code == 422 and "须写明申请共享的依据" in missing.content.decode()
    assert LogEntry.objects.filter(kind="sharing.request", direction="out").count() == 1
    client.force_login(builders.person("孙七").user)
    assert client.get("/sharing/remote/?node=jilin").status_code == 403


def test_a_refusal_after_review_is_told_to_the_consumer_node(federation):
    resource = helpers.household_resource()
    payload = {
        "resource": resource.code,
        "consumer": {
            "uscc": builders.valid_uscc(9701, "220100"),
            "name": "长春市公安局",
            "division": "220100",
        },
        "fields": ["household_division"],
        "methods": ["verify"],
        "purpose": "户籍核验",
        "legal_basis": "《户口登记条例》",
        "valid_until": str(timezone.localdate() + dt.timedelta(days=60)),
        "requested_by": "cc-clerk",
    }
    fed_services.receive(*federation.jilin.envelope("sharing.request", payload))
    request = SharingRequest.objects.get(consumer_node="jilin")
    reviewer = builders.staff("reviewer", resource.provider)
    engine.take_action(request, "refuse", actor=reviewer, note="用途与所申请字段不符")
    (sent,) = LogEntry.objects.filter(kind="sharing.refused", direction="out")
    doc = json.loads(sent.body)
    assert doc["receiver"] == "jilin" and doc["payload"]["request"] == request.number
    assert doc["payload"]["reason"] == "用途与所申请字段不符"
    assert doc["payload"]["consumer_uscc"] == payload["consumer"]["uscc"]


def test_the_consumer_node_shows_a_refusal_after_review(client, federation, clerk):
    org, staff = clerk
    notice = {
        "request": "XQ20261205ABCD",
        "resource": "JL-GA-HJ-001",
        "resource_name": "吉林省居民户籍信息",
        "consumer_uscc": org.uscc,
        "reason": "用途与所申请字段不符",
    }
    fed_services.receive(*federation.jilin.envelope("sharing.refused", notice))
    refused = AuditEvent.objects.get(action="sharing_request_refused")
    assert refused.object_id == str(org.pk) and "XQ20261205ABCD" in refused.summary
    client.force_login(staff)
    text = client.get("/sharing/remote/").content.decode()
    assert "被拒收" in text and "用途与所申请字段不符" in text
    with pytest.raises(fed_services.Refused) as unknown:
        fed_services.receive(
            *federation.jilin.envelope(
                "sharing.refused", {**notice, "consumer_uscc": builders.valid_uscc(9702, "220100")}
            )
        )
    assert unknown.value.code == "organisation_unknown"
