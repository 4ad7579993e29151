"""Digital signatures for seals, licences and federation envelopes.

Two algorithms, chosen per key: **SM2 with SM3** (GB/T 32918 / GB/T 32905, the national
default) through the system's OpenSSL 3 libcrypto via a small ctypes binding — the
`cryptography` package does not expose SM2 — and **Ed25519** through `cryptography`.
SM2 signatures use the distinguishing ID `1234567812345678` (GB/T 35276), which OpenSSL 3
requires to be set explicitly, so that `openssl pkeyutl -verify -rawin -digest sm3
-pkeyopt distid:1234567812345678` checks them. Keys travel as PEM (PKCS#8 private keys,
SubjectPublicKeyInfo public keys); SM2 signatures are DER `SEQUENCE {r, s}` as OpenSSL writes
them, Ed25519 signatures the raw 64 bytes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SM2_ID = b"1234567812345678"


class Algorithm(StrEnum):
    SM2 = "SM2-SM3"
    ED25519 = "Ed25519"


class SigningError(Exception):
    """A key could not be read or used (never raised for a merely invalid signature)."""


@dataclass(frozen=True)
class KeyPair:
    algorithm: Algorithm
    private_pem: bytes
    public_pem: bytes


def generate_key(algorithm: Algorithm) -> KeyPair:
    if algorithm == Algorithm.ED25519:
        key = Ed25519PrivateKey.generate()
        return KeyPair(algorithm, _ed_private_pem(key), _ed_public_pem(key.public_key()))
    lib = _libcrypto()
    return KeyPair(algorithm, *lib.sm2_generate())


def public_pem_of(algorithm: Algorithm, private_pem: bytes) -> bytes:
    if algorithm == Algorithm.ED25519:
        key = _load_ed_private(private_pem)
        return _ed_public_pem(key.public_key())
    return _libcrypto().sm2_public_pem(private_pem)


def sign(algorithm: Algorithm, private_pem: bytes, data: bytes) -> bytes:
    if algorithm == Algorithm.ED25519:
        return _load_ed_private(private_pem).sign(data)
    return _libcrypto().sm2_sign(private_pem, data)


def verify(algorithm: Algorithm, public_pem: bytes, data: bytes, signature: bytes) -> bool:
    """True if `signature` is `data` signed by the key; False for any other signature,
    including one made with another algorithm. Raises SigningError for an unusable key."""
    if algorithm == Algorithm.ED25519:
        key = _ed_public_key(public_pem)
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
    return _libcrypto().sm2_verify(public_pem, data, signature)


def canonical_json(value: Any) -> bytes:
    """The bytes a signature over a JSON document covers: keys sorted, no insignificant
    white space, UTF-8 without `\\u` escapes. Parsing these bytes and encoding again gives
    the same bytes, so a signed document can travel as JSON and be checked from storage."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def fingerprint(public_pem: bytes) -> str:
    """SHA-256 of the public key's PEM text, hex: a stable short name for a key."""
    return hashlib.sha256(public_pem.strip()).hexdigest()


def _ed_private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ed_public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# A node verifies against a handful of keys (its seals, the directory's seals and nodes):
# each is parsed once per process rather than on every verification.
_CACHED_PUBLIC_KEYS = 1024


