"""How API callers authenticate: `Authorization: Bearer <token>` for apps and department
systems, or the browser session for the portal's own pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from accounts.services import authenticate_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_token(token)
        if user is not None:
            request.user = user  # type: ignore[assignment]
        return user


API_AUTH = [BearerToken(), SessionAuth()]
