"""`Cache-Control: no-store` on everything answered to someone signed in (decision 87).

Personal data (ID numbers, phones, addresses, cases, licences) is only ever shown to a
signed-in user or an API caller with a token, and such answers must not stay in a
browser's or a proxy's cache. Marking views one by one forgets the next view; this
middleware marks every response whose request carried a session login or a bearer token
(`accounts.auth.BearerToken` sets `request.user` while the view runs) with Django's
`never_cache` headers. Anonymous pages (the catalog, guides) stay cacheable.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class PrivateResponsesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or "HTTP_AUTHORIZATION" in request.META:
            add_never_cache_headers(response)
        return response
