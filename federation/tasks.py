"""The federation's periodic jobs, run by the node's worker (`core.scheduler`): refresh the
directory from its source, and deliver the outbox. Both do nothing on a node outside any
federation. `FederationConfig.ready()` registers them, the refresh first, so that the
first round of a worker delivers with a fresh directory, and the delivery every round (a
second), so that an envelope leaves promptly after its business change."""

from __future__ import annotations

import logging

from core.exceptions import RuleViolation
from federation import directory, services

log = logging.getLogger(__name__)


def refresh_directory() -> str | None:
    if not directory.is_federated():
        return None
    try:
        directory.refresh()
    except RuleViolation as exc:
        # The cached copy stays in force; the job must not fail the round for this.
        log.error("directory refused: %s", exc)
    return None


def deliver_outbox() -> str | None:
    """Deliver what is due; a line for the log when anything was attempted."""
    if not directory.is_federated():
        return None
    counts = services.deliver_due()
    if not any(counts.values()):
        return None
    return "投递：送达 {delivered}，拒收 {refused}，未通 {failed}".format(**counts)
