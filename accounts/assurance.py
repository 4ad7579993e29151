"""The assurance level (core/assurance.py) of whoever acts: established at sign-in and
kept in the session (`SESSION_KEY`), carried by an OAuth access token, or — for a caller
that has neither (an API token, a command) — the level of the person's identity record.

`level_of(actor)` is what services ask (cases.services.start_case)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.models import Person
from core.actors import Actor, user_of
from core.assurance import Assurance, lowest
from core.exceptions import RuleViolation
from core.personal_data import mask_name
from core.services import record_audit

SESSION_KEY = "tongban_assurance"
# Set on the request's user by the session middleware below or by a bearer authenticator.
USER_ATTRIBUTE = "assurance_level"


def identity_level(user: User) -> str:
    """What the person's identity record proves: checked in person, checked against the
    real-name service, or nothing beyond the password (staff accounts, unverified)."""
    person = (
        Person.objects.filter(user=user)
        .only("real_name_verified_at", "in_person_verified_at")
        .first()
    )
    if person is None:
        return Assurance.PASSWORD
    if person.in_person_verified_at is not None:
        return Assurance.IN_PERSON
    if person.real_name_verified_at is not None:
        return Assurance.REAL_NAME
    return Assurance.PASSWORD


def level_of(actor: Actor) -> str:
    """The level `actor` signed in with; Assurance.PASSWORD for anyone else."""
    user = user_of(actor)
    if user is None:
        return Assurance.PASSWORD
    carried = getattr(user, USER_ATTRIBUTE, None)
    if carried:
        return str(carried)
    return identity_level(user)


def start_session(request: HttpRequest, level: str) -> None:
    """Record the level a sign-in established (a password sign-in here, or a single
    sign-on vouched for by another node's provider, signon.relying)."""
    request.session[SESSION_KEY] = level


@receiver(user_logged_in, dispatch_uid="accounts.assurance.password_sign_in")
def _password_sign_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    # A sign-in on this node's own page: the person's identity record says how sure we
    # are. Single sign-on overwrites it with the level the other node vouched for.
    if request is not None and hasattr(request, "session"):
        start_session(request, identity_level(user))


class AssuranceMiddleware:
    """Put the session's level on the signed-in user, for the services to read."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        level = session.get(SESSION_KEY) if session is not None else None
        if level:
            user = request.user
            if user.is_authenticated:
                setattr(user, USER_ATTRIBUTE, level)
        return self.get_response(request)  # type: ignore[no-any-return]


@transaction.atomic
def verify_in_person(person: Person, *, actor: Actor) -> Person:
    """A window clerk has checked the person's identity face to face with the ID card:
    their identity record reaches the highest level (next sign-in on)."""
    from accounts.models import Role, StaffRole

    user = user_of(actor)
    if user is None or not StaffRole.objects.filter(user=user, role=Role.WINDOW_CLERK).exists():
        raise RuleViolation("action_forbidden", "只有窗口人员可以当面核验身份", status=403)
    person.in_person_verified_at = timezone.now()
    if person.real_name_verified_at is None:
        person.real_name_verified_at = person.in_person_verified_at
    person.save(update_fields=["in_person_verified_at", "real_name_verified_at"])
    record_audit(
        actor=actor,
        action="verify_in_person",
        obj=person,
        summary=f"窗口当面核验 {mask_name(person.name)}（{person.id_number_masked}）的身份",
    )
    return person


__all__ = [
    "SESSION_KEY",
    "identity_level",
    "level_of",
    "lowest",
    "start_session",
    "verify_in_person",
]
