"""The case engine on one node: the online flow, supplements and the paused clock,
concurrency, 容缺受理 and 告知承诺."""

import datetime as dt
import threading

import chinese_calendar
import pytest
from django.db import connection

from cases import commitments as case_commitments
from cases import engine, services
from cases import materials as case_materials
from cases import timeline as case_timeline
from cases.models import Case, CaseArchive, Commitment
from core.actors import SystemActor
from core.exceptions import RuleViolation
from tests import builders
from tests.reference_calendar import reference_deadline


@pytest.fixture
def world():
    org = builders.organisation("大连市公安局", "210200")
    other = builders.organisation("长春市公安局", "220100")
    version = builders.item(
        "开具户籍类证明",
        org=org,
        promised_limit=10,
        form_fields=[{"name": "purpose", "label": "用途", "type": "text"}],
    )
    clerk = builders.staff("window_clerk", org)
    builders.at_window(clerk, version)
    return {
        "org": org,
        "other": other,
        "version": version,
        "applicant": builders.person("李四"),
        "reviewer": builders.staff("reviewer", org),
        "approver": builders.staff("approver", org),
        "clerk": clerk,
        "foreign_reviewer": builders.staff("reviewer", other),
    }


def _submitted(world, *, with_all=True) -> Case:
    applicant = world["applicant"]
    case = services.start_case(
        item_version=world["version"],
        form_data={"purpose": "入学"},
        person=applicant,
        actor=applicant.user,
    )
    materials = list(world["version"].materials.all())
    for m in materials if with_all else materials[:1]:
        case_materials.add_material(
            case, m, content=builders.uploaded_pdf(m.name), name="a.pdf", actor=applicant.user
        )
    return engine.take_action(case, "submit", actor=applicant.user)


def test_online_flow_with_supplement_and_paused_clock(world, monkeypatch):
    days = iter(
        [
            dt.date(2026, 9, 28),
            dt.date(2026, 9, 28),
            dt.date(2026, 9, 28),
            dt.date(2026, 9, 29),
            dt.date(2026, 10, 9),
            dt.date(2026, 10, 12),
            dt.date(2026, 10, 12),
            dt.date(2026, 10, 13),
        ]
    )
    today = {"value": dt.date(2026, 9, 28)}
    monkeypatch.setattr(case_timeline, "today", lambda: today["value"])
    case = _submitted(world)
    assert case.state == "submitted" and case.submitted_at
    today["value"] = next(days)
    case = engine.take_action(case, "accept", actor=world["reviewer"])
    assert case.started_on == dt.date(2026, 9, 28)
    assert case.due_date == reference_deadline(dt.date(2026, 9, 28), 10)
    case = engine.take_action(case, "start_review", actor=world["reviewer"])
    today["value"] = dt.date(2026, 9, 29)
    material = world["version"].materials.first()
    case = engine.take_action(
        case,
        "request_supplement",
        actor=world["reviewer"],
        note="户口簿复印件不清晰",
        data={"materials": [material.pk], "due_date": "2026-10-12"},
    )
    assert case.state == "review_supplement" and case.clock_state == "paused"
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "supplement", actor=world["applicant"].user)
    assert info.value.code == "supplement_incomplete"
    today["value"] = dt.date(2026, 10, 9)  # across National Day
    case_materials.add_material(
        case,
        material,
        content=builders.uploaded_pdf("clear"),
        name="clear.pdf",
        actor=world["applicant"].user,
    )
    case = engine.take_action(case, "supplement", actor=world["applicant"].user)
    paused = case.pauses.get()
    # Paused from 09-29 to 10-09: working days after 09-29 up to 10-09 = 09-30, 10-08, 10-09.
    assert (
        paused.days
        == 3
        == sum(
            chinese_calendar.is_workday(dt.date(2026, 9, 29) + dt.timedelta(d))
            for d in range(1, 11)
        )
    )
    assert case.paused_days == 3
    assert case.due_date == reference_deadline(dt.date(2026, 9, 28), 10 + 3)
    case = engine.take_action(case, "approve", actor=world["approver"])
    case = engine.take_action(case, "issue_result", actor=world["reviewer"])
    case = engine.take_action(case, "close", actor=world["approver"])
    assert case.state == "closed" and case.closed_at
    archive = CaseArchive.objects.get(case=case)
    assert archive.record["number"] == case.number and len(archive.digest) == 64
    actions = list(case.events.values_list("action", flat=True))
    assert actions[:2] == ["start", "add_material"]
    # The police have no seal here: the approval's result document is owed.
    assert "result_document_owed" in actions
    actions = [a for a in actions if a != "result_document_owed"]
    assert actions[-4:] == ["supplement", "approve", "issue_result", "close"]
    assert world["applicant"].user.notifications.count() >= 7


