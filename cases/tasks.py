"""Background work of cases: the periodic deadline scan.

django-tasks has no scheduler, so the scan re-enqueues itself to run again after
`SCAN_INTERVAL`; `schedule_deadline_scan()` starts the chain once (it is idempotent: a
pending scan is not doubled). A cron job calling `manage.py scan_deadlines` works as well.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task

from cases import commitments as case_commitments
from cases import services

SCAN_INTERVAL = dt.timedelta(hours=1)


@task()
def scan_deadlines() -> dict[str, Any]:
    """Terminate expired 容缺 cases, refresh yellow/red warnings, then schedule the next run."""
    result = run_scan()
    scan_deadlines.using(run_after=timezone.now() + SCAN_INTERVAL).enqueue()
    return result


def run_scan() -> dict[str, Any]:
    expired = case_commitments.expire_deficiency_commitments()
    warnings = services.refresh_warnings()
    return {"terminated": expired, **warnings}


def schedule_deadline_scan() -> bool:
    """Enqueue the first scan unless one is already waiting; True if one was enqueued."""
    from django_tasks_db.models import DBTaskResult

    pending = DBTaskResult.objects.filter(
        task_path=scan_deadlines.module_path, status__in=["READY", "RUNNING"]
    ).exists()
    if pending:
        return False
    scan_deadlines.enqueue()
    return True
