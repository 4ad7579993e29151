"""一件事 bundle cases: one application, a sub-case per step that applies, licences passed
forward, one status, deadline, timeline and result; failures block, withdrawal withdraws
the undecided; bad input refused whole."""

from __future__ import annotations

import datetime as dt

import pytest

from cases import bundles, engine
from cases.models import BundleCase, BundleSubCase, Case
from catalog.bundles import StepData, create_bundle_version, publish_bundle_version, save_bundle
from core.actors import SystemActor
from core.exceptions import RuleViolation
from licences import services as licence_services
from licences.models import Licence
from tests import builders

pytestmark = pytest.mark.django_db

ANSWERS = {"baby_name": "刘小宝", "birth_date": "2024-05-01", "reason": "新生儿", "card": "是"}
HUKOU_KEY = "name:居民户口簿"


@pytest.fixture
def world():
    return make_world()


def make_world() -> dict:
    """The newborn bundle over four items, a seal and a reviewer and approver for each
    item's organisation, and an applicant."""
    items = builders.newborn_items()
    version = builders.newborn_bundle(items)
    staff = {}
    for name, item_version in items.items():
        org = item_version.item.organisation
        licence_services.create_seal(org, actor=SystemActor("test"))
        staff[name] = (builders.staff("reviewer", org), builders.staff("approver", org))
    applicant = builders.person("刘芳")
    return {"items": items, "version": version, "staff": staff, "applicant": applicant}


def submitted(world, answers=ANSWERS) -> BundleCase:
    user = world["applicant"].user
    bundle_case = bundles.start_bundle_case(
        bundle_version=world["version"], form_data=dict(answers), actor=user
    )
    bundles.add_bundle_material(
        bundle_case, HUKOU_KEY, content=builders.uploaded_pdf(), name="户口簿.pdf", actor=user
    )
    bundles.add_bundle_material(
        bundle_case,
        "name:结婚证",
        content=builders.uploaded_pdf("2"),
        name="结婚证.pdf",
        actor=user,
    )
    return bundles.submit_bundle_case(bundle_case, actor=user)


def decide(world, sub: BundleSubCase, action: str = "approve") -> Case:
    reviewer, approver = world["staff"][_step_name(world, sub)]
    case = engine.take_action(sub.case, "accept", actor=reviewer)
    case = engine.take_action(case, "start_review", actor=reviewer)
    return engine.take_action(
        case, action, actor=approver, note="不符合条件" if action == "deny" else ""
    )


def _step_name(world, sub: BundleSubCase) -> str:
    return next(k for k, v in world["items"].items() if v.item_id == sub.step.item_id)


def subs_of(bundle_case: BundleCase) -> list[BundleSubCase]:
    return list(bundle_case.sub_cases.select_related("case", "step").order_by("order"))


def test_the_newborn_bundle_runs_end_to_end_with_licences_passed_forward(
    world, django_capture_on_commit_callbacks
):
    bundle_case = submitted(world)
    first, second, third = subs_of(bundle_case)
    assert bundle_case.status == BundleCase.Status.RUNNING
    assert bundle_case.due_date is not None and bundle_case.due_date > dt.date(2024, 5, 1)
    assert (first.status, second.status, third.status) == ("running", "waiting", "waiting")
    assert first.case.state == "submitted"
    assert {m.requirement.name for m in first.case.materials.all()} == {"居民户口簿", "结婚证"}
    assert first.case.form_data["baby_name"] == "刘小宝"

    with django_capture_on_commit_callbacks(execute=True):
        decide(world, first)
    first, second, third = subs_of(bundle_case)
    assert (first.status, second.status, third.status) == ("approved", "running", "waiting")
    birth = Licence.objects.get(case_number=first.case.number)
    given = {m.requirement.name: m for m in second.case.materials.all()}
    assert given["出生医学证明"].licence == birth  # passed forward, 免提交
    assert given["居民户口簿"].sha256  # the file given once for the bundle
    assert second.case.form_data["child_name"] == "刘小宝"

    with django_capture_on_commit_callbacks(execute=True):
        decide(world, second)
    third = subs_of(bundle_case)[2]
    hukou = Licence.objects.get(case_number=second.case.number)
    assert third.case.materials.get(requirement__name="居民户口簿").licence == hukou

    with django_capture_on_commit_callbacks(execute=True):
        decide(world, third)
    bundle_case.refresh_from_db()
    assert bundle_case.status == BundleCase.Status.DONE
    overview = bundles.bundle_overview(bundle_case)
    assert overview.status_label == "已办结"
    assert {r.name for r in overview.results} >= {"出生医学证明", "居民户口簿"}
    items = {row.item for row in overview.timeline}
    assert {"一件事", "出生医学证明首次签发", "新生儿入户", "社会保障卡申领"} <= items
    assert [r.at for r in overview.timeline] == sorted(r.at for r in overview.timeline)


