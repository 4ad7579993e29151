"""What to do with an envelope of each kind, and who adds keys to the directory.

`federation` knows kinds only as strings (DESIGN.md §4.3). A higher app registers, in its
`AppConfig.ready()`:

- `register(kind, schema, handle)`: a one-way message. `handle(message, payload)` runs in
  the transaction that stores the envelope, so its effect and the log entry commit
  together; raising `RuleViolation` refuses the envelope with no effect.
- `register_query(kind, schema, answer)`: a question answered at once
  (`federation.services.ask`); `answer(message, payload)` returns the answer's payload. It
  changes no business state (a question may be asked again at any time), though it may
  record that it was asked (the licences app logs the verification for the holder).
- `register_key_provider(provider)`: public keys the node publishes beside its own (the
  licences app publishes its seals, so licences verify on other nodes offline).
- `register_entry_part(name, provider)`: a further part of the node's directory entry,
  under `name` (the signon app publishes its OpenID Connect issuer and JWKS as `oidc`, so
  that members trust each other's sign-ins through the directory).
- `on_refused(kind, callback)`: told when the receiver finally refuses an envelope of
  that kind this node sent (`callback(receiver, payload, code, reason)`), so the sending
  app can show it where people look (the cases app puts it on the case's timeline).

The payload is checked against the pydantic `schema` before anything is stored. Each
registry is strict (core/registry.py): a kind registered twice fails at start-up.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core.registry import Registry


@dataclass(frozen=True)
class Message:
    """The envelope fields a handler may rely on (already verified)."""

    id: uuid.UUID
    sender: str
    receiver: str
    kind: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Handler:
    kind: str
    schema: type[BaseModel]
    handle: Callable[[Message, Any], Any]
    query: bool


_handlers: Registry[Handler] = Registry("envelope kind")
KeyProvider = Callable[[], list[dict[str, str]]]
_key_providers: Registry[KeyProvider] = Registry("key provider")
RefusalCallback = Callable[[str, dict[str, Any], str, str], None]
_refusal_callbacks: Registry[RefusalCallback] = Registry("refusal callback")


def register(kind: str, schema: type[BaseModel], handle: Callable[[Message, Any], None]) -> None:
    _handlers.register(kind, Handler(kind, schema, handle, query=False))


def register_query(
    kind: str, schema: type[BaseModel], answer: Callable[[Message, Any], dict[str, Any]]
) -> None:
    _handlers.register(kind, Handler(kind, schema, answer, query=True))


def unregister(kind: str) -> None:
    """Take a handler out again (a test's temporary kind)."""
    _handlers.unregister(kind)


def handler_for(kind: str) -> Handler | None:
    """The handler of `kind`; None for a kind no app handles (the envelope is refused)."""
    return _handlers.get(kind)


def register_key_provider(provider: KeyProvider) -> None:
    _key_providers.register(f"{provider.__module__}.{provider.__qualname__}", provider)


def published_keys() -> list[dict[str, str]]:
    return [key for name in _key_providers for key in _key_providers[name]()]


EntryPart = Callable[[], dict[str, Any]]
_entry_parts: Registry[EntryPart] = Registry("directory entry part")


def register_entry_part(name: str, provider: EntryPart) -> None:
    _entry_parts.register(name, provider)


def entry_parts() -> dict[str, dict[str, Any]]:
    """The further parts of this node's directory entry, by name."""
    return {name: _entry_parts[name]() for name in _entry_parts}


def on_refused(kind: str, callback: RefusalCallback) -> None:
    _refusal_callbacks.register(kind, callback)


def refusal_callback(kind: str) -> RefusalCallback | None:
    return _refusal_callbacks.get(kind)