@lru_cache(maxsize=_CACHED_PUBLIC_KEYS)
def _ed_public_key(public_pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(public_pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError("not an Ed25519 public key")
    return key


def _load_ed_private(private_pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError("not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError("not an Ed25519 private key")
    return key


# The OpenSSL 3 binding ----------------------------------------------------------------------

_BIO_CTRL_INFO = 3
_VP = ctypes.c_void_p


class _LibCrypto:
    """The handful of libcrypto functions SM2-with-SM3 needs. Every pointer it allocates is
    freed in a `finally`; errors become SigningError."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        self.lib = lib
        sig = {
            "BIO_new_mem_buf": (_VP, [ctypes.c_char_p, ctypes.c_int]),
            "BIO_new": (_VP, [_VP]),
            "BIO_s_mem": (_VP, []),
            "BIO_ctrl": (ctypes.c_long, [_VP, ctypes.c_int, ctypes.c_long, _VP]),
            "BIO_free": (ctypes.c_int, [_VP]),
            "PEM_read_bio_PrivateKey": (_VP, [_VP, _VP, _VP, _VP]),
            "PEM_read_bio_PUBKEY": (_VP, [_VP, _VP, _VP, _VP]),
            "PEM_write_bio_PrivateKey": (
                ctypes.c_int,
                [_VP, _VP, _VP, _VP, ctypes.c_int, _VP, _VP],
            ),
            "PEM_write_bio_PUBKEY": (ctypes.c_int, [_VP, _VP]),
            "EVP_PKEY_free": (None, [_VP]),
            "EVP_PKEY_is_a": (ctypes.c_int, [_VP, ctypes.c_char_p]),
            "EVP_PKEY_CTX_new_from_name": (_VP, [_VP, ctypes.c_char_p, ctypes.c_char_p]),
            "EVP_PKEY_CTX_new": (_VP, [_VP, _VP]),
            "EVP_PKEY_CTX_free": (None, [_VP]),
            "EVP_PKEY_keygen_init": (ctypes.c_int, [_VP]),
            "EVP_PKEY_generate": (ctypes.c_int, [_VP, ctypes.POINTER(_VP)]),
            "EVP_PKEY_CTX_set1_id": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.c_int]),
            "EVP_MD_CTX_new": (_VP, []),
            "EVP_MD_CTX_free": (None, [_VP]),
            "EVP_MD_CTX_set_pkey_ctx": (None, [_VP, _VP]),
            "EVP_sm3": (_VP, []),
            "EVP_DigestSignInit": (ctypes.c_int, [_VP, _VP, _VP, _VP, _VP]),
            "EVP_DigestSign": (
                ctypes.c_int,
                [
                    _VP,
                    ctypes.c_char_p,
                    ctypes.POINTER(ctypes.c_size_t),
                    ctypes.c_char_p,
                    ctypes.c_size_t,
                ],
            ),
            "EVP_DigestVerifyInit": (ctypes.c_int, [_VP, _VP, _VP, _VP, _VP]),
            "EVP_DigestVerify": (
                ctypes.c_int,
                [_VP, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t],
            ),
            "ERR_clear_error": (None, []),
        }
        for name, (restype, argtypes) in sig.items():
            func = getattr(lib, name)
            func.restype, func.argtypes = restype, argtypes
        # Parsed public keys by PEM (see _CACHED_PUBLIC_KEYS). A cached key is never freed:
        # another thread may be verifying with it; past the bound, keys are parsed per call.
        self._public_keys: dict[bytes, int] = {}
        self._public_keys_lock = threading.Lock()

    # Key I/O

    def _read_key(self, pem: bytes, *, private: bool) -> int:
        bio = self.lib.BIO_new_mem_buf(pem, len(pem))
        try:
            reader = self.lib.PEM_read_bio_PrivateKey if private else self.lib.PEM_read_bio_PUBKEY
            key = reader(bio, None, None, None)
        finally:
            self.lib.BIO_free(bio)
        if not key:
            self.lib.ERR_clear_error()
            raise SigningError(f"not a PEM {'private' if private else 'public'} key")
        if not self.lib.EVP_PKEY_is_a(key, b"SM2"):
            self.lib.EVP_PKEY_free(key)
            raise SigningError("not an SM2 key")
        return key  # type: ignore[no-any-return]

    def _write(self, key: int, *, private: bool) -> bytes:
        bio = self.lib.BIO_new(self.lib.BIO_s_mem())
        try:
            ok = (
                self.lib.PEM_write_bio_PrivateKey(bio, key, None, None, 0, None, None)
                if private
                else self.lib.PEM_write_bio_PUBKEY(bio, key)
            )
            if ok != 1:
                raise SigningError("could not write key")
            data = ctypes.c_void_p()
            length = self.lib.BIO_ctrl(bio, _BIO_CTRL_INFO, 0, ctypes.byref(data))
            return ctypes.string_at(data, length)
        finally:
            self.lib.BIO_free(bio)

    def sm2_generate(self) -> tuple[bytes, bytes]:
        ctx = self.lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        key = _VP()
        try:
            if (
                not ctx
                or self.lib.EVP_PKEY_keygen_init(ctx) != 1
                or self.lib.EVP_PKEY_generate(ctx, ctypes.byref(key)) != 1
                or not key.value
            ):
                raise SigningError("SM2 key generation failed")
            return self._write(key.value, private=True), self._write(key.value, private=False)
        finally:
            if key.value:
                self.lib.EVP_PKEY_free(key)
            self.lib.EVP_PKEY_CTX_free(ctx)

    def sm2_public_pem(self, private_pem: bytes) -> bytes:
        key = self._read_key(private_pem, private=True)
        try:
            return self._write(key, private=False)
        finally:
            self.lib.EVP_PKEY_free(key)

    # Sign and verify

    def _digest_ctx(self, key: int) -> tuple[int, int]:
        mctx = self.lib.EVP_MD_CTX_new()
        pctx = self.lib.EVP_PKEY_CTX_new(key, None)
        if not mctx or not pctx or self.lib.EVP_PKEY_CTX_set1_id(pctx, SM2_ID, len(SM2_ID)) != 1:
            self.lib.EVP_MD_CTX_free(mctx)
            self.lib.EVP_PKEY_CTX_free(pctx)
            raise SigningError("could not prepare SM2 context")
        self.lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        return mctx, pctx

    def sm2_sign(self, private_pem: bytes, data: bytes) -> bytes:
        key = self._read_key(private_pem, private=True)
        mctx, pctx = self._digest_ctx(key)
        try:
            if self.lib.EVP_DigestSignInit(mctx, None, self.lib.EVP_sm3(), None, key) != 1:
                raise SigningError("SM2 sign init failed")
            size = ctypes.c_size_t(0)
            if self.lib.EVP_DigestSign(mctx, None, ctypes.byref(size), data, len(data)) != 1:
                raise SigningError("SM2 sign failed")
            out = ctypes.create_string_buffer(size.value)
            if self.lib.EVP_DigestSign(mctx, out, ctypes.byref(size), data, len(data)) != 1:
                raise SigningError("SM2 sign failed")
            return out.raw[: size.value]
        finally:
            self.lib.EVP_MD_CTX_free(mctx)
            self.lib.EVP_PKEY_CTX_free(pctx)
            self.lib.EVP_PKEY_free(key)

    def _public_key(self, pem: bytes) -> tuple[int, bool]:
        """(key, owned): the cached parsed key of `pem`, or a fresh one the caller must free
        when the cache is full. Raises SigningError for anything but an SM2 public key."""
        key = self._public_keys.get(pem)
        if key is not None:
            return key, False
        key = self._read_key(pem, private=False)
        with self._public_keys_lock:
            cached = self._public_keys.get(pem)
            if cached is not None:
                self.lib.EVP_PKEY_free(key)
                return cached, False
            if len(self._public_keys) < _CACHED_PUBLIC_KEYS:
                self._public_keys[pem] = key
                return key, False
        return key, True

    def sm2_verify(self, public_pem: bytes, data: bytes, signature: bytes) -> bool:
        key, owned = self._public_key(public_pem)
        try:
            mctx, pctx = self._digest_ctx(key)
        except SigningError:
            if owned:
                self.lib.EVP_PKEY_free(key)
            raise
        try:
            if self.lib.EVP_DigestVerifyInit(mctx, None, self.lib.EVP_sm3(), None, key) != 1:
                raise SigningError("SM2 verify init failed")
            ok = self.lib.EVP_DigestVerify(mctx, signature, len(signature), data, len(data))
            return ok == 1
        finally:
            self.lib.ERR_clear_error()
            self.lib.EVP_MD_CTX_free(mctx)
            self.lib.EVP_PKEY_CTX_free(pctx)
            if owned:
                self.lib.EVP_PKEY_free(key)


@cache
def _libcrypto() -> _LibCrypto:
    path = ctypes.util.find_library("crypto")
    for candidate in [path, "libcrypto.so.3"]:
        if not candidate:
            continue
        try:
            return _LibCrypto(candidate)
        except (OSError, AttributeError):
            continue
    raise SigningError("OpenSSL 3 libcrypto with SM2 support is not available")
