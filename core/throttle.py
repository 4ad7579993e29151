"""Per-client rate limits for anonymous endpoints, counted in Django's cache.

`check_rate` counts requests of one client address within a fixed window and raises
`RuleViolation("rate_limited", status=429)` past the limit: the API answers it as a
problem document, pages through `portal.middleware.RuleViolationMiddleware`. The counts
live in the default cache, so a node with several web workers needs a shared cache
(Redis, Memcached or the database cache) for the limit to hold across workers; with the
per-process default each worker counts on its own.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest

from core.exceptions import RuleViolation


def client_address(request: HttpRequest) -> str:
    """The address the request came from, as the WSGI server (or a trusted proxy
    middleware before this) sets it."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def check_rate(request: HttpRequest, scope: str, *, limit: int, window: int) -> None:
    """Count this request against `scope` for its client; refuse past `limit` per
    `window` seconds. The cache key holds a hash of the address, not the address."""
    digest = hashlib.sha256(client_address(request).encode()).hexdigest()[:32]
    key = f"rate:{scope}:{digest}"
    # add() creates the counter with its expiry only if it is missing; incr() is atomic
    # on the shared caches.
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window)
        count = 1
    if count > limit:
        raise RuleViolation(
            "rate_limited",
            f"请求过于频繁：每 {window} 秒最多 {limit} 次，请稍后再试",
            status=429,
        )
