"""A bad rating opens a rectification owned by the organisation that did the rated part;
callback, classification, the citizen's rating of the fix, appeals, warnings, scope."""

import datetime as dt

import pytest
from django.utils import timezone

from core.exceptions import RuleViolation
from ratings import engine, services
from ratings.models import LedgerEntry, Rating, Rectification, RectificationDeadline
from ratings.services import RatingIn
from tests.reference_calendar import reference_deadline


def _bad(world, level=1):
    case = world.closed()
    services.rate(
        RatingIn(
            subject_kind="case",
            reference=case.number,
            event="result",
            level=level,
            options=["slow"],
            text="等了很久",
        ),
        actor=world.applicant.user,
    )
    return case, Rectification.objects.get()


def _callback(world, r):
    return engine.take_action(
        r,
        "call_back",
        actor=world.reviewer,
        note="电话联系申请人，核实等候时间过长",
        data={"caller_name": "赵回访", "outcome": "unsatisfied"},
    )


def test_a_bad_rating_opens_a_rectification_of_the_handling_organisation(world):
    _case, r = _bad(world)
    assert r.organisation == world.org and r.state == "awaiting_callback"
    assert r.limit_days == 5 and r.clock_state == "running"
    assert r.due_date == reference_deadline(timezone.localdate(), 5)
    assert list(r.events.values_list("action", flat=True)) == ["open"]


def test_the_province_sets_its_own_deadline(world):
    from core.models import Division

    RectificationDeadline.objects.create(
        province=Division.objects.get(code="210000"), working_days=7
    )
    _case, r = _bad(world)
    assert r.limit_days == 7


def test_no_closing_without_callback_then_the_citizen_rates_the_fix(world):
    case, r = _bad(world)
    with pytest.raises(RuleViolation) as info:
        engine.take_action(r, "close", actor=world.reviewer)
    assert info.value.code == "callback_required"
    r.refresh_from_db()
    assert r.state == "awaiting_callback" and r.events.count() == 1
    r = _callback(world, r)
    assert r.callback_by_name == "赵回访" and r.callback_at
    r = engine.take_action(r, "fix_at_once", actor=world.reviewer, note="已调整窗口排班")
    assert r.state == "awaiting_rerating" and r.classification == "at_once" and r.fixed_at
    with pytest.raises(RuleViolation) as info:
        engine.take_action(r, "close", actor=world.reviewer)
    assert info.value.code == "rerating_pending"
    services.rate(
        RatingIn(
            subject_kind="case", reference=case.number, event="result", level=4, follow_up=True
        ),
        actor=world.applicant.user,
    )
    r.refresh_from_db()
    assert r.state == "closed" and r.outcome == "rectified" and r.fix_rating.level == 4


def test_follow_up_waits_for_the_fix(world):
    case, _r = _bad(world)
    with pytest.raises(RuleViolation) as info:
        services.rate(
            RatingIn(
                subject_kind="case",
                reference=case.number,
                event="result",
                level=3,
                follow_up=True,
            ),
            actor=world.applicant.user,
        )
    assert info.value.code == "rating_follow_up_before_fix"


def test_fix_with_deadline_enters_the_ledger(world):
    _case, r = _bad(world, level=2)
    r = _callback(world, r)
    due = timezone.localdate() + dt.timedelta(days=20)
    r = engine.take_action(
        r,
        "fix_with_deadline",
        actor=world.approver,
        note="增设自助取号机",
        data={"due_date": due.isoformat()},
    )
    entry = LedgerEntry.objects.get(rectification=r)
    assert entry.due_date == due and r.state == "fixing" and not r.fixed_at
    r = engine.take_action(r, "report_fixed", actor=world.reviewer, note="取号机已投入使用")
    entry.refresh_from_db()
    assert entry.done_at and r.fixed_at and r.state == "awaiting_rerating"


def test_unrated_fix_closes_when_the_window_passes(world):
    _case, r = _bad(world)
    r = _callback(world, r)
    r = engine.take_action(r, "explain", actor=world.reviewer, note="依法须本人到场，已解释")
    assert services.close_unrated(r.state_due_date + dt.timedelta(days=1)) == 1
    r.refresh_from_db()
    assert r.state == "closed_unrated" and r.outcome == "unrated"


def test_appeal_is_decided_by_a_supervisor_never_by_the_rated_organisation(world):
    _case, r = _bad(world)
    r = _callback(world, r)
    r = engine.take_action(r, "appeal", actor=world.approver, note="申请人误评，实为其他部门")
    for who in (world.org_supervisor, world.approver):
        with pytest.raises(RuleViolation) as info:
            engine.take_action(r, "uphold_appeal", actor=who, note="成立")
        assert info.value.code in ("appeal_by_rated_organisation", "action_forbidden")
    with pytest.raises(RuleViolation) as info:
        engine.take_action(r, "uphold_appeal", actor=world.org_supervisor, note="成立")
    assert info.value.code == "appeal_by_rated_organisation"
    r = engine.take_action(r, "uphold_appeal", actor=world.supervisor, note="经核实属误评")
    assert r.state == "annulled" and Rating.objects.get(pk=r.rating_id).annulled


def test_scope_owner_staff_and_supervisors_only(world):
    _case, r = _bad(world)
    assert list(Rectification.objects.for_user(world.reviewer)) == [r]
    assert list(Rectification.objects.for_user(world.supervisor)) == [r]
    assert not Rectification.objects.for_user(world.outsider).exists()
    assert not Rectification.objects.for_user(world.applicant.user).exists()
    with pytest.raises(RuleViolation) as info:
        engine.take_action(
            r,
            "call_back",
            actor=world.outsider,
            note="x",
            data={"caller_name": "x", "outcome": "satisfied"},
        )
    assert info.value.code == "action_forbidden"


def test_overdue_rectifications_turn_red(world):
    _case, r = _bad(world)
    counts = engine.PROCESS.refresh_warnings(today=r.due_date + dt.timedelta(days=1))
    r.refresh_from_db()
    assert r.warning == "red" and counts["red"] == 1