def test_a_step_that_fails_blocks_the_later_ones(world, django_capture_on_commit_callbacks):
    bundle_case = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        decide(world, subs_of(bundle_case)[0], "deny")
    first, second, third = subs_of(bundle_case)
    assert first.status == "failed" and "不符合条件" in first.note
    assert second.status == third.status == "blocked"
    assert "出生医学证明首次签发" in second.note
    bundle_case.refresh_from_db()
    assert bundle_case.status == BundleCase.Status.FAILED
    overview = bundles.bundle_overview(bundle_case)
    assert overview.blocked == [(first, "新生儿入户、社会保障卡申领")]


def test_withdrawing_withdraws_the_undecided_and_cancels_the_rest(world):
    bundle_case = submitted(world)
    bundles.withdraw_bundle_case(bundle_case, actor=world["applicant"].user)
    first, second, third = subs_of(bundle_case)
    assert first.case.state == "withdrawn" and first.status == "withdrawn"
    assert second.status == third.status == "cancelled"
    bundle_case.refresh_from_db()
    assert bundle_case.status == BundleCase.Status.WITHDRAWN


def test_withdrawal_is_refused_whole_once_a_step_is_under_review(world):
    bundle_case = submitted(world)
    first = subs_of(bundle_case)[0]
    engine.take_action(first.case, "accept", actor=world["staff"]["certificate"][0])
    with pytest.raises(RuleViolation) as info:
        bundles.withdraw_bundle_case(bundle_case, actor=world["applicant"].user)
    assert info.value.code == "bundle_withdraw_not_possible"
    bundle_case.refresh_from_db()
    assert bundle_case.status == BundleCase.Status.RUNNING
    assert subs_of(bundle_case)[1].status == "waiting"


def test_only_the_applicant_acts_on_the_bundle(world):
    bundle_case = submitted(world)
    other = builders.person("王五")
    with pytest.raises(RuleViolation) as info:
        bundles.withdraw_bundle_case(bundle_case, actor=other.user)
    assert info.value.code == "action_forbidden"
    assert not bundles.bundle_cases_for(other.user).exists()
    reviewer = world["staff"]["certificate"][0]
    assert list(bundles.bundle_cases_for(reviewer)) == [bundle_case]


def test_an_item_not_available_where_the_applicant_lives_is_refused_whole(world):
    jilin = builders.organisation("长春市医疗保障局", division="220100")
    elsewhere = builders.item("城乡居民医保参保登记", org=jilin)  # on no 通办 list
    items = world["items"]
    bundle = save_bundle(code="away", name="异地", audience="person", actor=SystemActor("t"))
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=[{"name": "reason", "label": "原因", "type": "text"}],
        steps=[
            StepData(1, items["card"].item, field_map={"reason": "reason"}),
            StepData(2, elsewhere.item, field_map={"reason": "reason"}),
        ],
        actor=SystemActor("t"),
        change_note="x",
    )
    version = publish_bundle_version(version, actor=SystemActor("t"))
    with pytest.raises(RuleViolation) as info:
        bundles.start_bundle_case(
            bundle_version=version, form_data={"reason": "参保"}, actor=world["applicant"].user
        )
    assert info.value.code == "bundle_item_not_available"
    assert "城乡居民医保参保登记" in info.value.message
    assert not BundleCase.objects.exists() and not Case.objects.exists()


