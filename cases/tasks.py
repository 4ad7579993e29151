"""Background work of cases: the periodic deadline scan, run by the node's worker
(`core.scheduler`, every `DEADLINE_SCAN_SECONDS`; `CasesConfig.ready()` registers it) and
by `manage.py scan_deadlines` for a one-off run."""

from __future__ import annotations

from typing import Any

from cases import commitments as case_commitments
from cases import services


def run_scan() -> dict[str, Any]:
    """Terminate the cases whose 容缺 materials are overdue, then refresh the yellow/red
    warning of every running case."""
    expired = case_commitments.expire_deficiency_commitments()
    warnings = services.refresh_warnings()
    return {"terminated": expired, **warnings}


def describe(result: dict[str, Any]) -> str:
    return (
        f"终止 {result['terminated']} 件；黄色预警 {result['yellow']} 件；"
        f"红色预警 {result['red']} 件"
    )


def scan_deadlines() -> str:
    """The worker's job: one scan, one line for its log."""
    return "期限扫描：" + describe(run_scan())
