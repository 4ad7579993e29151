"""The shared process parts: strict registries, the clock in days and hours, and the
set-based warning refresh (run on cases, the first kind of process)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import engine
from cases.models import Case
from core import clock
from core.actors import NodeActor, SystemActor, actor_label, user_of
from core.registry import Registry, RegistryError
from tests.case_pages import World, build_world, quick_item, submitted
from tests.reference_calendar import reference_deadline


def test_a_registry_refuses_a_second_entry_and_an_unknown_name():
    effects: Registry[str] = Registry("effect")
    effects.register("issue", "one")
    with pytest.raises(RegistryError, match="already registered"):
        effects.register("issue", "two")
    with pytest.raises(RegistryError, match="not registered"):
        effects["nothing"]
    assert effects.get("nothing") is None and "issue" in effects
    effects.unregister("issue")
    with pytest.raises(RegistryError):
        effects.unregister("issue")


def test_actors_are_types_not_strings():
    assert actor_label(SystemActor("容缺到期")) == "容缺到期"
    assert actor_label(NodeActor("jilin", "cc-gaj-reviewer")) == "cc-gaj-reviewer"
    assert actor_label(None) == "系统"
    assert user_of(SystemActor("x")) is None


def test_an_hour_limit_runs_round_the_clock_and_warns_by_hours():
    start = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)  # National Day: hours still count
    due = clock.due_of(
        started_on=None,
        started_at=start,
        limit=clock.Limit(24, clock.LimitUnit.HOURS),
        paused=2,
        division="210200",
    )
    assert due is not None and due.at == start + dt.timedelta(hours=26)
    kwargs = {"due_date": due.date, "due_at": due.at, "running": True, "division": "210200"}
    kwargs |= {"warn_days": 3, "warn_hours": 4, "today": due.date}
    assert clock.warning_of(now=due.at - dt.timedelta(hours=5), **kwargs) == "none"
    assert clock.warning_of(now=due.at - dt.timedelta(hours=3), **kwargs) == "yellow"
    assert clock.warning_of(now=due.at + dt.timedelta(minutes=1), **kwargs) == "red"
    assert clock.warning_of(now=due.at + dt.timedelta(hours=1), **{**kwargs, "running": False}) == (
        "none"
    )


def test_a_day_limit_counts_working_days_from_the_day_after():
    due = clock.due_of(
        started_on=dt.date(2026, 9, 30),
        started_at=None,
        limit=clock.Limit(1, clock.LimitUnit.WORKING_DAYS),
        paused=0,
        division="210200",
    )
    assert due is not None and due.date == reference_deadline(dt.date(2026, 9, 30), 1)
    assert due.date > dt.date(2026, 10, 1)  # not on the National Day holiday
    assert (
        clock.due_of(
            started_on=None, started_at=None, limit=clock.Limit(5), paused=0, division="210200"
        )
        is None
    )


@pytest.fixture
def world(db) -> World:
    return build_world()


def _running_cases(world: World, version, offsets: tuple[int, ...]) -> list[Case]:
    today = timezone.localdate()
    cases = []
    for offset in offsets:
        case = engine.take_action(submitted(world, version), "accept", actor=world.reviewer)
        Case.objects.filter(pk=case.pk).update(
            due_date=today + dt.timedelta(days=offset), warning="none"
        )
        cases.append(case)
    return cases


def test_warnings_are_refreshed_set_based_and_agree_with_the_per_case_rule(
    world, django_assert_num_queries
):
    """Red, yellow and none for running cases, none for the others; each equals the
    per-case rule, and the refresh takes as many queries for ten cases as for five."""
    version = quick_item(world)
    today = timezone.localdate()
    _running_cases(world, version, (-3, 0, 2, 5, 30))
    stopped = submitted(world, version)
    Case.objects.filter(pk=stopped.pk).update(warning="red")  # not running: cleared
    with CaptureQueriesContext(connection) as five:
        counts = engine.PROCESS.refresh_warnings(today)
    for case in Case.objects.all():
        assert case.warning == engine.PROCESS.warning(case, today), case.due_date
    assert counts == {
        "red": Case.objects.filter(warning="red").count(),
        "yellow": Case.objects.filter(warning="yellow").count(),
    }
    assert counts["red"] == 1 and Case.objects.get(pk=stopped.pk).warning == "none"
    _running_cases(world, version, (-1, 1, 3, 8, 40))
    with django_assert_num_queries(len(five)):
        engine.PROCESS.refresh_warnings(today)


def test_payload_problems_name_the_field_and_its_code(world):
    version = quick_item(world, "档案查询")
    case = engine.take_action(submitted(world, version), "accept", actor=world.reviewer)
    case = engine.take_action(case, "start_review", actor=world.reviewer)
    from core.exceptions import RuleViolation

    with pytest.raises(RuleViolation) as refused:
        engine.take_action(
            case,
            "request_supplement",
            actor=world.reviewer,
            note="请补正",
            data={"materials": [], "due_date": "tomorrow"},
        )
    assert refused.value.code == "supplement_due_invalid"
    assert refused.value.problems[0].field == "due_date"
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "start_review", actor=world.reviewer, data={"x": 1})
    assert refused.value.code in {"payload_unexpected", "action_not_allowed_in_state"}
    assert Case.objects.get(pk=case.pk).row_version == case.row_version
