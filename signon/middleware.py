"""A session signed in through another member's provider ends here once that provider
refuses to refresh it (signon.sessions.keep_alive, decision 284)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from signon.sessions import REFRESH_DUE_KEY, keep_alive


class SessionRefreshMiddleware:
    """After the authentication middleware: a federated session whose refresh is due is
    refreshed at its provider; refused there, the person is signed out here before the
    view runs. Other requests read only the session's own marker."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        due = session.get(REFRESH_DUE_KEY) if session is not None else None
        if due is not None and not keep_alive(request):
            logout(request)
        return self.get_response(request)
