"""多地联办: steps by several organisations, in order or in parallel, on this node and on
another; the applicant sees one case."""

import json

import pytest

from cases import engine, joint, services
from cases.materials import add_material
from cases.models import Case, CaseStep
from core.exceptions import RuleViolation
from core.models import Division, Organisation
from federation import services as exchange
from federation.models import LogEntry
from tests import builders


def _remote_org(name="长春市公安局", seed=61):
    return Organisation.objects.create(
        uscc=builders.valid_uscc(seed, "220100"),
        name=name,
        kind="department",
        division=Division.objects.get(code="220100"),
        node="jilin",
    )


def _accepted_joint_case():
    version = builders.item(
        "户口迁移（迁入）", scopes=(("regional", "joint"),), scheme=builders.northeast_scheme()
    )
    applicant = builders.person("赵六")
    case = services.start_case(
        item_version=version,
        form_data={"reason": "投靠"},
        actor=applicant.user,
        person=applicant,
        mode="joint",
    )
    for material in version.materials.all():
        add_material(
            case, material, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
        )
    engine.take_action(case, "submit", actor=applicant.user)
    reviewer = builders.staff("reviewer", case.handling_org)
    case = engine.take_action(case, "accept", actor=reviewer)
    return case, reviewer


def _sent(kind):
    return [
        json.loads(e.body)
        for e in LogEntry.objects.filter(kind=kind, direction="out", entry_type="envelope")
    ]


def test_steps_run_in_order_across_nodes_and_the_case_moves_on_when_all_are_done(federation):
    case, reviewer = _accepted_joint_case()
    move_out = _remote_org("大连市公安局（迁出地）")
    case = builders.assign_steps(
        case,
        [
            {"order": 1, "name": "准予迁入", "organisation": case.handling_org.uscc},
            {"order": 2, "name": "注销原户籍", "organisation": move_out.uscc},
        ],
        actor=reviewer,
    )
    assert case.state == "joint_steps"
    first, second = case.steps.order_by("order")
    assert (first.status, second.status) == ("active", "waiting")
    assert not _sent("case.step.assigned")  # the remote step waits for the first
    approver = builders.staff("approver", case.handling_org)
    joint.complete_step(first, passed=True, note="", actor=approver)
    second.refresh_from_db()
    assert second.status == "active"
    (assigned,) = _sent("case.step.assigned")
    assert assigned["receiver"] == "jilin" and assigned["payload"]["assigned"] == [second.pk]
    assert len(assigned["payload"]["materials"]) == 2
    # The move-out place cancels the old registration on its node and reports back.
    exchange.receive(
        *federation.jilin.envelope(
            "case.step.done",
            {
                "number": case.number,
                "home_id": second.pk,
                "passed": True,
                "note": "已注销",
                "actor": "dl-gaj-reviewer",
            },
        )
    )
    case.refresh_from_db()
    assert case.state == "under_review"
    assert list(case.steps.values_list("status", flat=True)) == ["done", "done"]
    assert case.events.get(action="complete_step", node="jilin").organisation == move_out


def test_steps_of_the_same_order_run_in_parallel(federation):
    case, reviewer = _accepted_joint_case()
    other = builders.organisation("大连市民政局")
    case = builders.assign_steps(
        case,
        [
            {"order": 1, "name": "甲", "organisation": case.handling_org.uscc},
            {"order": 1, "name": "乙", "organisation": other.uscc},
        ],
        actor=reviewer,
    )
    assert set(case.steps.values_list("status", flat=True)) == {"active"}
    joint.complete_step(case.steps.get(name="甲"), passed=True, note="", actor=reviewer)
    assert Case.objects.get().state == "joint_steps"
    joint.complete_step(
        case.steps.get(name="乙"),
        passed=False,
        note="材料不符",
        actor=builders.staff("reviewer", other),
    )
    assert Case.objects.get().state == "under_review"


def test_bad_steps_and_strangers_change_nothing(federation):
    case, reviewer = _accepted_joint_case()
    with pytest.raises(RuleViolation) as refused:
        builders.assign_steps(
            case, [{"order": 0, "name": "", "organisation": "nope"}], actor=reviewer
        )
    assert refused.value.code == "steps_invalid" and len(refused.value.problems) == 3
    assert Case.objects.get().state == "accepted" and not CaseStep.objects.exists()
    case = builders.assign_steps(
        case,
        [{"order": 1, "name": "准予迁入", "organisation": case.handling_org.uscc}],
        actor=reviewer,
    )
    stranger = builders.staff("reviewer", builders.organisation("鞍山市公安局", "210300"))
    with pytest.raises(RuleViolation) as refused:
        joint.complete_step(case.steps.get(), passed=True, note="", actor=stranger)
    assert refused.value.code == "action_forbidden"


