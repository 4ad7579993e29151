"""A ticket's life on the shared engine: accept, dispatch to the catalog's organisations,
return within the limit, re-dispatch, reply, call back, close; extensions with approval;
merging duplicates; refusals with referral; deadlines from the province's table; warnings.
Every refusal changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.calendar import add_working_days
from core.exceptions import RuleViolation
from core.models import Division
from hotline.engine import PROCESS, take_action
from hotline.models import DeadlineRule, Ticket, TicketAssignment, TicketEvent


def _snapshot(ticket: Ticket) -> tuple:
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (
        ticket.state,
        ticket.row_version,
        ticket.lead_id,
        ticket.due_date,
        ticket.merged_into_id,
        ticket.reply,
        TicketEvent.objects.filter(ticket=ticket).count(),
        TicketAssignment.objects.filter(ticket=ticket, active=True).count(),
    )


def _refused(ticket: Ticket, action: str, code: str, *, actor, **kwargs) -> RuleViolation:
    before = _snapshot(ticket)
    with pytest.raises(RuleViolation) as info:
        take_action(ticket, action, actor=actor, **kwargs)
    assert info.value.code == code, info.value
    assert _snapshot(ticket) == before
    return info.value


def _dispatched(world, ticket: Ticket, **data) -> Ticket:
    take_action(ticket, "accept", actor=world.agent)
    payload = {"category": "heating", "lead": world.housing.uscc, "co": [world.street.uscc]}
    payload.update(data)
    return take_action(ticket, "dispatch", actor=world.agent, data=payload)


def test_a_complaint_goes_the_whole_way(world, today):
    ticket = world.ticket()
    assert ticket.number.startswith("LN12345-") and ticket.state == "received"
    assert ticket.caller_phone_masked == "139****2368" and ticket.caller_name_masked == "王*"
    ticket = take_action(ticket, "accept", actor=world.agent)
    assert (ticket.limit_amount, ticket.limit_unit) == (15, "working_days")
    assert ticket.due_date == add_working_days(today, 15, "210200").date
    ticket = take_action(
        ticket,
        "dispatch",
        actor=world.agent,
        data={"category": "heating", "lead": world.housing.uscc, "co": [world.street.uscc]},
    )
    assert ticket.lead == world.housing and ticket.state == "dispatched"
    take_action(ticket, "return_dispatch", actor=world.housing_reviewer, note="供暖归热力公司")
    ticket.refresh_from_db()
    assert ticket.state == "returned" and ticket.lead is None
    returned = TicketAssignment.objects.get(ticket=ticket, organisation=world.housing)
    assert returned.return_reason == "供暖归热力公司" and not returned.active
    ticket = take_action(
        ticket,
        "redispatch",
        actor=world.agent,
        data={"category": "heating", "lead": world.street.uscc, "co": [world.housing.uscc]},
    )
    assert ticket.lead == world.street
    ticket = take_action(ticket, "sign", actor=world.street_reviewer)
    ticket = take_action(
        ticket, "give_opinion", actor=world.housing_reviewer, note="已通知热力公司排查"
    )
    ticket = take_action(
        ticket, "reply", actor=world.street_reviewer, data={"reply": "已协调热力公司，室温已达标。"}
    )
    assert ticket.state == "replied" and ticket.clock_state == "stopped"
    ticket = take_action(
        ticket, "call_back", actor=world.agent, data={"outcome": "satisfied", "note": "满意"}
    )
    assert ticket.callback_outcome == "satisfied" and ticket.callback_at is not None
    ticket = take_action(ticket, "close", actor=world.agent)
    assert ticket.state == "closed" and ticket.outcome == "resolved" and ticket.closed_at
    actions = list(ticket.events.values_list("action", flat=True))
    assert actions == [
        "open",
        "accept",
        "dispatch",
        "return_dispatch",
        "redispatch",
        "sign",
        "give_opinion",
        "reply",
        "call_back",
        "close",
    ]


def test_dispatch_outside_the_catalog_is_refused(world):
    ticket = world.ticket()
    take_action(ticket, "accept", actor=world.agent)
    error = _refused(
        ticket,
        "dispatch",
        "dispatch_not_in_catalog",
        actor=world.agent,
        data={"category": "heating", "lead": world.outsider.uscc},
    )
    assert "不在派单目录" in error.problems[0].reason and error.problems[0].field == "lead"
    _refused(
        ticket,
        "dispatch",
        "dispatch_not_in_catalog",
        actor=world.agent,
        data={"category": "heating", "lead": world.housing.uscc, "co": [world.outsider.uscc]},
    )
    _refused(
        ticket,
        "dispatch",
        "category_unknown",
        actor=world.agent,
        data={"category": "no-such", "lead": world.housing.uscc},
    )


def test_the_catalog_of_another_place_does_not_cover_a_ticket(world):
    ticket = world.ticket(division="210100")  # 沈阳: the catalog covers 大连 only
    take_action(ticket, "accept", actor=world.agent)
    _refused(
        ticket,
        "dispatch",
        "dispatch_category_not_here",
        actor=world.agent,
        data={"category": "heating", "lead": world.housing.uscc},
    )


def test_a_return_needs_a_reason_and_comes_in_time(world):
    ticket = _dispatched(world, world.ticket())
    error = _refused(ticket, "return_dispatch", "note_required", actor=world.housing_reviewer)
    assert error.problems[0].field == "note"
    Ticket.objects.filter(pk=ticket.pk).update(
        return_due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    error = _refused(
        ticket, "return_dispatch", "return_too_late", actor=world.housing_reviewer, note="不归我们"
    )
    assert error.status == 409 and "退单时限" in error.message


def test_only_the_lead_returns_and_only_the_centre_dispatches(world):
    ticket = _dispatched(world, world.ticket())
    _refused(ticket, "return_dispatch", "action_forbidden", actor=world.water_reviewer, note="x")
    _refused(ticket, "return_dispatch", "action_forbidden", actor=world.street_reviewer, note="x")
    other = world.ticket()
    _refused(other, "accept", "action_forbidden", actor=world.other_agent)


def test_the_return_limit_is_two_working_days_after_dispatch(world, today):
    ticket = _dispatched(world, world.ticket())
    last = add_working_days(today, 2, "210200").date
    assert timezone.localtime(ticket.return_due_at).date() == last


def test_merging_needs_the_same_type_and_place(world):
    first = world.ticket()
    take_action(first, "accept", actor=world.agent)
    duplicate = world.ticket(caller_phone="13591256708")
    error = _refused(
        world.ticket(type="help"),
        "merge",
        "merge_mismatch",
        actor=world.agent,
        data={"into": first.number},
    )
    assert "诉求类型不同" in error.problems[0].reason
    error = _refused(
        world.ticket(division="210300"),
        "merge",
        "merge_mismatch",
        actor=world.agent,
        data={"into": first.number},
    )
    assert "发生地不同" in error.problems[0].reason
    _refused(
        duplicate, "merge", "merge_into_itself", actor=world.agent, data={"into": duplicate.number}
    )
    merged = take_action(duplicate, "merge", actor=world.agent, data={"into": first.number})
    assert merged.state == "merged" and merged.merged_into == first and merged.outcome == "merged"
    assert first.events.filter(action="merged_in").exists()


def test_a_ticket_merges_only_into_an_open_one(world):
    closed = world.ticket(type="consultation")
    take_action(
        closed, "refuse", actor=world.agent, note="已在法院起诉", data={"referral": "litigation"}
    )
    _refused(
        world.ticket(type="consultation"),
        "merge",
        "merge_target_closed",
        actor=world.agent,
        data={"into": closed.number},
    )


def test_an_agent_merges_only_within_the_centre(world):
    theirs = world.ticket(actor=world.other_agent, division="210200")
    _refused(
        world.ticket(),
        "merge",
        "merge_target_not_found",
        actor=world.agent,
        data={"into": theirs.number},
    )


def test_closing_needs_a_reply_and_a_callback(world):
    ticket = _dispatched(world, world.ticket())
    take_action(ticket, "sign", actor=world.housing_reviewer)
    error = _refused(ticket, "close", "action_not_allowed_in_state", actor=world.agent)
    assert error.message == "工单当前状态为“办理中”，不能办结" and error.status == 409
    _refused(ticket, "reply", "reply_required", actor=world.housing_reviewer, data={"reply": "  "})
    _refused(ticket, "reply", "reply_required", actor=world.housing_reviewer, data={})
    take_action(ticket, "reply", actor=world.housing_reviewer, data={"reply": "已处理"})
    error = _refused(ticket, "close", "callback_required", actor=world.agent)
    assert "回访" in error.message


def test_an_anonymous_ticket_closes_without_a_callback(world):
    ticket = world.ticket(anonymous=True, caller_name="", caller_phone="", type="report")
    assert ticket.caller_name_masked == "" and ticket.anonymous
    _dispatched(world, ticket)
    take_action(ticket, "sign", actor=world.housing_reviewer)
    take_action(ticket, "reply", actor=world.housing_reviewer, data={"reply": "已查处"})
    _refused(
        ticket, "call_back", "callback_anonymous", actor=world.agent, data={"outcome": "satisfied"}
    )
    assert take_action(ticket, "close", actor=world.agent).state == "closed"


def test_an_unsatisfied_caller_sends_the_ticket_back(world):
    ticket = _dispatched(world, world.ticket())
    take_action(ticket, "sign", actor=world.housing_reviewer)
    take_action(ticket, "reply", actor=world.housing_reviewer, data={"reply": "已处理"})
    take_action(ticket, "call_back", actor=world.agent, data={"outcome": "unsatisfied"})
    ticket = take_action(ticket, "rehandle", actor=world.agent, note="室温仍不达标")
    assert ticket.state == "handling" and ticket.clock_state == "running"


def test_an_extension_needs_the_centres_approval(world, today):
    ticket = _dispatched(world, world.ticket())
    take_action(ticket, "sign", actor=world.housing_reviewer)
    due = Ticket.objects.get(pk=ticket.pk).due_date
    take_action(
        ticket,
        "request_extension",
        actor=world.housing_reviewer,
        note="需现场检测",
        data={"days": 5},
    )
    assert Ticket.objects.get(pk=ticket.pk).due_date == due
    _refused(ticket, "approve_extension", "action_forbidden", actor=world.housing_reviewer)
    ticket = take_action(ticket, "approve_extension", actor=world.agent)
    assert ticket.extended_by == 5 and ticket.state == "handling"
    assert ticket.due_date == add_working_days(today, 20, "210200").date
    _refused(
        ticket,
        "request_extension",
        "extension_invalid",
        actor=world.housing_reviewer,
        note="x",
        data={"days": 0},
    )


def test_refusal_records_the_referral(world):
    ticket = world.ticket()
    _refused(
        ticket, "refuse", "referral_invalid", actor=world.agent, note="x", data={"referral": "x"}
    )
    ticket = take_action(
        ticket, "refuse", actor=world.agent, note="火情，已转 119", data={"referral": "fire_119"}
    )
    assert ticket.state == "refused" and ticket.referral == "fire_119"
    assert ticket.outcome == "refused"


def test_deadlines_per_type_and_province(world, today):
    for ticket_type, days in [("consultation", 3), ("help", 7), ("suggestion", 7), ("report", 15)]:
        ticket = take_action(world.ticket(type=ticket_type), "accept", actor=world.agent)
        assert ticket.due_date == add_working_days(today, days, "210200").date, ticket_type
    DeadlineRule.objects.create(
        province=Division.objects.get(code="210000"),
        ticket_type="complaint",
        urgent=False,
        amount=10,
        unit="working_days",
    )
    ticket = take_action(world.ticket(), "accept", actor=world.agent)
    assert ticket.due_date == add_working_days(today, 10, "210200").date


def test_an_urgent_ticket_counts_hours(world):
    ticket = take_action(world.ticket(urgent=True, type="help"), "accept", actor=world.agent)
    assert ticket.limit_unit == "hours" and ticket.due_at is not None
    assert ticket.due_at - ticket.started_at == dt.timedelta(hours=24)


def test_overdue_tickets_warn(world, today):
    late = take_action(world.ticket(), "accept", actor=world.agent)
    soon = take_action(world.ticket(urgent=True), "accept", actor=world.agent)
    calm = take_action(world.ticket(), "accept", actor=world.agent)
    Ticket.objects.filter(pk=late.pk).update(due_date=today - dt.timedelta(days=1))
    Ticket.objects.filter(pk=soon.pk).update(due_at=timezone.now() + dt.timedelta(hours=1))
    counts = PROCESS.refresh_warnings()
    assert counts == {"yellow": 1, "red": 1}
    warnings = dict(Ticket.objects.values_list("pk", "warning"))
    assert (warnings[late.pk], warnings[soon.pk], warnings[calm.pk]) == ("red", "yellow", "none")


def test_the_warning_refresh_is_a_periodic_job(world, today):
    from core import scheduler

    job = scheduler.schedule.get("hotline.refresh_warnings")
    assert job.every_seconds == 60
    late = take_action(world.ticket(), "accept", actor=world.agent)
    Ticket.objects.filter(pk=late.pk).update(due_date=today - dt.timedelta(days=1))
    assert job.run() == "工单预警：黄色 0 件；红色 1 件"
    assert Ticket.objects.get(pk=late.pk).warning == "red"


def test_a_closed_ticket_is_rateable_and_an_open_one_is_not(world):
    from hotline.rating import resolve_ticket

    ticket = _dispatched(world, world.ticket())
    _refused_rating = pytest.raises(RuleViolation)
    with _refused_rating as info:
        resolve_ticket(ticket.number, "handling")
    assert info.value.code == "ticket_not_rateable"
    take_action(ticket, "sign", actor=world.housing_reviewer)
    take_action(ticket, "reply", actor=world.housing_reviewer, data={"reply": "已处理"})
    take_action(ticket, "call_back", actor=world.agent, data={"outcome": "satisfied"})
    take_action(ticket, "close", actor=world.agent)
    rated = resolve_ticket(ticket.number, "handling")
    assert rated.organisation_id == world.housing.pk and rated.reference == ticket.number
    with pytest.raises(RuleViolation) as info:
        resolve_ticket(ticket.number, "consultation")
    assert info.value.code == "ticket_not_rateable"
    with pytest.raises(RuleViolation) as info:
        resolve_ticket(ticket.number, "delivery")
    assert info.value.code == "rating_event_unknown"
