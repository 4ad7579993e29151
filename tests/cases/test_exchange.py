"""A case whose two halves live on two nodes, seen from each node in turn: envelopes from
the other node are signed by a foreign node of a test directory (tests/federation)."""

import base64
import hashlib
import json

import pytest
from django.db import transaction

from cases import engine, timeline
from cases.models import Case, CaseMaterial
from core import blobs
from core.models import Division, Organisation
from federation import services as exchange
from federation.models import LogEntry, Outbox
from tests import builders

JILIN_WINDOW = {
    "uscc": builders.valid_uscc(77, "220100"),
    "name": "长春市政务服务中心",
    "short_name": "长春市政务中心",
    "kind": "service_centre",
    "division": "220100",
}


def _sent(kind):
    return [
        json.loads(e.body)
        for e in LogEntry.objects.filter(kind=kind, direction="out", entry_type="envelope")
    ]


def _material(position, name, content=b"%PDF-1.4\n%jl\n%%EOF\n", **overrides):
    return {
        "position": position,
        "name": name,
        "original_name": f"m{position}.pdf",
        "content_type": "application/pdf",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "content": base64.b64encode(content).decode(),
        "paper_custody": "原件由长春市政务服务中心窗口留存",
        **overrides,
    }


def _forwarded(version, **overrides):
    return {
        "number": "JL-20261129-000001",
        "item": version.item.code,
        "item_version": version.number,
        "workflow": "proxy",
        "mode": "proxy",
        "channel": "window",
        "state": "submitted",
        "assisted": False,
        "applicant": {
            "kind": "person",
            "name": "王五",
            "id_number": builders.valid_id_number(region="220102"),
            "mobile": "13904310000",
        },
        "receiving_org": JILIN_WINDOW,
        "form": {"reason": "投靠配偶"},
        "submitted_at": "2026-11-28T08:00:00+00:00",
        "materials": [_material(1, "居民户口簿"), _material(2, "结婚证")],
        "events": [
            {
                "at": "2026-11-28T07:50:00+00:00",
                "actor": "cc-window",
                "organisation": "长春市政务服务中心",
                "action": "check_identity",
                "from_state": "draft",
                "to_state": "identity_checked",
                "note": "",
                "node": "jilin",
            },
            {
                "at": "2026-11-28T08:00:00+00:00",
                "actor": "cc-window",
                "organisation": "长春市政务服务中心",
                "action": "forward",
                "from_state": "formally_checked",
                "to_state": "submitted",
                "note": "",
                "node": "jilin",
            },
        ],
        **overrides,
    }


@pytest.fixture
def owned(federation):
    """An item owned on this node, offered regionally for 异地代收代办."""
    return builders.offered(
        builders.item(
            scopes=(("regional", "proxy"), ("regional", "online")),
            scheme=builders.northeast_scheme(),
        )
    )


def _receive(federation, kind, payload):
    return exchange.receive(*federation.jilin.envelope(kind, payload))


def test_a_forwarded_case_opens_here_under_its_number_with_materials_and_timeline(
    federation, owned
):
    _receive(federation, "case.forwarded", _forwarded(owned))
    case = Case.objects.get(number="JL-20261129-000001")
    assert case.state == "submitted" and case.counterpart_node == "jilin"
    assert case.receiving_org.node == "jilin" and case.handling_org.is_local
    assert case.state_due_date is not None
    materials = case.materials.order_by("requirement__position")
    assert [m.node for m in materials] == ["jilin", "jilin"]
    assert blobs.read(materials[0].file.name, materials[0].sha256).startswith(b"%PDF")
    assert list(case.events.values_list("action", "node")) == [
        ("check_identity", "jilin"),
        ("forward", "jilin"),
        ("received_from_node", ""),
    ]


def test_a_material_whose_digest_does_not_match_refuses_the_whole_case(federation, owned):
    bad = _material(1, "居民户口簿", sha256="0" * 64)
    with pytest.raises(exchange.Refused) as refused:
        _receive(federation, "case.forwarded", _forwarded(owned, materials=[bad]))
    assert refused.value.code == "material_digest_mismatch"
    assert not Case.objects.exists()
    assert not Organisation.objects.filter(node="jilin").exists()
    assert not LogEntry.objects.exists()


