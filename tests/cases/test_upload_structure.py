"""Uploads are checked by structure, not just magic bytes, and need a matching extension
(decision 88): the one checker every upload path calls (`cases.materials.check_upload`:
case materials by page and API, hotline attachments; `_sniff` for materials from another
node)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from cases.materials import check_upload
from core.exceptions import RuleViolation
from tests import builders


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + _chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 32
        + b"\xff\xd9"
    )


def ofd(with_root: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("OFD.xml" if with_root else "Doc_0/Document.xml", "<ofd:OFD/>")
        package.writestr("Doc_0/Pages/Page_0/Content.xml", "<ofd:Page/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, name, mime",
    [
        (builders.uploaded_pdf(), "scan.PDF", "application/pdf"),
        (png(), "photo.png", "image/png"),
        (jpeg(), "photo.jpeg", "image/jpeg"),
        (ofd(), "licence.ofd", "application/zip"),
    ],
)
def test_well_formed_uploads_are_accepted(content, name, mime):
    assert check_upload(content, name) == mime


@pytest.mark.parametrize(
    "content, name, code",
    [
        (
            b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n",
            "a.pdf",
            "file_structure_invalid",
        ),
        (b"%PDF-1.4\n<html><script>alert(1)</script>", "a.pdf", "file_structure_invalid"),
        (b"%PDF-1.4\n" + b"x" * 2000, "a.pdf", "file_structure_invalid"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "a.png", "file_structure_invalid"),
        (png() + b"<script>alert(1)</script>", "a.png", "file_structure_invalid"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "a.jpg", "file_structure_invalid"),
        (jpeg() + b"<html><script>x</script>" + b"\xff\xd9", "a.jpg", "file_structure_invalid"),
        (ofd(with_root=False), "a.ofd", "file_structure_invalid"),
        (builders.uploaded_pdf(), "scan", "file_extension_required"),
        (builders.uploaded_pdf(), "scan.", "file_type_mismatch"),
        (png(), "photo.pdf", "file_type_mismatch"),
        (ofd(), "licence.zip", "file_type_mismatch"),
    ],
)
def test_malformed_or_misnamed_uploads_are_refused(content, name, code):
    with pytest.raises(RuleViolation) as info:
        check_upload(content, name)
    assert info.value.code == code and info.value.message
