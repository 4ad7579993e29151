"""A department of this node (Liaoning) files a sharing request with a provider on another
node (Jilin): it sees Jilin's catalog (asked there), its request is checked here against
that catalog and sent through the outbox; a refusal of Jilin comes back to its page."""

import datetime as dt
import hashlib
import json

import pytest
from django.utils import timezone

from core.actors import NodeActor
from core.exceptions import RuleViolation
from core.models import AuditEvent
from federation import services as fed_services
from federation.directory import utc_text
from federation.models import LogEntry, Outbox
from sharing import engine
from sharing.exchange import advance_remote_request, file_remote_request, send_grant_notices
from sharing.models import HeldGrant, RemoteRequest, SharingRequest
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
    body = answer.json()
    remote = RemoteRequest.objects.get()
    assert body["reference"] == remote.reference and remote.reference.startswith("WQ")
    assert {k: body[k] for k in ("node", "resource", "resource_name", "provider", "consumer")} == {
        "node": "jilin",
        "resource": "JL-GA-HJ-001",
        "resource_name": "吉林省居民户籍信息",
        "provider": "长春市公安局",
        "consumer": org.uscc,
    }
    assert body["state"] == "sent" and body["state_label"] == "已发出"
    (sent,) = LogEntry.objects.filter(kind="sharing.request", direction="out")
    payload = json.loads(sent.body)["payload"]
    assert payload["reference"] == remote.reference
    assert remote.fields == ["household_division"] and remote.field_labels == ["户籍所在地"]
    assert json.loads(sent.body)["receiver"] == "jilin"
    assert payload["consumer"] == {"uscc": org.uscc, "name": org.name, "division": "210200"}
    assert payload["fields"] == ["household_division"] and payload["scene_items"] == ["HY-001"]
    assert payload["legal_basis"] == "《婚姻登记条例》第五条"
    assert Outbox.objects.filter(envelope=sent, receiver="jilin").exists()
    assert AuditEvent.objects.filter(
        action="send_sharing_request", object_id=str(remote.pk)
    ).exists()


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
    assert not Outbox.objects.exists() and not RemoteRequest.objects.exists()


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
    remote = RemoteRequest.objects.get()
    assert remote.status == "rejected" and "legal_basis_insufficient" in remote.reason
    assert AuditEvent.objects.filter(
        action="remote_request_status", object_id=str(remote.pk)
    ).exists()
    client.force_login(staff)
    for path in ("/sharing/remote/", "/sharing/remote/requests/"):
        page = client.get(path)
        text = page.content.decode()
        assert page.status_code == 200 and "提供方节点拒收" in text and "依据不足" in text


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
    assert RemoteRequest.objects.get().scene_items == ["HY-001", "HY-002"]
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


def _jilin_request(federation, reference="WQ20261205JL000001"):
    """Jilin's department asks this node's provider (the envelope as Jilin sends it)."""
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
        "reference": reference,
    }
    fed_services.receive(*federation.jilin.envelope("sharing.request", payload))
    return SharingRequest.objects.get(consumer_node="jilin"), payload


def _notices(kind="sharing.request_status"):
    return [json.loads(e.body) for e in LogEntry.objects.filter(kind=kind, direction="out")]


def test_the_provider_node_tells_the_consumer_node_every_change(federation):
    request, payload = _jilin_request(federation)
    assert request.consumer_reference == "WQ20261205JL000001"
    (received,) = _notices()
    assert received["receiver"] == "jilin"
    assert received["payload"]["state"] == "under_review"
    assert received["payload"]["reference"] == "WQ20261205JL000001"
    assert received["payload"]["request"] == request.number
    reviewer = builders.staff("reviewer", request.resource.provider)
    engine.take_action(request, "refuse", actor=reviewer, note="用途与所申请字段不符")
    engine.take_action(request, "dispute", actor=NodeActor("jilin", "cc-clerk"), note="请协调")
    states = [n["payload"]["state"] for n in _notices()]
    assert states == ["under_review", "refused", "disputed"]
    assert _notices()[1]["payload"]["reason"] == "用途与所申请字段不符"
    assert _notices()[1]["payload"]["consumer_uscc"] == payload["consumer"]["uscc"]
    authority = builders.staff(
        "supervisor", builders.organisation("辽宁省数据局", division="210000", seed=9703)
    )
    engine.take_action(request, "rule_grant", actor=authority, note="依法应予共享")
    assert send_grant_notices() == 1
    (granted,) = _notices("sharing.granted")
    assert granted["payload"]["reference"] == "WQ20261205JL000001"
    assert granted["payload"]["request"] == request.number
    assert granted["payload"]["provider_name"] == request.resource.provider.name
    assert granted["payload"]["field_labels"] == ["户籍所在地"]
    assert len(_notices()) == 3  # the grant is told once, by sharing.granted


def test_a_request_not_filed_through_a_node_tells_nobody(federation):
    resource = helpers.household_resource()
    helpers.request(resource, builders.organisation("沈阳市民政局", seed=9704))
    assert not _notices()


