"""The one scheduler: a registry of periodic jobs that refuses duplicates and late
registrations, and a worker whose round runs every due job, one failure never stopping
the others."""

import logging

import pytest
from django.core.management import CommandError, call_command

from core import scheduler
from core.registry import RegistryError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_second_job_under_one_name_is_refused():
    schedule = scheduler.Schedule()
    schedule.register("a.job", 10, lambda: None)
    with pytest.raises(RegistryError, match="already registered"):
        schedule.register("a.job", 20, lambda: None)
    with pytest.raises(RegistryError):
        schedule.register("b.job", -1, lambda: None)
    assert [job.name for job in schedule.all()] == ["a.job"]


def test_jobs_register_only_in_app_ready():
    with pytest.raises(RegistryError, match=r"AppConfig\.ready\(\)"):
        scheduler.register_periodic("late.job", 10, lambda: None)
    with pytest.raises(RegistryError, match="not registered"):
        scheduler.schedule.get("late.job")


def test_the_node_registers_every_periodic_job_once(settings):
    jobs = {job.name: job.every_seconds for job in scheduler.schedule.all()}
    assert jobs == {
        "catalog.sync_zone": 600,
        "catalog.refresh_search": 300,
        "federation.refresh_directory": settings.FEDERATION_DIRECTORY_REFRESH_SECONDS,
        "federation.deliver_outbox": 0,
        "delivery.refresh_shipments": 30,
        "cases.scan_deadlines": settings.DEADLINE_SCAN_SECONDS,
        "hotline.refresh_warnings": 60,
        "ratings.give_default_ratings": 300,
        "ratings.refresh_warnings": 60,
        "sharing.refresh_warnings": 60,
        "sharing.send_grant_notices": 30,
        "supervision.refresh_figures": settings.SUPERVISION_REFRESH_SECONDS,
        "supervision.route_warnings": settings.SUPERVISION_CARDS_SECONDS,
        "supervision.sync_region": 600,
        "payments.retry_refunds": settings.PAYMENTS_REFUND_RETRY_SECONDS,
        "payments.reconcile": settings.PAYMENTS_RECONCILE_SECONDS,
    }
    names = list(jobs)
    assert names.index("federation.refresh_directory") < names.index("federation.deliver_outbox")


def test_a_round_runs_what_is_due_and_each_job_again_after_its_interval():
    ran: list[str] = []
    schedule = scheduler.Schedule()
    schedule.register("every.round", 0, lambda: ran.append("round") or None)
    schedule.register("every.minute", 60, lambda: ran.append("minute") or "做了一件事")
    clock = Clock()
    worker = scheduler.Worker(schedule, clock)

    first = worker.run_round()
    assert ran == ["round", "minute"]
    assert [(o.name, o.message, o.ok) for o in first] == [
        ("every.round", None, True),
        ("every.minute", "做了一件事", True),
    ]
    clock.now += 59
    worker.run_round()
    assert ran == ["round", "minute", "round"]
    clock.now += 1
    worker.run_round()
    assert ran == ["round", "minute", "round", "round", "minute"]


def test_a_failing_job_is_logged_and_the_others_still_run(caplog):
    ran: list[str] = []

    def broken() -> str | None:
        raise RuntimeError("承运方接口崩溃")

    schedule = scheduler.Schedule()
    schedule.register("first", 0, lambda: ran.append("first") or None)
    schedule.register("broken", 0, broken)
    schedule.register("last", 0, lambda: ran.append("last") or "完成")
    worker = scheduler.Worker(schedule, Clock())
    with caplog.at_level(logging.INFO, logger="core.scheduler"):
        outcomes = worker.run_round()
        worker.run_round()
    assert ran == ["first", "last", "first", "last"]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, RuntimeError)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == ["periodic job broken failed"] * 2
    assert failures[0].exc_info is not None
    assert "last：完成" in caplog.messages


def test_the_worker_command_runs_a_round_and_fails_loudly(monkeypatch, capsys, settings):
    call_command("worker", "--once")
    every = settings.DEADLINE_SCAN_SECONDS
    assert f"cases.scan_deadlines（每 {every} 秒）" in capsys.readouterr().out

    def broken() -> str | None:
        raise RuntimeError("boom")

    schedule = scheduler.Schedule()
    schedule.register("tracking", 0, broken)
    monkeypatch.setattr(scheduler, "schedule", schedule)
    with pytest.raises(CommandError, match="tracking"):
        call_command("worker", "--once")
