"""Named registries: how a higher app hands a lower one what to call (DESIGN.md §4.3).

Each registry is filled in `AppConfig.ready()` and is strict both ways: registering a name
twice is an error at start-up (two apps claiming one envelope kind, one effect defined
twice), and asking for a name nobody registered is an error too — a definition naming an
effect that no app provides fails loudly instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(LookupError):
    """A name registered twice, or asked for and never registered: a programming error."""


class Registry(Generic[T]):
    """A mapping from names to things, filled once at start-up."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise RegistryError(f"{self.what} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def add(self, name: str) -> Callable[[T], T]:
        """`register` as a decorator."""

        def decorate(entry: T) -> T:
            return self.register(name, entry)

        return decorate

    def unregister(self, name: str) -> None:
        """Take an entry out again (a test's temporary handler; an app switched off)."""
        if self._entries.pop(name, None) is None:
            raise RegistryError(f"{self.what} {name!r} is not registered")

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"{self.what} {name!r} is not registered") from None

    def get(self, name: str) -> T | None:
        return self._entries.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def names(self) -> frozenset[str]:
        return frozenset(self._entries)