@pytest.fixture
def sent(jilin, clerk):
    """A request of this node's department to Jilin, delivered there."""
    org, staff = clerk
    remote = file_remote_request(
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
    return remote, org, staff


def _status(federation, remote, state, **extra):
    notice = {
        "reference": remote.reference,
        "request": "XQ20261205ABCD",
        "state": state,
        "resource": "JL-GA-HJ-001",
        "resource_name": "吉林省居民户籍信息",
        "consumer_uscc": remote.consumer.uscc,
        "reason": "",
        **extra,
    }
    fed_services.receive(*federation.jilin.envelope("sharing.request_status", notice))
    remote.refresh_from_db()
    return remote


def _granted(federation, remote):
    notice = {
        "grant": "SQ20261205JL01",
        "resource": "JL-GA-HJ-001",
        "resource_name": "吉林省居民户籍信息",
        "provider_name": "长春市公安局",
        "consumer_uscc": remote.consumer.uscc,
        "fields": ["household_division"],
        "field_labels": ["户籍所在地"],
        "methods": ["verify"],
        "purpose": "异地婚姻登记核验户籍",
        "material_codes": ["HJ-HKB"],
        "subject_kind": "person",
        "expires_on": str(timezone.localdate() + dt.timedelta(days=30)),
        "request": "XQ20261205ABCD",
        "reference": remote.reference,
    }
    fed_services.receive(*federation.jilin.envelope("sharing.granted", notice))
    remote.refresh_from_db()
    return remote


def _changes(remote):
    return AuditEvent.objects.filter(action="remote_request_status", object_id=str(remote.pk))


def test_the_copy_follows_the_provider_notices_once_and_forward(federation, sent):
    remote, _org, _staff = sent
    assert remote.status == "sent"
    assert _status(federation, remote, "under_review").status == "under_review"
    assert remote.provider_number == "XQ20261205ABCD"
    refused = _status(federation, remote, "refused", reason="用途与所申请字段不符")
    assert refused.status == "refused" and refused.reason == "用途与所申请字段不符"
    # The same notice again (another envelope), or a late one, changes nothing.
    assert _status(federation, remote, "refused", reason="再次").reason == "用途与所申请字段不符"
    assert _status(federation, remote, "under_review").status == "refused"
    assert _status(federation, remote, "disputed").status == "disputed"
    granted = _granted(federation, remote)
    assert granted.status == "granted" and granted.grant_number == "SQ20261205JL01"
    held = HeldGrant.objects.get(number="SQ20261205JL01")
    assert held.provider_name == "长春市公安局" and held.field_labels == ["户籍所在地"]
    assert _status(federation, remote, "closed_refused").status == "granted"
    assert _changes(remote).count() == 4  # under review, refused, disputed, granted


def test_a_notice_from_another_node_or_of_an_unknown_state_is_refused(federation, sent):
    remote, _org, _staff = sent
    with pytest.raises(RuleViolation) as other:
        advance_remote_request(remote.reference, "granted", node="heilongjiang")
    assert other.value.code == "request_other_node"
    with pytest.raises(fed_services.Refused) as unknown:
        _status(federation, remote, "approved")
    assert unknown.value.code == "state_unknown"
    assert advance_remote_request("WQ-NOT-HERE", "refused", node="jilin") is None
    remote.refresh_from_db()
    assert remote.status == "sent" and not _changes(remote).exists()


def test_the_status_list_page_and_api(client, federation, sent, django_assert_num_queries):
    remote, org, staff = sent
    _status(federation, remote, "refused", reason="用途与所申请字段不符")
    for n in range(3):
        file_remote_request(
            node="jilin",
            resource_code="JL-GA-HJ-001",
            consumer=org,
            fields=["name"],
            methods=["verify"],
            purpose=f"第{n}次",
            legal_basis="《婚姻登记条例》第五条",
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            actor=staff,
        )
    client.force_login(staff)
    client.get("/sharing/remote/requests/")  # warm the session and the directory cache
    with django_assert_num_queries(QUERIES_OF_THE_LIST):
        page = client.get("/sharing/remote/requests/")
    text = page.content.decode()
    assert page.status_code == 200 and "长春市公安局" in text and "吉林" in text
    assert "不予共享（可申请协调）" in text and "用途与所申请字段不符" in text
    assert "户籍所在地" in text and "household_division" not in text
    assert text.count("<tr>") == 1 + 4
    refused = client.get("/sharing/remote/requests/?state=refused").content.decode()
    assert refused.count("<tr>") == 1 + 1
    answer = client.get("/api/v1/sharing/remote-requests?state=refused", **builders.bearer(staff))
    assert answer.status_code == 200
    (item,) = answer.json()["items"]
    assert item["reference"] == remote.reference and item["state"] == "refused"
    assert item["provider"] == "长春市公安局" and item["node"] == "jilin"
    other = builders.staff("reviewer", builders.organisation("鞍山市民政局", seed=9705))
    answer = client.get("/api/v1/sharing/remote-requests", **builders.bearer(other))
    assert answer.json()["count"] == 0
    # A status that does not exist, and a user who is no department's staff, are refused
    # by the one selector the page and the API call.
    unknown = client.get("/api/v1/sharing/remote-requests?state=lost", **builders.bearer(staff))
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_state"
    assert client.get("/sharing/remote/requests/?state=lost").status_code == 422
    citizen = builders.person("周八").user
    answer = client.get("/api/v1/sharing/remote-requests", **builders.bearer(citizen))
    assert answer.status_code == 403 and answer.json()["code"] == "action_forbidden"
    client.force_login(citizen)
    assert client.get("/sharing/remote/requests/").status_code == 403


# Whatever the number of rows (four here): session, user, the user's roles, count, directory
# names, the page's header (person, unread notices, roles), the rows.
QUERIES_OF_THE_LIST = 9
