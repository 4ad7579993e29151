"""The PDF of a licence (电子证照版式文件), drawn with ReportLab.

One landscape A4 certificate: the licence type as title, 证照编号 and 电子证照标识, the holder
and every face field with its Chinese label, the validity, the issuer and date with the
issuer's seal pressed over them, and the verification QR code drawn as vector modules.

All text is set in one embedded TrueType CJK font — BabelStone Han, which has the rare
characters of people's names (𠮷, U+20BB7) — never in the built-in STSong-Light, which is
not embedded and garbles characters outside the BMP. The holder's code is printed masked:
the file is downloadable and travels; the full code is in the signed canonical form.
"""

from __future__ import annotations

import datetime as dt
import glob
import io
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.utils import timezone
from django.utils.html import escape as html_escape
from django.utils.safestring import SafeString, mark_safe
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from catalog.form_schema import FieldType, parse_form_fields
from core.calendar import chinese_date
from core.exceptions import ProblemList
from core.models import Division
from licences.models import Licence
from licences.seal_image import draw_seal, label_for

logger = logging.getLogger(__name__)


class FontMissing(RuntimeError):
    """No embeddable CJK TrueType font is installed, so no licence PDF can be drawn."""


@dataclass(frozen=True)
class _FontCandidate:
    pattern: str  # a glob under the system font directories
    subfont: int  # index in a TrueType collection (.ttc)
    package: str  # the Debian package that installs it


# BabelStone Han first: it covers CJK Extension B and beyond, where rare name characters
# live. AR PL UMing (its simplified-Chinese face is the first in the collection) is the
# fallback; it lacks Extension B, so such characters then come out as empty boxes.
FONT_CANDIDATES = (
    _FontCandidate("**/BabelStoneHan.ttf", 0, "fonts-babelstone-han"),
    _FontCandidate("**/uming.ttc", 0, "fonts-arphic-uming"),
)
FONT_DIRECTORIES = ("/usr/share/fonts", "/usr/local/share/fonts")


@cache
def cjk_font() -> str:
    """Register the CJK font once per process and return its ReportLab name."""
    for candidate in FONT_CANDIDATES:
        for directory in FONT_DIRECTORIES:
            found = sorted(glob.glob(f"{directory}/{candidate.pattern}", recursive=True))
            if found:
                _repair_to_unicode_cmaps()
                # ReportLab keeps the first font registered under a name: one name per file.
                name = f"Tongban-{candidate.package}"
                font = ttfonts.TTFont(name, found[0], subfontIndex=candidate.subfont)
                pdfmetrics.registerFont(font)
                logger.info("licence PDFs use the font %s (%s)", found[0], candidate.package)
                return name
    packages = "、".join(c.package for c in FONT_CANDIDATES)
    raise FontMissing(
        f"没有找到可嵌入的中文 TrueType 字体，无法生成证照 PDF：请安装 Debian 软件包 {packages}"
        f"（在 {'、'.join(FONT_DIRECTORIES)} 下查找）"
    )


def _repair_to_unicode_cmaps() -> None:
    """ReportLab 5.1 writes a character beyond the BMP into a subset's ToUnicode map as
    five hex digits (`<20BB7>`), which readers take as UTF-16 and cut short: the glyph
    prints, but copying or searching 𠮷 yields another character. Write UTF-16BE surrogate
    pairs instead, as the PDF specification (ISO 32000-1 §9.10.3) requires."""
    original = ttfonts.makeToUnicodeCMap
    if getattr(original, "tongban_repaired", False):
        return

    def make_to_unicode_cmap(fontname: str, subset: list[int]) -> str:
        cmap: str = original(fontname, subset)
        for code, value in enumerate(subset):
            if value > 0xFFFF:
                utf16 = chr(value).encode("utf-16-be").hex().upper()
                cmap = cmap.replace(f"<{code:02X}> <{value:04X}>", f"<{code:02X}> <{utf16}>")
        return cmap

    make_to_unicode_cmap.tongban_repaired = True  # type: ignore[attr-defined]
    ttfonts.makeToUnicodeCMap = make_to_unicode_cmap


