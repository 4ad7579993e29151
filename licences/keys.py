"""The key store: where seals' private keys live and where signing happens.

A Protocol with a local implementation; a province plugs in its certified seal service or
HSM (GB/T 38540 practice) by naming another class in `settings.TONGBAN_ADAPTERS["key_store"]`.
Private keys never leave it: not in logs, admin pages or the API.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from core.personal_data import KEY_STORE, decrypt, encrypt
from core.signing import Algorithm, sign
from licences.models import Seal, StoredKey

PURPOSE = b"seal-key-store"


class KeyStore(Protocol):
    def store(self, seal: Seal, private_pem: bytes) -> None: ...

    def sign(self, seal: Seal, data: bytes) -> bytes: ...


class LocalKeyStore:
    """Private keys in the node's database, AES-256-GCM encrypted with a key derived from
    `settings.KEY_STORE_KEY` (kept apart from the personal-data key)."""

    def store(self, seal: Seal, private_pem: bytes) -> None:
        StoredKey.objects.create(
            seal=seal,
            sealed_private_key=encrypt(private_pem.decode(), ring=KEY_STORE, purpose=PURPOSE),
        )

    def sign(self, seal: Seal, data: bytes) -> bytes:
        stored = StoredKey.objects.get(seal=seal)
        private_pem = decrypt(stored.sealed_private_key, ring=KEY_STORE, purpose=PURPOSE).encode()
        return sign(Algorithm(seal.algorithm), private_pem, data)


@cache
def _store(path: str) -> KeyStore:
    return import_string(path)()  # type: ignore[no-any-return]


def key_store() -> KeyStore:
    return _store(settings.TONGBAN_ADAPTERS["key_store"])
