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
- `on_refused(kind, callback)`: told when the receiver finally refuses an envelope of
  that kind this node sent (`callback(receiver, payload, code, reason)`), so the sending
  app can show it where people look (the cases app puts it on the case's timeline).

The payload is checked against the pydantic `schema` before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


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


_handlers: dict[str, Handler] = {}
_key_providers: list[Callable[[], list[dict[str, str]]]] = []
RefusalCallback = Callable[[str, dict[str, Any], str, str], None]
_refusal_callbacks: dict[str, RefusalCallback] = {}


def register(kind: str, schema: type[BaseModel], handle: Callable[[Message, Any], None]) -> None:
    _add(Handler(kind, schema, handle, query=False))


def register_query(
    kind: str, schema: type[BaseModel], answer: Callable[[Message, Any], dict[str, Any]]
) -> None:
    _add(Handler(kind, schema, answer, query=True))


def _add(handler: Handler) -> None:
    existing = _handlers.get(handler.kind)
    if existing is not None and existing != handler:
        raise ValueError(f"envelope kind {handler.kind!r} already has a handler")
    _handlers[handler.kind] = handler


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def register_key_provider(provider: Callable[[], list[dict[str, str]]]) -> None:
    if provider not in _key_providers:
        _key_providers.append(provider)


def published_keys() -> list[dict[str, str]]:
    return [key for provider in _key_providers for key in provider()]


def on_refused(kind: str, callback: RefusalCallback) -> None:
    _refusal_callbacks[kind] = callback


def refusal_callback(kind: str) -> RefusalCallback | None:
    return _refusal_callbacks.get(kind)
