"""How callers authenticate: `Authorization: Bearer <token>` for apps and department
systems, the browser session for the pages, and password sign-in where citizens name
their account by 公民身份号码."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from accounts.models import Person
from accounts.services import authenticate_token
from core.personal_data import lookup_hash
from core.validators import normalize_id_number


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_token(token)
        if user is not None:
            request.user = user  # type: ignore[assignment]
        return user


class SignedInSession(SessionAuth):
    """The browser session, its CSRF token checked only once someone is signed in: an
    anonymous POST answers 401 (no credentials), not 403 (no CSRF token) — there is no
    session to forge a request with (decision 84)."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)


API_AUTH = [BearerToken(), SignedInSession()]


class IdNumberBackend(ModelBackend):
    """Password sign-in of citizens with their 公民身份号码 as the account name.

    The number is looked up by its keyed hash (it is never stored in clear); anything
    that is not a valid ID number is left to the next backend (staff usernames)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or not password:
            return None
        try:
            number = normalize_id_number(username)
        except ValidationError:
            return None
        person = (
            Person.objects.select_related("user")
            .filter(id_number_hash=lookup_hash(number), user__isnull=False)
            .first()
        )
        if person is None or person.user is None:
            # Run the hasher once anyway, so that a missing account takes as long as a
            # wrong password (Django's ModelBackend does the same).
            get_user_model()().set_password(password)
            return None
        user = person.user
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def throttle_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The account name django-axes counts failures under and stores: the resolved
    account's username whichever name was typed (decision 81), so that a citizen locked
    out by ID number is locked out by account name too. A name that resolves to no account
    is counted as typed, an ID number as `id:` + its keyed hash, so the throttling tables
    and logs never hold an ID number in clear."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = request.POST.get("username")
    name = str(raw or "").strip()
    try:
        digest = lookup_hash(normalize_id_number(name))
    except ValidationError:
        if _ID_NUMBER_SHAPED.fullmatch(name):
            # A mistyped ID number is still (nearly) someone's ID number.
            return "id:" + lookup_hash(name.upper())[:32]
        return name[:150]
    account = (
        Person.objects.filter(id_number_hash=digest, user__isnull=False)
        .values_list("user__username", flat=True)
        .first()
    )
    return account or "id:" + digest[:32]


_ID_NUMBER_SHAPED = re.compile(r"\d{15}|\d{17}[\dXx]")
