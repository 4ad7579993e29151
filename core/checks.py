"""System checks of a node's settings (issue 11).

`secrets_set`: a node without DEBUG refuses to start — `manage.py check`, `runserver`,
`migrate` and the WSGI entry point (`tongban/wsgi.py`, so gunicorn too) stop with an error
naming the setting — unless SECRET_KEY, TONGBAN_PERSONAL_DATA_KEY and TONGBAN_KEY_STORE_KEY
are set, long enough and distinct. Registered without the deploy tag, so it always runs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_LENGTH = 32


def _secret_key() -> str:
    try:
        return str(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django refuses to read an empty SECRET_KEY
        return ""


def _named_secrets() -> list[tuple[str, str]]:
    """Every secret with the environment variable it comes from."""
    named = [
        ("SECRET_KEY", _secret_key()),
        ("TONGBAN_PERSONAL_DATA_KEY", settings.PERSONAL_DATA_KEY),
        ("TONGBAN_KEY_STORE_KEY", settings.KEY_STORE_KEY),
    ]
    if settings.PERSONAL_DATA_LOOKUP_KEY:
        named.append(("TONGBAN_PERSONAL_DATA_LOOKUP_KEY", settings.PERSONAL_DATA_LOOKUP_KEY))
    named += [("SECRET_KEY_FALLBACKS", key) for key in settings.SECRET_KEY_FALLBACKS]
    named += [("TONGBAN_PERSONAL_DATA_OLD_KEYS", key) for key in settings.PERSONAL_DATA_OLD_KEYS]
    named += [("TONGBAN_KEY_STORE_OLD_KEYS", key) for key in settings.KEY_STORE_OLD_KEYS]
    return named


@register(Tags.security)
def secrets_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    seen: dict[str, str] = {}
    for name, value in _named_secrets():
        if settings.DEBUG:
            # A demo may run on its public values; a missing key still fails at first use.
            if not value:
                problems.append(Warning(f"{name} is not set; DEBUG is on.", id="tongban.W002"))
            continue
        if not value:
            problems.append(
                Error(
                    f"{name} is not set: a node without DEBUG needs its own secret.",
                    hint=f"Set the environment variable {name} to a random value of at least "
                    f"{MIN_KEY_LENGTH} characters (docs/deploy.md), or DEBUG=1 for a demo.",
                    id="tongban.E001",
                )
            )
            continue
        if len(value) < MIN_KEY_LENGTH:
            problems.append(
                Error(
                    f"{name} is shorter than {MIN_KEY_LENGTH} characters.",
                    hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                    id="tongban.E002",
                )
            )
        if value in seen:
            problems.append(
                Error(
                    f"{name} has the same value as {seen[value]}: each key must be distinct.",
                    hint="A leaked or rotated key must not open the others' data.",
                    id="tongban.E003",
                )
            )
        seen.setdefault(value, name)
    return problems


@register(Tags.security, deploy=True)
def lookup_key_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG or settings.PERSONAL_DATA_LOOKUP_KEY:
        return []
    return [
        Warning(
            "TONGBAN_PERSONAL_DATA_LOOKUP_KEY is not set: lookup hashes use the personal-data "
            "key, which then cannot be rotated without rewriting them.",
            hint="Before the first rotation, set it to the current TONGBAN_PERSONAL_DATA_KEY "
            "(docs/deploy.md, key rotation); a new node sets a distinct random value.",
            id="tongban.W001",
        )
    ]