def test_actions_out_of_order_and_by_the_wrong_people(world):
    case = _submitted(world)
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "approve", actor=world["approver"])
    assert (info.value.code, info.value.status) == ("action_not_allowed_in_state", 409)
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "accept", actor=world["foreign_reviewer"])
    assert (info.value.code, info.value.status) == ("action_forbidden", 403)
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "accept", actor=world["applicant"].user)
    assert info.value.code == "action_forbidden"
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "fly", actor=world["reviewer"])
    assert info.value.code == "action_unknown"
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "refuse_acceptance", actor=world["reviewer"])
    assert info.value.code == "note_required"
    case.refresh_from_db()
    assert case.state == "submitted"


def test_submission_needs_every_required_material(world):
    applicant = world["applicant"]
    with pytest.raises(RuleViolation) as info:
        _submitted(world, with_all=False)
    assert info.value.code == "materials_missing"
    assert Case.objects.filter(state="draft").count() == 1
    assert applicant.user.notifications.count() == 0


def test_uploads_are_checked_by_content(world, settings):
    applicant = world["applicant"]
    case = services.start_case(
        item_version=world["version"],
        form_data={"purpose": "x"},
        person=applicant,
        actor=applicant.user,
    )
    material = world["version"].materials.first()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with pytest.raises(RuleViolation) as info:
        case_materials.add_material(
            case, material, content=png, name="scan.pdf", actor=applicant.user
        )
    assert info.value.code == "file_type_mismatch"
    with pytest.raises(RuleViolation) as info:
        case_materials.add_material(
            case, material, content=b"MZ\x90\x00 not a document", name="a.pdf", actor=applicant.user
        )
    assert info.value.code == "file_type_not_allowed"
    settings.CASE_UPLOAD_MAX_BYTES = 10
    with pytest.raises(RuleViolation) as info:
        case_materials.add_material(
            case, material, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
        )
    assert info.value.code == "file_too_large"
    assert not case.materials.exists()


