"""One round of a node's background work (`manage.py federation_worker` loops over it):
refresh the directory when due, deliver the outbox, and run the periodic jobs that higher
apps registered here (shipment tracking, deadline scans) — named, never signals."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from core.exceptions import RuleViolation
from federation import directory, services

log = logging.getLogger(__name__)

_periodic: dict[str, tuple[float, Callable[[], object]]] = {}


def register_periodic(name: str, every_seconds: float, job: Callable[[], object]) -> None:
    _periodic[name] = (every_seconds, job)


@dataclass
class WorkerState:
    last_run: dict[str, float] = field(default_factory=dict)


def _due(state: WorkerState, name: str, every: float) -> bool:
    now = time.monotonic()
    if now - state.last_run.get(name, -every) >= every:
        state.last_run[name] = now
        return True
    return False


def run_round(state: WorkerState) -> dict[str, int]:
    counts = {"delivered": 0, "refused": 0, "failed": 0}
    if directory.is_federated():
        if _due(state, "directory", settings.FEDERATION_DIRECTORY_REFRESH_SECONDS):
            try:
                directory.refresh()
            except RuleViolation as exc:
                log.error("directory refused: %s", exc)
        counts = services.deliver_due()
    for name, (every, job) in _periodic.items():
        if _due(state, name, every):
            try:
                job()
            except Exception:  # one failing job must not stop delivery
                log.exception("periodic job %s failed", name)
    return counts