def test_an_answer_making_an_item_apply_twice_is_refused_whole(world):
    card = world["items"]["card"].item
    bundle = save_bundle(code="twice", name="两次", audience="person", actor=SystemActor("t"))
    form = [
        {"name": "reason", "label": "原因", "type": "text"},
        {"name": "a", "label": "甲", "type": "choice", "choices": ["是", "否"]},
        {"name": "b", "label": "乙", "type": "choice", "choices": ["是", "否"]},
    ]
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=form,
        steps=[
            StepData(1, card, {"field": "a", "values": ["是"]}, {"reason": "reason"}),
            StepData(2, card, {"field": "b", "values": ["是"]}, {"reason": "reason"}),
        ],
        actor=SystemActor("t"),
        change_note="x",
    )
    version = publish_bundle_version(version, actor=SystemActor("t"))
    with pytest.raises(RuleViolation) as info:
        bundles.start_bundle_case(
            bundle_version=version,
            form_data={"reason": "x", "a": "是", "b": "是"},
            actor=world["applicant"].user,
        )
    assert info.value.code == "bundle_item_twice"
    assert not BundleCase.objects.exists()


def test_bad_answers_name_the_merged_form_and_missing_materials_stop_submission(world):
    user = world["applicant"].user
    with pytest.raises(RuleViolation) as info:
        bundles.start_bundle_case(
            bundle_version=world["version"], form_data={**ANSWERS, "birth_date": "x"}, actor=user
        )
    assert info.value.code == "form_invalid"
    assert [p.field for p in info.value.problems] == ["birth_date"]
    bundle_case = bundles.start_bundle_case(
        bundle_version=world["version"], form_data=ANSWERS, actor=user
    )
    with pytest.raises(RuleViolation) as info:
        bundles.submit_bundle_case(bundle_case, actor=user)
    assert info.value.code == "bundle_materials_missing"
    assert "居民户口簿" in info.value.message
    assert not Case.objects.exists()
    with pytest.raises(RuleViolation) as info:
        bundles.add_bundle_material(
            bundle_case, "name:其他", content=builders.uploaded_pdf(), name="x.pdf", actor=user
        )
    assert info.value.code == "material_not_of_bundle"


# The API ---------------------------------------------------------------------------------------