def test_invalid_form_and_idempotency(world):
    applicant = world["applicant"]
    with pytest.raises(RuleViolation) as info:
        services.start_case(
            item_version=world["version"],
            form_data={"purpose": ""},
            person=applicant,
            actor=applicant.user,
        )
    assert info.value.code == "form_invalid"
    first = services.start_case(
        item_version=world["version"],
        form_data={"purpose": "a"},
        person=applicant,
        actor=applicant.user,
        idempotency_key="k1",
    )
    again = services.start_case(
        item_version=world["version"],
        form_data={"purpose": "a"},
        person=applicant,
        actor=applicant.user,
        idempotency_key="k1",
    )
    assert first.pk == again.pk
    with pytest.raises(RuleViolation) as info:
        services.start_case(
            item_version=world["version"],
            form_data={"purpose": "b"},
            person=applicant,
            actor=applicant.user,
            idempotency_key="k1",
        )
    assert info.value.code == "idempotency_key_reused"
    assert Case.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_approvals_yield_exactly_one(world):
    case = _submitted(world)
    case = engine.take_action(case, "accept", actor=world["reviewer"])
    case = engine.take_action(case, "start_review", actor=world["reviewer"])
    second = builders.staff("approver", world["org"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(user):
        try:
            barrier.wait()
            engine.take_action(case, "approve", actor=user)
            outcomes.append("ok")
        except RuleViolation as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (world["approver"], second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0] in {"case_conflict", "action_not_allowed_in_state"}
    assert outcomes.count("ok") == 1
    case.refresh_from_db()
    assert case.state == "approved"
    assert case.events.filter(action="approve").count() == 1


def test_deficiency_acceptance_withholds_result_then_expires(world, monkeypatch):
    applicant = world["applicant"]
    version = world["version"]
    optional = version.materials.get(necessity="deficiency_allowed")
    required = version.materials.get(necessity="required")
    case = services.start_case(
        item_version=version, form_data={"purpose": "a"}, person=applicant, actor=applicant.user
    )
    with pytest.raises(RuleViolation) as info:
        case_commitments.sign_deficiency_commitment(
            case,
            materials=[required],
            due_date=dt.date.today() + dt.timedelta(3),
            actor=applicant.user,
        )
    assert info.value.code == "material_not_deficiency_allowed"
    with pytest.raises(RuleViolation) as info:
        case_commitments.sign_deficiency_commitment(
            case,
            materials=[optional],
            due_date=dt.date.today() + dt.timedelta(90),
            actor=applicant.user,
        )
    assert info.value.code == "deficiency_due_beyond_limit"
    due = engine.PROCESS.days_after(case, dt.date.today(), 3).date
    case_commitments.sign_deficiency_commitment(
        case, materials=[optional], due_date=due, actor=applicant.user
    )
    case_materials.add_material(
        case, required, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
    )
    case = engine.take_action(case, "submit", actor=applicant.user)
    for name, who in [
        ("accept", "reviewer"),
        ("start_review", "reviewer"),
        ("approve", "approver"),
    ]:
        case = engine.take_action(case, name, actor=world[who])
    with pytest.raises(RuleViolation) as info:
        engine.take_action(case, "issue_result", actor=world["reviewer"])
    assert info.value.code == "deficiency_outstanding"
    assert case_commitments.expire_deficiency_commitments(due) == 0
    assert case_commitments.expire_deficiency_commitments(due + dt.timedelta(1)) == 1
    case.refresh_from_db()
    assert case.state == "terminated"
    assert "逾期" in case.outcome_note
    assert case.commitments.get().status == Commitment.Status.EXPIRED


def test_deficiency_supplied_in_time_releases_the_result(world):
    applicant = world["applicant"]
    version = world["version"]
    optional = version.materials.get(necessity="deficiency_allowed")
    required = version.materials.get(necessity="required")
    case = services.start_case(
        item_version=version, form_data={"purpose": "a"}, person=applicant, actor=applicant.user
    )
    case_commitments.sign_deficiency_commitment(
        case,
        materials=[optional],
        due_date=engine.PROCESS.days_after(case, dt.date.today(), 2).date,
        actor=applicant.user,
    )
    case_materials.add_material(
        case, required, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
    )
    case = engine.take_action(case, "submit", actor=applicant.user)
    for name, who in [
        ("accept", "reviewer"),
        ("start_review", "reviewer"),
        ("approve", "approver"),
    ]:
        case = engine.take_action(case, name, actor=world[who])
    case_materials.add_material(
        case, optional, content=builders.uploaded_pdf("late"), name="b.pdf", actor=applicant.user
    )
    assert case.commitments.get().status == Commitment.Status.FULFILLED
    case = engine.take_action(case, "issue_result", actor=world["reviewer"])
    assert case.state == "result_issued"


def test_notification_commitment_false_finding_revokes_and_excludes(world):
    org = world["org"]
    version = builders.item("无犯罪记录证明", org=org, allows_commitment=True, publish=False)
    marriage = version.materials.get(name="结婚证")
    marriage.commitment_allowed = True
    marriage.necessity = "required"
    marriage.save()
    from catalog.services import publish_item_version

    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    applicant = world["applicant"]
    case = services.start_case(
        item_version=version, form_data={"reason": "x"}, person=applicant, actor=applicant.user
    )
    commitment = case_commitments.sign_notification_commitment(case, actor=applicant.user)
    assert "撤销" in commitment.notice and "结婚证" in commitment.notice
    required = version.materials.get(name="居民户口簿")
    case_materials.add_material(
        case, required, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
    )
    case = engine.take_action(case, "submit", actor=applicant.user)  # 结婚证 covered
    for name, who in [
        ("accept", "reviewer"),
        ("start_review", "reviewer"),
        ("approve", "approver"),
        ("issue_result", "reviewer"),
        ("close", "reviewer"),
    ]:
        case = engine.take_action(case, name, actor=world[who])
    commitment.refresh_from_db()
    assert commitment.due_date is not None
    with pytest.raises(RuleViolation):
        case_commitments.record_verification(
            commitment, truthful=False, note="x", actor=world["foreign_reviewer"]
        )
    case_commitments.record_verification(
        commitment, truthful=False, note="婚姻登记系统无此记录", actor=world["reviewer"]
    )
    case.refresh_from_db()
    assert case.state == "revoked"
    assert CaseArchive.objects.filter(case=case).count() == 2
    assert applicant.credit_records.count() == 1
    # Excluded from both options from now on.
    again = services.start_case(
        item_version=version, form_data={"reason": "y"}, person=applicant, actor=applicant.user
    )
    with pytest.raises(RuleViolation) as info:
        case_commitments.sign_notification_commitment(again, actor=applicant.user)
    assert info.value.code == "credit_excluded"


def test_supplement_due_date_beyond_the_limit_changes_nothing(world):
    from cases.models import SupplementRequest

    case = _submitted(world)
    case = engine.take_action(case, "accept", actor=world["reviewer"])
    case = engine.take_action(case, "start_review", actor=world["reviewer"])
    material = world["version"].materials.first()
    for due, code in [
        ((dt.date.today() + dt.timedelta(days=200)).isoformat(), "supplement_due_beyond_limit"),
        (dt.date.today().isoformat(), "supplement_due_beyond_limit"),
        ("next week", "supplement_due_invalid"),
    ]:
        with pytest.raises(RuleViolation) as info:
            engine.take_action(
                case,
                "request_supplement",
                actor=world["reviewer"],
                note="补正",
                data={"materials": [material.pk], "due_date": due},
            )
        assert info.value.code == code
    with pytest.raises(RuleViolation) as info:
        engine.take_action(
            case,
            "request_supplement",
            actor=world["reviewer"],
            note="补正",
            data={"materials": [], "due_date": "2030-01-01"},
        )
    assert info.value.code == "supplement_materials_required"
    case.refresh_from_db()
    assert case.state == "under_review" and case.clock_state == "running"
    assert not SupplementRequest.objects.exists() and not case.pauses.exists()
