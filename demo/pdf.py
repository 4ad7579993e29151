"""Small, valid one-page PDF files for the demo cases' materials.

Uploads are checked by content (cases.materials.add_material), so the demo needs real PDF
bytes, not a file that merely starts with `%PDF`. This writes the smallest complete
document — catalog, page tree, one page, a standard font, a content stream, an info
dictionary and a cross-reference table with exact byte offsets — so any PDF reader opens
it. The page text is ASCII (the standard fonts have no Chinese glyphs); the Chinese
material name goes into the document title, as UTF-16 (PDF 1.7 §7.9.2.2).
"""

from __future__ import annotations


def _literal(text: str) -> bytes:
    """A PDF literal string of ASCII text, with the three special characters escaped."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("ascii", "replace") + b")"


def _utf16(text: str) -> bytes:
    """A PDF text string in UTF-16BE with its byte-order mark, as a hex string."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def demo_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF titled `title` (any language) showing `lines` (ASCII)."""
    content = [b"BT", b"/F1 16 Tf", b"72 770 Td", b"20 TL"]
    for line in lines:
        content.append(_literal(line) + b" Tj T*")
    content.append(b"ET")
    stream = b"\n".join(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title " + _utf16(title) + b" /Producer (Tongban demo data) >>",
    ]
    # The second line's bytes above 127 tell transfer programs the file is binary.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
