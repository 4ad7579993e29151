"""The rate limit of anonymous licence verification, shared by the public /verify/ page and
`POST /api/v1/licences/verify` (decision 85)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from core.throttle import check_rate


def throttle_anonymous_verification(request: HttpRequest) -> None:
    """Anonymous verification is limited per client address (`VERIFY_RATE_LIMIT` per
    `VERIFY_RATE_WINDOW` seconds); signed-in users are not limited here. Raises
    RuleViolation `rate_limited` (429)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return
    check_rate(
        request,
        "licence-verify",
        limit=settings.VERIFY_RATE_LIMIT,
        window=settings.VERIFY_RATE_WINDOW,
    )