def test_a_forwarded_case_for_an_item_not_owned_here_is_refused(federation, owned):
    with pytest.raises(exchange.Refused) as refused:
        _receive(federation, "case.forwarded", _forwarded(owned, item="nope"))
    assert refused.value.code == "item_unknown"


def test_actions_here_travel_to_the_receiving_node_and_its_window_actions_come_back(
    federation, owned
):
    _receive(federation, "case.forwarded", _forwarded(owned))
    case = Case.objects.get()
    reviewer = builders.staff("reviewer", case.handling_org)
    engine.take_action(
        case,
        "request_supplement",
        actor=reviewer,
        note="户口簿不清晰",
        data={
            "materials": [case.item_version.materials.get(position=1).pk],
            "due_date": _in_days(case, 3),
        },
    )
    sent = _sent("case.action")
    assert [s["payload"]["action"] for s in sent] == ["request_supplement"]
    assert sent[0]["receiver"] == "jilin" and sent[0]["payload"]["payload"]["materials"] == [1]
    assert Outbox.objects.filter(envelope__kind="case.action").count() == 1
    # The applicant supplements at the 长春 window: the new file comes with the action.
    _receive(
        federation,
        "case.action",
        {
            "number": case.number,
            "action": "supplement",
            "from_state": "supplement_requested",
            "actor": "cc-window",
            "organisation": JILIN_WINDOW,
            "materials": [_material(1, "居民户口簿", content=b"%PDF-1.4\n%clear\n%%EOF\n")],
        },
    )
    case.refresh_from_db()
    assert case.state == "submitted"
    current = case.materials.get(requirement__position=1, status=CaseMaterial.Status.PROVIDED)
    assert blobs.read(current.file.name, current.sha256).endswith(b"%clear\n%%EOF\n")
    event = case.events.get(action="supplement")
    assert event.node == "jilin" and event.organisation.uscc == JILIN_WINDOW["uscc"]
    assert len(_sent("case.action")) == 1  # a remote action is not echoed back


def test_the_receiving_node_cannot_take_the_departments_actions(federation, owned):
    _receive(federation, "case.forwarded", _forwarded(owned))
    with pytest.raises(exchange.Refused) as refused:
        _receive(
            federation,
            "case.action",
            {
                "number": "JL-20261129-000001",
                "action": "accept",
                "from_state": "submitted",
                "actor": "x",
            },
        )
    assert refused.value.code == "action_forbidden"
    assert Case.objects.get().state == "submitted"


def test_an_action_from_a_state_this_node_has_left_is_refused(federation, owned):
    _receive(federation, "case.forwarded", _forwarded(owned))
    case = Case.objects.get()
    engine.take_action(case, "accept", actor=builders.staff("reviewer", case.handling_org))
    with pytest.raises(exchange.Refused) as refused:
        _receive(
            federation,
            "case.action",
            {
                "number": case.number,
                "action": "withdraw",
                "from_state": "submitted",
                "actor": "cc-window",
                "organisation": JILIN_WINDOW,
            },
        )
    assert refused.value.code == "case_state_conflict"
    assert Case.objects.get().state == "accepted"


def _remote_item():
    org = Organisation.objects.create(
        uscc=JILIN_WINDOW["uscc"].replace("77", "78", 1)
        if False
        else builders.valid_uscc(79, "220100"),
        name="长春市市场监督管理局",
        kind="department",
        division=Division.objects.get(code="220100"),
        node="jilin",
    )
    return builders.item(
        "食品经营许可证核发",
        org=org,
        scopes=(("regional", "proxy"),),
        scheme=builders.northeast_scheme(),
    )


