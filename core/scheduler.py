"""The node's periodic jobs: one registry, run by one worker (`manage.py worker`).

Every app that has background work to repeat registers it here from its
`AppConfig.ready()`: federation delivers its outbox (every round) and refreshes the
directory, catalog syncs the regional zone, delivery polls the carrier, cases scans the
deadlines. `core` is the lowest floor, so every app may register; the registry knows its
jobs only by name and never imports an app.

    from core import scheduler

    scheduler.register_periodic("catalog.sync_zone", 600, zone.sync_job)

A job is a callable without arguments. It returns a short line for the worker's log when it
did something (`投递：送达 1，拒收 0，未通 0`) and None when there was nothing to do. A job
runs in the first round after the worker starts, then again once `every_seconds` have
passed since its last start (0: every round). One failing job is logged with its traceback
and never stops the others: the next round tries it again when it is due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps

from core.registry import Registry, RegistryError

log = logging.getLogger(__name__)

Job = Callable[[], str | None]


@dataclass(frozen=True)
class PeriodicJob:
    """A job and how often it runs, under a name unique in the node (`app.what`)."""

    name: str
    every_seconds: float
    run: Job


class Schedule:
    """The registered jobs, in the order they were registered (that is the order a round
    runs them in: the directory is refreshed before the outbox is delivered). Strict like
    every registry (`core.registry`): a name registered twice is an error."""

    def __init__(self) -> None:
        self._jobs: Registry[PeriodicJob] = Registry("periodic job")

    def register(self, name: str, every_seconds: float, run: Job) -> PeriodicJob:
        if every_seconds < 0:
            raise RegistryError(f"periodic job {name!r}: every_seconds must be ≥ 0")
        return self._jobs.register(name, PeriodicJob(name, float(every_seconds), run))

    def all(self) -> list[PeriodicJob]:
        return [self._jobs[name] for name in self._jobs]

    def get(self, name: str) -> PeriodicJob:
        return self._jobs[name]


# The node's schedule, filled by the apps' ready() methods.
schedule = Schedule()


def register_periodic(name: str, every_seconds: float, job: Job) -> PeriodicJob:
    """Register `job` to run every `every_seconds` under `name`. Only from an
    `AppConfig.ready()`: a job registered later (on import of some module, in a request)
    would run in one process and not another, so it is refused, as a second job under the
    same name is."""
    if apps.ready:
        raise RegistryError(f"periodic job {name!r}: register periodic jobs in AppConfig.ready()")
    return schedule.register(name, every_seconds, job)


@dataclass(frozen=True)
class Outcome:
    """What one job did in a round: its line for the log, or the error it raised."""

    name: str
    message: str | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Worker:
    """Runs the due jobs of a schedule round after round and remembers when each last
    started. One per worker process; `clock` is monotonic seconds (a test passes its own)."""

    schedule: Schedule = field(default_factory=lambda: schedule)
    clock: Callable[[], float] = time.monotonic
    last_started: dict[str, float] = field(default_factory=dict)

    def due(self) -> list[PeriodicJob]:
        now = self.clock()
        return [
            job
            for job in self.schedule.all()
            if job.name not in self.last_started
            or now - self.last_started[job.name] >= job.every_seconds
        ]

    def run_round(self) -> list[Outcome]:
        """Run every job that is due, in registration order; each failure is logged."""
        outcomes = []
        for job in self.due():
            self.last_started[job.name] = self.clock()
            try:
                message = job.run()
            except Exception as exc:  # one failing job must not stop the others
                log.exception("periodic job %s failed", job.name)
                outcomes.append(Outcome(job.name, error=exc))
                continue
            if message:
                log.info("%s：%s", job.name, message)
            outcomes.append(Outcome(job.name, message=message))
        return outcomes