# Page layout (points; A4 landscape is 842 × 595) --------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
BORDER_COLOUR = HexColor("#9b2d20")
PATTERN_COLOUR = HexColor("#f3e7dc")
INK = HexColor("#1a1a1a")
MUTED = HexColor("#5c5c5c")
RULE = HexColor("#c9b8a8")
BODY_LEFT = 80.0
BODY_RIGHT = 560.0
BODY_TOP = PAGE_HEIGHT - 158.0
BODY_BOTTOM = 92.0
SIDE_CENTRE = 686.0  # the right column: QR code, then issuer and seal
QR_SIZE = 150.0
QR_TOP = PAGE_HEIGHT - 150.0
SEAL_DIAMETER = 42 * mm  # the size of a paper official seal
LARGEST_TEXT, SMALLEST_TEXT = 14.0, 8.0


@dataclass(frozen=True)
class _Row:
    label: str
    value: str


def render_licence_pdf(licence: Licence, *, face: dict[str, Any] | None = None) -> bytes:
    """The licence as a PDF document (bytes); `face` is the face as the reader may see it
    (`licences.selectors.face_for`), the stored face if not given."""
    font = cjk_font()
    rows = _rows(licence, face)
    body, pages = _paginate(rows, font)
    url = verify_url(licence.token)
    issuer_name = licence.issuer.name
    _warn_missing_glyphs(font, [licence.licence_type.name, issuer_name, *_texts(rows)])

    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1, initialFontName=font
    )
    canvas.setTitle(f"{licence.licence_type.name} {licence.identifier}")
    canvas.setAuthor(issuer_name)
    canvas.setSubject(f"电子证照 {licence.identifier}")
    canvas.setCreator("通办 Tongban")
    for number, page_rows in enumerate(pages, start=1):
        _draw_frame(canvas)
        _draw_heading(canvas, font, licence)
        _draw_rows(canvas, body, page_rows)
        _draw_qr(canvas, font, url)
        if number == len(pages):
            _draw_issuer(canvas, font, licence)
        _draw_footer(canvas, font, licence, url, number, len(pages))
        if licence.status != Licence.Status.VALID:
            _draw_status_stamp(canvas, font, licence.get_status_display())
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def verify_url(token: str) -> str:
    """What the licence's QR code holds: the node's public /verify/ page with the token."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/verify/?t={token}"


# Content ---------------------------------------------------------------------------------------


def face_rows(licence: Licence, face: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """The licence face as (label, value) lines, as the PDF prints them — for pages."""
    return [(row.label, row.value) for row in _rows(licence, face)]


def _rows(licence: Licence, shown: dict[str, Any] | None = None) -> list[_Row]:
    code_kind = licence.get_holder_code_type_display()
    rows = [
        _Row("持证主体", licence.holder_name),
        _Row("持证主体代码", f"{licence.holder_code_masked}（{code_kind}）"),
    ]
    fields = parse_form_fields(licence.licence_type.face_fields, ProblemList())
    face: dict[str, Any] = dict((licence.face_data or {}) if shown is None else shown)
    for field in fields:
        if field.name in face:
            rows.append(_Row(field.label, _face_value(field.type, face.pop(field.name))))
    # Fields the type no longer defines were signed all the same: show them, not drop them.
    rows.extend(_Row(name, str(value)) for name, value in face.items())
    rows.append(_Row("有效期", _validity(licence)))
    return rows


def _face_value(kind: str, value: Any) -> str:
    text = str(value)
    if kind == FieldType.DATE:
        try:
            return chinese_date(dt.date.fromisoformat(text))
        except ValueError:
            return text
    if kind == FieldType.DIVISION:
        name = Division.objects.filter(code=text).values_list("name", flat=True).first()
        return f"{name}（{text}）" if name else text
    return text


def _validity(licence: Licence) -> str:
    start = chinese_date(licence.valid_from)
    if licence.valid_until is None:
        return f"{start}起长期有效"
    return f"{start}至{chinese_date(licence.valid_until)}"


def _texts(rows: Iterable[_Row]) -> Iterable[str]:
    for row in rows:
        yield row.label
        yield row.value


def _warn_missing_glyphs(font: str, texts: Iterable[str]) -> None:
    face = pdfmetrics.getFont(font).face
    missing = {char for text in texts for char in text if ord(char) not in face.charToGlyph}
    missing.discard("\n")
    if missing:
        logger.warning(
            "the licence font lacks %s; install fonts-babelstone-han",
            ", ".join(f"U+{ord(c):04X}" for c in sorted(missing)),
        )


# Rows of the body, fitted to the page ----------------------------------------------------------

LABEL_WIDTH_EMS = 6.0
LABEL_GAP_EMS = 1.2


def _value_style(font: str, size: float) -> ParagraphStyle:
    return ParagraphStyle(
        "licence-value",
        fontName=font,
        fontSize=size,
        leading=size * 1.45,
        textColor=INK,
        wordWrap="CJK",
    )


def _label_style(font: str, size: float) -> ParagraphStyle:
    return ParagraphStyle(
        "licence-label",
        fontName=font,
        fontSize=size,
        leading=size * 1.45,
        textColor=MUTED,
        wordWrap="CJK",
    )


@dataclass(frozen=True)
class _Block:
    """A row, or the part of a long row that fits on one page, wrapped and measured."""

    label: str  # empty on the continuation of a row split across pages
    value: Paragraph
    value_height: float
    content_height: float  # of the value or the label, whichever is taller
    height: float  # with the space around it


class _Body:
    """The rows at one type size: measures, and splits a value too long for one page."""

    def __init__(self, font: str, size: float) -> None:
        self.font, self.size = font, size
        self.label_width = LABEL_WIDTH_EMS * size
        self.value_left = BODY_LEFT + self.label_width + LABEL_GAP_EMS * size
        self.value_width = BODY_RIGHT - self.value_left
        self.padding = size * 0.9

    def value(self, text: str) -> Paragraph:
        return _paragraph(text, _value_style(self.font, self.size))

    def label(self, text: str) -> Paragraph:
        return _paragraph(text, _label_style(self.font, self.size))

    def block(self, label: str, value: Paragraph) -> _Block:
        _, value_height = value.wrap(self.value_width, 100_000)
        label_height = self.size * 1.45
        if len(label) > LABEL_WIDTH_EMS:
            _, label_height = self.label(label).wrap(self.label_width, 100_000)
        content = max(value_height, label_height)
        return _Block(label, value, value_height, content, content + self.padding)

    def total_height(self, rows: list[_Row]) -> float:
        return sum(self.block(row.label, self.value(row.value)).height for row in rows)

    def split(self, value: Paragraph, room: float) -> tuple[Paragraph, Paragraph] | None:
        """The lines of `value` that fit in `room` and the rest, or None if none fit."""
        parts = value.split(self.value_width, room - self.padding)
        return (parts[0], parts[1]) if len(parts) == 2 else None


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _paginate(rows: list[_Row], font: str) -> tuple[_Body, list[list[_Block]]]:
    """The largest type size at which every row fits on one page; when even the smallest
    does not, rows continue on further pages, a long value split between lines — never
    cut, since every field is part of what was signed."""
    room = BODY_TOP - BODY_BOTTOM
    size = LARGEST_TEXT
    while size > SMALLEST_TEXT and _Body(font, size).total_height(rows) > room:
        size -= 0.5
    body = _Body(font, size)
    pages: list[list[_Block]] = [[]]
    used = 0.0
    for row in rows:
        label, value = row.label, body.value(row.value)
        while True:
            block = body.block(label, value)
            if used + block.height <= room:
                pages[-1].append(block)
                used += block.height
                break
            parts = body.split(value, room - used)
            if parts is not None:
                pages[-1].append(body.block(label, parts[0]))
                label, value = "", parts[1]
            elif not pages[-1]:  # not even one line fits an empty page: cannot happen
                raise ValueError("licence row cannot be laid out")
            pages.append([])
            used = 0.0
    if len(pages) == 1 and pages[0]:
        # A short face is spaced out a little, rather than leaving the lower half empty.
        extra = min(size * 0.8, (room - used) / len(pages[0]))
        pages[0] = [replace(block, height=block.height + extra) for block in pages[0]]
    return body, pages


def _draw_rows(canvas: Canvas, body: _Body, blocks: list[_Block]) -> None:
    """Each row sits on its own ruled line, like a form filled in on paper."""
    size, font = body.size, body.font
    top = BODY_TOP
    for block in blocks:
        rule = top - block.height + size * 0.45
        content_top = rule + size * 0.3 + block.content_height
        if len(block.label) > LABEL_WIDTH_EMS:
            label = body.label(block.label)
            _, label_height = label.wrap(body.label_width, 100_000)
            label.drawOn(canvas, BODY_LEFT, content_top - label_height)
        elif block.label:
            baseline = content_top - size * 1.1
            _draw_distributed(
                canvas, font, size, block.label, BODY_LEFT, baseline, body.label_width
            )
        block.value.drawOn(canvas, body.value_left, content_top - block.value_height)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(body.value_left, rule, BODY_RIGHT, rule)
        top -= block.height


def _draw_distributed(
    canvas: Canvas, font: str, size: float, text: str, left: float, baseline: float, width: float
) -> None:
    """A short label spread evenly (分散对齐), as on paper forms: up to four characters
    over four, five or six over six."""
    natural = canvas.stringWidth(text, font, size)
    target = width * 4 / LABEL_WIDTH_EMS if len(text) <= 4 else width
    spacing = max(0.0, target - natural) / (len(text) - 1) if len(text) > 1 else 0.0
    _draw_spaced(canvas, text, left, baseline, font=font, size=size, spacing=spacing, colour=MUTED)


def _draw_spaced(
    canvas: Canvas,
    text: str,
    x: float,
    baseline: float,
    *,
    font: str,
    size: float,
    spacing: float,
    colour: Color,
    centred: bool = False,
) -> None:
    """Letter-spaced text. The spacing is part of the PDF graphics state, so it is set
    inside a saved state and cannot leak into later text."""
    if centred:
        x -= (canvas.stringWidth(text, font, size) + spacing * (len(text) - 1)) / 2
    canvas.saveState()
    canvas.setFillColor(colour)
    content = canvas.beginText(x, baseline)
    content.setFont(font, size)
    content.setCharSpace(spacing)
    content.textOut(text)
    canvas.drawText(content)
    canvas.restoreState()


# Decorations, heading, QR, issuer, footer ------------------------------------------------------


def _draw_frame(canvas: Canvas) -> None:
    canvas.saveState()
    _draw_rosette(canvas, BODY_LEFT + (BODY_RIGHT - BODY_LEFT) / 2, PAGE_HEIGHT / 2 - 20, 165)
    canvas.setStrokeColor(BORDER_COLOUR)
    canvas.setLineWidth(2.4)
    canvas.rect(20, 20, PAGE_WIDTH - 40, PAGE_HEIGHT - 40)
    canvas.setLineWidth(0.7)
    canvas.rect(27, 27, PAGE_WIDTH - 54, PAGE_HEIGHT - 54)
    for cx, cy in (
        (27, 27),
        (PAGE_WIDTH - 27, 27),
        (27, PAGE_HEIGHT - 27),
        (PAGE_WIDTH - 27, PAGE_HEIGHT - 27),
    ):
        canvas.setFillColor(BORDER_COLOUR)
        _diamond(canvas, cx, cy, 5)
    canvas.restoreState()


def _draw_rosette(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    """A faint guilloche behind the body, as on printed certificates: rotated ellipses."""
    canvas.setStrokeColor(PATTERN_COLOUR)
    canvas.setLineWidth(0.45)
    for step in range(48):
        canvas.saveState()
        canvas.translate(cx, cy)
        canvas.rotate(step * 180 / 48)
        canvas.ellipse(-radius, -radius * 0.38, radius, radius * 0.38)
        canvas.restoreState()
    canvas.circle(cx, cy, radius * 0.38)


def _diamond(canvas: Canvas, cx: float, cy: float, r: float) -> None:
    path = canvas.beginPath()
    path.moveTo(cx, cy + r)
    path.lineTo(cx + r, cy)
    path.lineTo(cx, cy - r)
    path.lineTo(cx - r, cy)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_heading(canvas: Canvas, font: str, licence: Licence) -> None:
    title = licence.licence_type.name
    size = min(30.0, 560 / max(1, len(title) * 1.5))
    centre = PAGE_WIDTH / 2
    _draw_spaced(
        canvas,
        title,
        centre,
        PAGE_HEIGHT - 78,
        font=font,
        size=size,
        spacing=size * 0.5,
        colour=INK,
        centred=True,
    )
    subtitle = "电子证照"
    if licence.status != Licence.Status.VALID:
        subtitle += f"（{licence.get_status_display()}）"
    _draw_spaced(
        canvas,
        subtitle,
        centre,
        PAGE_HEIGHT - 100,
        font=font,
        size=10,
        spacing=6,
        colour=BORDER_COLOUR,
        centred=True,
    )

    canvas.setFont(font, 9.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(BODY_LEFT, PAGE_HEIGHT - 128, f"证照编号：{licence.number}")
    canvas.drawRightString(
        PAGE_WIDTH - 58, PAGE_HEIGHT - 128, f"电子证照标识：{licence.identifier}"
    )
    canvas.setStrokeColor(BORDER_COLOUR)
    canvas.setLineWidth(0.8)
    canvas.line(BODY_LEFT, PAGE_HEIGHT - 137, PAGE_WIDTH - 58, PAGE_HEIGHT - 137)


def _draw_qr(canvas: Canvas, font: str, url: str) -> None:
    """The verification QR code as filled vector rectangles, one per run of dark modules
    in a row, all in a single path (no raster, no seams between modules)."""
    qr = segno.make(url, error="m")
    modules = qr.symbol_size(border=0)[0]
    unit = QR_SIZE / modules
    left, top = SIDE_CENTRE - QR_SIZE / 2, QR_TOP
    canvas.saveState()
    canvas.setFillColor(Color(1, 1, 1))
    quiet = 4 * unit  # the quiet zone the standard asks for, clear of the background pattern
    canvas.rect(
        left - quiet,
        top - QR_SIZE - quiet,
        QR_SIZE + 2 * quiet,
        QR_SIZE + 2 * quiet,
        stroke=0,
        fill=1,
    )
    path = canvas.beginPath()
    for row_index, row in enumerate(qr.matrix_iter(scale=1, border=0)):
        y = top - (row_index + 1) * unit
        column = 0
        cells = list(row)
        while column < modules:
            if cells[column]:
                start = column
                while column < modules and cells[column]:
                    column += 1
                path.rect(left + start * unit, y, (column - start) * unit, unit)
            else:
                column += 1
    canvas.setFillColor(Color(0, 0, 0))
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.setFont(font, 11)
    canvas.setFillColor(INK)
    canvas.drawCentredString(SIDE_CENTRE, top - QR_SIZE - quiet - 12, "扫码核验")
    canvas.restoreState()


def _draw_issuer(canvas: Canvas, font: str, licence: Licence) -> None:
    """The 落款: issuer and date, with the seal pressed over them as on paper."""
    name = licence.issuer.name
    width = 2 * (PAGE_WIDTH - 58 - SIDE_CENTRE)
    size = min(15.0, width / max(1, len(name)))
    issued_on = timezone.localtime(licence.issued_at).date()
    name_baseline = 150.0
    canvas.setFillColor(INK)
    canvas.setFont(font, size)
    canvas.drawCentredString(SIDE_CENTRE, name_baseline, name)
    canvas.setFont(font, 12)
    canvas.drawCentredString(SIDE_CENTRE, name_baseline - 24, chinese_date(issued_on))
    seal = licence.seal
    draw_seal(
        canvas,
        seal.organisation.name,
        label_for(seal.name, seal.organisation.name),
        x=SIDE_CENTRE,
        y=name_baseline - 4,
        diameter=SEAL_DIAMETER,
        font_name=font,
    )


def _draw_footer(
    canvas: Canvas, font: str, licence: Licence, url: str, page: int, pages: int
) -> None:
    base = url.split("?", 1)[0]
    canvas.setFont(font, 8.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(
        BODY_LEFT,
        52,
        f"本证照由{licence.issuer.name}签发，可通过扫描二维码或访问 {base} 核验真伪。",
    )
    note = "持证主体代码已作部分隐藏，以保护个人信息；完整信息载于经签名的证照数据。"
    if licence.holder_code_type == Licence.HolderCodeType.ID_NUMBER:
        canvas.drawString(BODY_LEFT, 40, note)
    if pages > 1:
        canvas.drawRightString(PAGE_WIDTH - 58, 40, f"第 {page} 页 共 {pages} 页")


def _draw_status_stamp(canvas: Canvas, font: str, status: str) -> None:
    """A licence that is no longer valid says so across its face (and in the subtitle,
    where text extraction and screen readers find it)."""
    canvas.saveState()
    canvas.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.22))
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(math.degrees(math.atan2(PAGE_HEIGHT, PAGE_WIDTH)))
    canvas.setFont(font, 110)
    canvas.drawCentredString(0, -40, status)
    canvas.restoreState()


def qr_svg(url: str, *, label: str = "电子证照核验二维码") -> SafeString:
    """The verification QR code (segno, error level M as on the PDF) as an inline SVG image
    with an accessible name; it scales with its CSS width."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr-code", dark="#000", light="#fff"
    )
    named = f'<svg role="img" aria-label="{html_escape(label)}" '
    # segno's own markup, holding only the QR modules; the label is escaped.
    return mark_safe(svg.replace("<svg ", named, 1))