def test_a_window_forwards_a_case_for_another_nodes_item_with_its_files(federation):
    version = _remote_item()
    case, clerk = builders.checked_window_case(version, custody="原件寄往业务属地")
    window = case.receiving_org
    assert case.mode == "proxy" and case.counterpart_node == "jilin"
    assert not LogEntry.objects.exists()  # the window's own steps stay here
    engine.take_action(case, "forward", actor=clerk)
    (forwarded,) = _sent("case.forwarded")
    payload = forwarded["payload"]
    assert forwarded["receiver"] == "jilin" and payload["number"] == case.number
    assert payload["state"] == "submitted" and payload["receiving_org"]["uscc"] == window.uscc
    assert [m["position"] for m in payload["materials"]] == [1, 2]
    assert base64.b64decode(payload["materials"][0]["content"]) == builders.uploaded_pdf("1")
    assert [e["action"] for e in payload["events"]][-3:] == [
        "check_identity",
        "check_materials",
        "forward",
    ]
    assert not CaseMaterial.objects.filter(exchanged_at__isnull=True).exists()
    # The department on the other node accepts: the clock starts here too.
    exchange.receive(
        *federation.jilin.envelope(
            "case.action",
            {
                "number": case.number,
                "action": "accept",
                "from_state": "submitted",
                "actor": "cc-scjgj-reviewer",
                "organisation": {
                    "uscc": version.item.organisation.uscc,
                    "name": "长春市市场监督管理局",
                    "kind": "department",
                    "division": "220100",
                },
            },
        )
    )
    case.refresh_from_db()
    assert case.state == "accepted" and case.clock_state == "running" and case.due_date
    assert case.events.get(action="accept").node == "jilin"


def test_the_forward_is_part_of_the_windows_transaction(federation):
    case, clerk = builders.checked_window_case(_remote_item())
    with pytest.raises(RuntimeError), transaction.atomic():
        engine.take_action(case, "forward", actor=clerk)
        raise RuntimeError("crash before commit")
    assert not Outbox.objects.exists()
    case.refresh_from_db()
    assert case.state == "formally_checked"


def _in_days(case, n):
    return engine.PROCESS.days_after(case, timeline.today(), n).date.isoformat()


def test_an_online_application_on_another_members_portal_lands_with_the_owner(federation, owned):
    owner = owned.item.organisation
    online = _forwarded(
        owned,
        workflow="online",
        mode="online",
        channel="online",
        receiving_org={
            "uscc": owner.uscc,
            "name": owner.name,
            "kind": "department",
            "division": owner.division.code,
        },
        events=[],
    )
    _receive(federation, "case.forwarded", online)
    case = Case.objects.get()
    assert case.receiving_org == owner and case.counterpart_node == "jilin"
    # The applicant withdraws on their own node's portal: applied here too.
    _receive(
        federation,
        "case.action",
        {"number": case.number, "action": "withdraw", "from_state": "submitted", "actor": "申请人"},
    )
    assert Case.objects.get().state == "withdrawn"


def test_a_final_refusal_by_the_counterpart_shows_on_the_case(federation, monkeypatch):
    case, clerk = builders.checked_window_case(_remote_item())
    engine.take_action(case, "forward", actor=clerk)

    def refuse(url, data):
        sent = json.loads(data["envelope"])
        body, signature = federation.jilin.signed(
            {
                "format": "tongban-refusal/1",
                "envelope": sent["id"],
                "digest": hashlib.sha256(data["envelope"].encode()).hexdigest(),
                "sender": "jilin",
                "receiver": "liaoning",
                "code": "item_unknown",
                "reason": "本节点没有该事项",
                "at": "2026-11-29T00:00:00Z",
            }
        )
        return 422, {"refusal": body, "signature": signature, "code": "item_unknown"}

    monkeypatch.setattr(exchange, "_post", refuse)
    assert exchange.deliver_due()["refused"] == 1
    assert Outbox.objects.get().status == "refused"
    event = case.events.get(action="refused_by_node")
    assert "item_unknown" in event.note and "本节点没有该事项" in event.note


def test_a_forwarded_case_of_an_item_this_node_does_not_offer_there_is_refused(federation):
    """The handling node decides the scope again on its own lists: a window of another
    node cannot make it handle an item it never promised there."""
    unlisted = builders.item(
        scopes=(("regional", "proxy"),), scheme=builders.northeast_scheme(), name="未列入清单事项"
    )
    with pytest.raises(exchange.Refused) as refused:
        _receive(federation, "case.forwarded", _forwarded(unlisted))
    assert refused.value.code == "not_available_here"
    assert not Case.objects.exists()
