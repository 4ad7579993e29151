"""Warnings and the periodic scan (run by the node's worker), 即办件, calendar-day limits,
provisional deadlines."""

import datetime as dt

import pytest
from django.core.management import call_command

from cases import commitments as case_commitments
from cases import engine, services
from cases import materials as case_materials
from cases import timeline as case_timeline
from cases.models import Case, Commitment
from cases.tasks import run_scan
from core import scheduler
from tests import builders


@pytest.fixture
def setup():
    org = builders.organisation("沈阳市人社局", "210100")
    return org, builders.person("孙八"), builders.staff("reviewer", org)


def _accepted(org, applicant, reviewer, monkeypatch, on: dt.date, **item_fields) -> Case:
    version = builders.item("失业登记", org=org, **item_fields)
    monkeypatch.setattr(case_timeline, "today", lambda: on)
    case = services.start_case(
        item_version=version,
        form_data={"reason": "x"},
        person=applicant,
        actor=applicant.user,
        place=org.division,  # a local application: the deadline rules are tested here
    )
    for m in version.materials.all():
        case_materials.add_material(
            case, m, content=builders.uploaded_pdf(m.name), name="m.pdf", actor=applicant.user
        )
    case = engine.take_action(case, "submit", actor=applicant.user)
    return engine.take_action(case, "accept", actor=reviewer)


def test_red_when_overdue_yellow_when_close(setup, monkeypatch, settings):
    settings.DEADLINE_WARNING_DAYS = 3
    org, applicant, reviewer = setup
    old = _accepted(org, applicant, reviewer, monkeypatch, dt.date(2026, 3, 2), promised_limit=5)
    close = _accepted(org, applicant, reviewer, monkeypatch, dt.date(2026, 3, 9), promised_limit=5)
    assert old.due_date == dt.date(2026, 3, 9) and close.due_date == dt.date(2026, 3, 16)
    monkeypatch.setattr(case_timeline, "today", lambda: dt.date(2026, 3, 11))
    counts = services.refresh_warnings(dt.date(2026, 3, 11))
    assert counts == {"yellow": 1, "red": 1}
    old.refresh_from_db()
    close.refresh_from_db()
    assert old.warning == "red"
    # 03-11 → 03-16 is 3 working days (12, 13, 16): within the warning window.
    assert close.warning == "yellow"


def test_on_the_spot_item_is_due_the_day_it_is_accepted(setup, monkeypatch):
    org, applicant, reviewer = setup
    case = _accepted(
        org,
        applicant,
        reviewer,
        monkeypatch,
        dt.date(2026, 5, 6),
        acceptance_mode="on_the_spot",
        promised_limit=0,
        legal_limit=0,
    )
    assert case.due_date == dt.date(2026, 5, 6)


def test_calendar_day_limits_ignore_holidays(setup, monkeypatch):
    org, applicant, reviewer = setup
    case = _accepted(
        org,
        applicant,
        reviewer,
        monkeypatch,
        dt.date(2026, 9, 30),
        promised_limit=10,
        promised_limit_unit="calendar_days",
        legal_limit=None,
    )
    assert case.due_date == dt.date(2026, 10, 10)


def test_deadline_into_an_unpublished_year_is_provisional(setup, monkeypatch):
    org, applicant, reviewer = setup
    case = _accepted(
        org, applicant, reviewer, monkeypatch, dt.date(2026, 12, 21), promised_limit=15
    )
    assert case.due_date.year == 2027 and case.due_provisional


def test_scan_command_runs_once(capsys):
    assert run_scan() == {"terminated": 0, "yellow": 0, "red": 0}
    call_command("scan_deadlines")
    assert capsys.readouterr().out.strip() == "终止 0 件；黄色预警 0 件；红色预警 0 件"


def test_the_node_worker_terminates_a_case_whose_deficiency_commitment_expired(
    setup, monkeypatch, settings
):
    """No command: the worker's round runs the registered scan, which ends the case."""
    org, applicant, reviewer = setup
    version = builders.item("失业登记", org=org)
    optional = version.materials.get(necessity="deficiency_allowed")
    required = version.materials.get(necessity="required")
    case = services.start_case(
        item_version=version,
        form_data={"reason": "x"},
        person=applicant,
        actor=applicant.user,
        place=org.division,
    )
    due = engine.PROCESS.days_after(case, dt.date.today(), 2).date
    case_commitments.sign_deficiency_commitment(
        case, materials=[optional], due_date=due, actor=applicant.user
    )
    case_materials.add_material(
        case, required, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
    )
    case = engine.take_action(case, "submit", actor=applicant.user)
    case = engine.take_action(case, "accept", actor=reviewer)
    worker = scheduler.Worker()
    scan = scheduler.schedule.get("cases.scan_deadlines")
    assert scan.every_seconds == settings.DEADLINE_SCAN_SECONDS

    worker.run_round()  # the day it is due: nothing to end yet
    case.refresh_from_db()
    assert case.state == "accepted"

    monkeypatch.setattr(case_timeline, "today", lambda: due + dt.timedelta(days=1))
    worker.last_started[scan.name] -= scan.every_seconds  # the next scan is due
    outcomes = {o.name: o for o in worker.run_round()}
    assert outcomes[scan.name].message == "期限扫描：终止 1 件；黄色预警 0 件；红色预警 0 件"
    case.refresh_from_db()
    assert case.state == "terminated"
    assert case.commitments.get().status == Commitment.Status.EXPIRED
    assert case.events.filter(action="terminate").count() == 1
