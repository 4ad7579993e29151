"""Health endpoints for a process supervisor or load balancer (issue 11).

`/healthz`: the process answers (liveness) — nothing else is touched, so a slow database
never gets a healthy web process restarted. `/readyz`: the database answers and every
migration is applied (readiness) — until then a balancer sends no traffic here. Both are
anonymous, carry nothing about the node but the answer, and are never cached."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# Once every migration was seen applied, this process does not ask again: migrations are
# applied before a release's processes start, and reading them costs a walk of the files.
_migrated = False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    global _migrated
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrated:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                return JsonResponse(
                    {"status": "unavailable", "reason": "migrations", "pending": len(pending)},
                    status=503,
                )
            _migrated = True
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "reason": "database"}, status=503)
    return JsonResponse({"status": "ready"})