def test_the_api_runs_a_bundle_case_and_refuses_bad_answers_with_stable_codes(world, client):
    headers = builders.bearer(world["applicant"].user)
    response = client.post(
        "/api/v1/bundle-cases",
        {"bundle": "newborn", "form": {**ANSWERS, "card": "否"}},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content.decode()
    body = response.json()
    number = body["number"]
    assert body["status"] == "draft" and len(body["sub_cases"]) == 2
    produced = {m["name"]: m["produced_by"] for m in body["materials"]}
    assert produced == {"居民户口簿": None, "结婚证": None, "出生医学证明": "出生医学证明首次签发"}
    for key, marker in ((HUKOU_KEY, "1"), ("name:结婚证", "2")):
        response = client.post(
            f"/api/v1/bundle-cases/{number}/materials",
            {"key": key, "file": _pdf(marker)},
            **headers,
        )
        assert response.status_code == 201, response.content.decode()
    response = client.post(f"/api/v1/bundle-cases/{number}/submit", **headers)
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert body["status"] == "running" and body["current"] == ["出生医学证明首次签发"]
    assert body["sub_cases"][0]["case_state"] == "submitted"
    assert body["due_date"]
    rows = client.get("/api/v1/bundle-cases", **headers).json()["items"]
    assert [r["number"] for r in rows] == [number]
    response = client.post(
        f"/api/v1/bundle-cases/{number}/withdraw",
        {"note": "不办了"},
        content_type="application/json",
        **headers,
    )
    assert response.json()["status"] == "withdrawn"

    stranger = builders.bearer(builders.person("路人").user)
    response = client.get(f"/api/v1/bundle-cases/{number}", **stranger)
    assert response.status_code == 404 and response.json()["code"] == "bundle_case_not_found"
    response = client.post(
        "/api/v1/bundle-cases",
        {"bundle": "newborn", "form": {**ANSWERS, "birth_date": "昨天"}},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422 and response.json()["code"] == "form_invalid"


def test_the_api_list_has_a_fixed_number_of_queries(world, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = builders.bearer(world["applicant"].user)
    submitted(world)
    client.get("/api/v1/bundle-cases", **headers)  # the token's first use is written
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/bundle-cases", **headers)
    submitted(world, {**ANSWERS, "card": "否"})
    with CaptureQueriesContext(connection) as two:
        rows = client.get("/api/v1/bundle-cases", **headers).json()["items"]
    assert len(rows) == 2 and len(two) == len(one)


def _pdf(marker: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(f"m{marker}.pdf", builders.uploaded_pdf(marker), "application/pdf")


# A step on another node ------------------------------------------------------------------------


@pytest.fixture
def remote_first(world, federation):
    """A bundle whose first step is an item of the Jilin node, the second this node's."""
    from core.models import Division, Organisation

    org = Organisation.objects.create(
        uscc=builders.valid_uscc(81, "220100"),
        name="长春市公安局",
        kind="department",
        division=Division.objects.get(code="220100"),
        node="jilin",
    )
    remote = builders.item("开具户籍类证明", org=org)
    bundle = save_bundle(code="remote", name="跨节点", audience="person", actor=SystemActor("t"))
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=[{"name": "reason", "label": "原因", "type": "text"}],
        steps=[
            StepData(1, remote.item, field_map={"reason": "reason"}),
            StepData(2, world["items"]["card"].item, field_map={"reason": "reason"}),
        ],
        actor=SystemActor("t"),
        change_note="x",
    )
    version = publish_bundle_version(version, actor=SystemActor("t"))
    user = world["applicant"].user
    bundle_case = bundles.start_bundle_case(
        bundle_version=version, form_data={"reason": "落户"}, actor=user
    )
    keys = (HUKOU_KEY, "name:结婚证", "licence:111000000000131244002")
    for marker, key in enumerate(keys):
        bundles.add_bundle_material(
            bundle_case, key, content=builders.uploaded_pdf(str(marker)), name="m.pdf", actor=user
        )
    return bundles.submit_bundle_case(bundle_case, actor=user)


def _from_jilin(federation, case: Case, action: str, from_state: str) -> None:
    from federation import services as exchange

    payload = {
        "number": case.number,
        "action": action,
        "from_state": from_state,
        "actor": "cc",
        "note": "不符合落户条件",
    }
    exchange.receive(*federation.jilin.envelope("case.action", payload))


def test_a_decision_reported_by_the_other_node_moves_the_bundle_on(
    remote_first, federation, django_capture_on_commit_callbacks
):
    from federation.models import LogEntry

    first = subs_of(remote_first)[0]
    assert first.case.counterpart_node == "jilin"
    assert LogEntry.objects.filter(kind="case.forwarded", receiver="jilin").exists()
    _from_jilin(federation, first.case, "accept", "submitted")
    _from_jilin(federation, first.case, "start_review", "accepted")
    with django_capture_on_commit_callbacks(execute=True):
        _from_jilin(federation, first.case, "approve", "under_review")
    first, second = subs_of(remote_first)
    assert first.status == "approved" and second.status == "running"
    assert second.case.state == "submitted" and second.case.counterpart_node == ""


def test_a_refusal_reported_by_the_other_node_blocks_the_rest(
    remote_first, federation, django_capture_on_commit_callbacks
):
    first = subs_of(remote_first)[0]
    with django_capture_on_commit_callbacks(execute=True):
        _from_jilin(federation, first.case, "refuse_acceptance", "submitted")
    first, second = subs_of(remote_first)
    assert first.status == "failed" and second.status == "blocked"
    remote_first.refresh_from_db()
    assert remote_first.status == BundleCase.Status.FAILED


def test_the_console_names_the_bundle_and_what_waits_for_the_case(world, client):
    bundle_case = submitted(world)
    first = subs_of(bundle_case)[0]
    client.force_login(world["staff"]["certificate"][0])
    page = client.get(f"/console/cases/{first.case.number}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"本办件是“新生儿出生一件事”（{bundle_case.number}）第 1 阶段的事项" in body
    assert "将自动开始办理：新生儿入户、社会保障卡申领" in body


def test_a_step_the_other_node_did_not_accept_is_shown_on_the_bundle(remote_first, client):
    from cases import timeline
    from core.actors import NodeActor

    first = subs_of(remote_first)[0]
    timeline.record_event(
        first.case,
        actor=NodeActor("jilin", "吉林"),
        action="refused_by_node",
        note="吉林未接受本节点发送的办件信息（form_invalid）：申请表填写有误",
    )
    overview = bundles.bundle_overview(remote_first)
    assert [(s.pk, why[:2]) for s, why in overview.refused] == [(first.pk, "吉林")]
    client.force_login(remote_first.submitted_by)
    body = client.get(f"/my/bundles/{remote_first.number}/").content.decode()
    assert "有事项未被承办节点接受" in body and "申请表填写有误" in body
    data = client.get(f"/api/v1/bundle-cases/{remote_first.number}").json()
    assert data["refused"][0]["item"] == "开具户籍类证明"


def _refuse_on_arrival(federation, monkeypatch, code="division_unknown"):
    """The Jilin node refuses every envelope it is sent, finally (not retryable)."""
    import hashlib
    import json

    from federation import services as exchange

    def refuse(url, data):
        sent = json.loads(data["envelope"])
        body, signature = federation.jilin.signed(
            {
                "format": "tongban-refusal/1",
                "envelope": sent["id"],
                "digest": hashlib.sha256(data["envelope"].encode()).hexdigest(),
                "sender": "jilin",
                "receiver": "liaoning",
                "code": code,
                "reason": "本节点没有该区划",
                "at": "2026-11-29T00:00:00Z",
            }
        )
        return 422, {"refusal": body, "signature": signature, "code": code}

    monkeypatch.setattr(exchange, "_post", refuse)
    return exchange


def test_a_step_refused_on_arrival_fails_blocks_the_rest_and_fails_the_bundle_once(
    remote_first, federation, monkeypatch, client, django_capture_on_commit_callbacks
):
    from federation.models import Outbox
    from federation.registry import refusal_callback

    first = subs_of(remote_first)[0]
    assert first.status == "running" and first.case.counterpart_node == "jilin"
    exchange = _refuse_on_arrival(federation, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        assert exchange.deliver_due()["refused"] == 1
    first, second = subs_of(remote_first)
    assert first.status == "failed" and "本节点没有该区划" in first.note
    assert second.status == "blocked" and "开具户籍类证明" in second.note
    assert first.case.state == "terminated"
    remote_first.refresh_from_db()
    assert remote_first.status == BundleCase.Status.FAILED
    overview = bundles.bundle_overview(remote_first)
    assert overview.status_label == "未通过" and not overview.current
    assert [(s.pk, what) for s, what in overview.blocked] == [(first.pk, "社会保障卡申领")]
    # Nothing goes back to the node that refused: it holds nothing to terminate.
    assert Outbox.objects.count() == 1

    # The refusal told again (a second worker, a retry) changes nothing.
    forwarded = json_payload(Outbox.objects.get())
    with django_capture_on_commit_callbacks(execute=True):
        refusal_callback("case.forwarded")("jilin", forwarded, "division_unknown", "again")
    assert first.case.events.filter(action="terminate").count() == 1
    assert remote_first.events.filter(action="failed").count() == 1
    assert Outbox.objects.count() == 1

    client.force_login(remote_first.submitted_by)
    body = client.get(f"/my/bundles/{remote_first.number}/").content.decode()
    assert "未通过" in body and "本节点没有该区划" in body and "社会保障卡申领" in body
    data = client.get(f"/api/v1/bundle-cases/{remote_first.number}").json()
    assert data["status"] == "failed"
    assert {s["status"] for s in data["sub_cases"]} == {"failed", "blocked"}
    assert data["blocked"] == [{"item": "开具户籍类证明", "blocks": "社会保障卡申领"}]


def json_payload(outbox) -> dict:
    import json

    return json.loads(outbox.envelope.body)["payload"]


def test_a_refused_action_of_a_running_step_does_not_fail_it(
    remote_first, federation, monkeypatch, django_capture_on_commit_callbacks
):
    """Only the case refused on arrival fails the step; a later message refused leaves the
    step running, shown as not accepted (the two nodes' staff settle it)."""
    from federation.registry import refusal_callback

    first = subs_of(remote_first)[0]
    with django_capture_on_commit_callbacks(execute=True):
        refusal_callback("case.action")(
            "jilin", {"number": first.case.number}, "case_state_conflict", "状态不符"
        )
    first = subs_of(remote_first)[0]
    assert first.status == "running" and first.case.state == "submitted"
    assert bundles.bundle_overview(remote_first).refused