def test_a_step_report_from_a_node_that_does_not_hold_it_is_refused(federation):
    case, reviewer = _accepted_joint_case()
    case = builders.assign_steps(
        case,
        [{"order": 1, "name": "准予迁入", "organisation": case.handling_org.uscc}],
        actor=reviewer,
    )
    step = case.steps.get()
    with pytest.raises(exchange.Refused) as refused:
        exchange.receive(
            *federation.jilin.envelope(
                "case.step.done",
                {"number": case.number, "home_id": step.pk, "passed": True, "actor": "x"},
            )
        )
    assert refused.value.code == "step_unknown"
    step.refresh_from_db()
    assert step.status == "active"


def test_a_step_assigned_here_by_another_node_is_done_here_and_reported_back(federation):
    home = _remote_org("长春市公安局", seed=62)
    version = builders.item(
        "户口迁移（迁入）",
        org=home,
        scopes=(("regional", "joint"),),
        scheme=builders.northeast_scheme(),
    )
    move_out = builders.organisation("大连市公安局")
    content = builders.uploaded_pdf()
    import base64
    import hashlib

    payload = {
        "number": "JL-20261128-000009",
        "item": version.item.code,
        "item_version": version.number,
        "home_org": {
            "uscc": home.uscc,
            "name": home.name,
            "kind": "department",
            "division": "220100",
        },
        "applicant": {
            "kind": "person",
            "name": "赵六",
            "id_number": builders.valid_id_number(),
            "mobile": "13904110001",
        },
        "form": {"reason": "投靠"},
        "materials": [
            {
                "position": 1,
                "name": "居民户口簿",
                "content": base64.b64encode(content).decode(),
                "sha256": hashlib.sha256(content).hexdigest(),
                "original_name": "hkb.pdf",
                "content_type": "application/pdf",
                "size": len(content),
            }
        ],
        "steps": [
            {
                "home_id": 11,
                "order": 1,
                "name": "准予迁入",
                "organisation": {
                    "uscc": home.uscc,
                    "name": home.name,
                    "kind": "department",
                    "division": "220100",
                },
                "status": "done",
            },
            {
                "home_id": 12,
                "order": 2,
                "name": "注销原户籍",
                "organisation": {
                    "uscc": move_out.uscc,
                    "name": move_out.name,
                    "kind": "department",
                    "division": "210200",
                },
                "status": "active",
            },
        ],
        "assigned": [12],
    }
    exchange.receive(*federation.jilin.envelope("case.step.assigned", payload))
    case = Case.objects.get(number="JL-20261128-000009")
    assert case.counterpart_node == "jilin" and case.state == "joint_steps"
    mine = case.steps.get(home_id=12)
    assert mine.status == "active" and mine.organisation == move_out
    reviewer = builders.staff("reviewer", move_out)
    assert Case.objects.for_user(reviewer).filter(pk=case.pk).exists()
    joint.complete_step(mine, passed=True, note="已注销原户籍", actor=reviewer)
    (done,) = _sent("case.step.done")
    assert (
        done["receiver"] == "jilin"
        and done["payload"]["home_id"] == 12
        and done["payload"]["passed"]
    )


def test_the_console_assigns_steps_and_records_a_result(federation, client):
    case, reviewer = _accepted_joint_case()
    client.force_login(reviewer)
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    assert "分派联办环节" in page
    response = client.post(
        f"/console/cases/{case.number}/actions/assign_steps/",
        {
            "assign_steps-step1_order": "1",
            "assign_steps-step1_name": "准予迁入",
            "assign_steps-step1_organisation": case.handling_org.uscc,
        },
    )
    assert response.status_code == 302
    step = CaseStep.objects.get()
    assert step.status == "active"
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    assert "办理环节：准予迁入" in page
    response = client.post(
        f"/console/cases/{case.number}/steps/{step.pk}/",
        {f"step{step.pk}-passed": "0", f"step{step.pk}-note": ""},
    )
    assert response.status_code == 422  # a refusal needs its reason
    response = client.post(
        f"/console/cases/{case.number}/steps/{step.pk}/", {f"step{step.pk}-passed": "1"}
    )
    assert response.status_code == 302
    assert Case.objects.get().state == "under_review"
