"""Files at rest: content-addressed and encrypted.

Uploaded files (case materials, hotline attachments) are stored under the SHA-256 of their
clear bytes, sealed with the personal-data key (`core.personal_data.seal_bytes`, AES-GCM
bound to the digest). The digest recorded with a file is checked on every read, so a blob
that was altered, swapped or damaged on disk is refused instead of served. Files stored
before encryption (clear blobs) are still read, and checked the same way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from pathlib import Path
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse

from core.exceptions import RuleViolation
from core.personal_data import (
    UnknownKeyError,
    is_sealed,
    open_bytes,
    seal_bytes,
    sealed_key_is_current,
)

logger = logging.getLogger(__name__)


def store(content: bytes, *, area: str) -> tuple[str, str]:
    """Keep `content` sealed under its SHA-256 in `area` (a rolled-back upload leaves only
    an unreferenced blob, a file given twice is stored once); return the digest of the
    clear bytes and the storage path."""
    digest = hashlib.sha256(content).hexdigest()
    path = f"{area}/{digest[:2]}/{digest}"
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(seal_bytes(content, bound_to=digest)))
    return digest, path


def read(path: str, digest: str) -> bytes:
    """The clear bytes stored at `path`, which must hash to `digest`; refused with
    `file_integrity_failed` (and logged, without content) when they do not."""
    try:
        with default_storage.open(path, "rb") as handle:
            blob = handle.read()
    except FileNotFoundError:
        logger.error("blob missing: %s", path)
        raise RuleViolation("file_missing", "文件已丢失，请联系管理员", status=409) from None
    try:
        content = open_bytes(blob, bound_to=digest) if is_sealed(blob) else blob
    except InvalidTag:
        content = b""
    except UnknownKeyError:
        logger.error("blob sealed with a key that is not configured: %s", path)
        raise RuleViolation(
            "file_key_unknown", "文件的加密密钥未配置，无法读取，请联系管理员", status=409
        ) from None
    if hashlib.sha256(content).hexdigest() != digest:
        logger.error("blob integrity check failed: %s", path)
        raise RuleViolation(
            "file_integrity_failed", "文件内容与登记的摘要不符，已拒绝读取", status=409
        )
    return content


# Serving a stored file ---------------------------------------------------------------------

# Shown in the browser (PDF viewer, image); anything else is downloaded.
INLINE_TYPES = {"application/pdf", "image/jpeg", "image/png"}


def file_response(content: bytes, *, content_type: str, name: str, digest: str) -> HttpResponse:
    """An HTTP answer carrying a stored file: inline for PDFs and images (framable by the
    platform's own pages only), as a download otherwise; never cached, never sniffed, no
    script of the file's own run. `Repr-Digest` (RFC 9530) lets a client check the bytes."""
    inline = content_type in INLINE_TYPES
    response = HttpResponse(content, content_type=content_type or "application/octet-stream")
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "") or "file"
    response["Content-Disposition"] = (
        f'{"inline" if inline else "attachment"}; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    response["X-Frame-Options"] = "SAMEORIGIN"
    policy = "default-src 'none'; frame-ancestors 'self'"
    if content_type.startswith("image/"):
        policy += "; sandbox"  # an image needs no script; a PDF viewer refuses a sandbox
    response["Content-Security-Policy"] = policy
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
    return response


# Key rotation ---------------------------------------------------------------------------

AREAS = ("cases", "hotline")  # where `store` keeps files (its `area` argument)


def _stored_paths() -> list[str]:
    paths = []
    for area in AREAS:
        if not default_storage.exists(area):
            continue
        for shard in default_storage.listdir(area)[0]:
            paths += [
                f"{area}/{shard}/{name}" for name in default_storage.listdir(f"{area}/{shard}")[1]
            ]
    return sorted(paths)


def _stale(path: str) -> bool:
    with default_storage.open(path, "rb") as handle:
        return not sealed_key_is_current(handle.read(64))


def stale_files() -> list[str]:
    """Stored files not sealed with the current key (clear ones from before sealing, or
    sealed with an old key)."""
    return [path for path in _stored_paths() if _stale(path)]


def reseal(path: str) -> None:
    """Seal one stored file again with the current key: read and checked against the digest
    its name carries, written beside it, then renamed over it (atomic on one file system),
    so that an interruption leaves the old blob or the new one, never half of one."""
    digest = path.rsplit("/", 1)[1]
    fresh = seal_bytes(read(path, digest), bound_to=digest)
    target = Path(default_storage.path(path))
    partial = target.with_name(target.name + ".resealing")
    partial.write_bytes(fresh)
    os.replace(partial, target)
