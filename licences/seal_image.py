"""The picture of an electronic seal (电子印章): a red round seal drawn from the organisation's
name, the way official seals are cut — never a stock image.

A red ring; a five-pointed star in the centre; the organisation's name set along the upper
arc, each character upright towards the rim and turned to follow the circle; the seal's
purpose (电子印章, 专用章 …) set straight below the star. `seal_geometry` lays all of it out
once, in a unit circle; `seal_svg` (pages) and `draw_seal` (PDF, on a ReportLab canvas)
only scale and paint that layout, so the two pictures always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

SEAL_RED = "#d9001b"
DEFAULT_LABEL = "电子印章"

# The layout, in units of the seal's radius (the ring's outer edge is at 1).
RING_RADIUS = 0.95  # centre line of the ring
RING_WIDTH = 0.07
TEXT_TOP = 0.86  # the tops of the name's characters stay inside the ring
NAME_HEIGHT = 0.30  # largest character height, for short names
NAME_MIN_SCALE = 0.62  # narrowest a character may be squeezed before it is made smaller
MAX_SPAN = 250.0  # degrees of arc the longest names use
STAR_RADIUS = 0.31
STAR_CENTRE_Y = 0.03
LABEL_CENTRE_Y = -0.47
LABEL_HEIGHT = 0.17
LABEL_MAX_WIDTH = 0.80
# An ideograph's visual centre sits this far above its baseline, in ems: the ideographic em
# box runs from -0.12 em to 0.88 em in CJK fonts (BabelStone Han, Noto CJK, SimSun alike).
IDEOGRAPH_CENTRE = 0.38


@dataclass(frozen=True)
class Glyph:
    """One character of the name: where its baseline's midpoint lies, how far it is turned
    (degrees, counter-clockwise, 0 = upright), its height in ems and horizontal squeeze."""

    char: str
    x: float
    y: float
    rotation: float
    size: float
    scale_x: float


@dataclass(frozen=True)
class Label:
    """The horizontal line below the star, anchored at its baseline's midpoint."""

    text: str
    x: float
    y: float
    size: float
    scale_x: float


@dataclass(frozen=True)
class SealGeometry:
    """Everything to paint, in a unit circle centred on the origin with y pointing up."""

    ring_radius: float
    ring_width: float
    star: tuple[tuple[float, float], ...]
    name: tuple[Glyph, ...]
    label: Label | None


def seal_geometry(name: str, label: str = DEFAULT_LABEL) -> SealGeometry:
    """Lay out a seal for `name` (4–20 characters fit comfortably; longer names get smaller
    characters) with `label` below the star (empty for none)."""
    chars = list("".join(name.split()))
    if not chars:
        raise ValueError("seal name must not be empty")
    return SealGeometry(
        ring_radius=RING_RADIUS,
        ring_width=RING_WIDTH,
        star=_star(0.0, STAR_CENTRE_Y, STAR_RADIUS),
        name=_arc(chars),
        label=_label(label.strip()) if label.strip() else None,
    )


def _arc(chars: list[str]) -> tuple[Glyph, ...]:
    count = len(chars)
    # Short names spread out over a shorter arc, long names over most of the circle; the
    # arc stays symmetric about the top, so the name reads left to right, clockwise.
    span = math.radians(min(MAX_SPAN, 90.0 + 16.0 * count))
    pitch = span / count
    height = NAME_HEIGHT
    width = height
    for _ in range(4):  # the radius depends on the height and the width on the radius
        centre_radius = TEXT_TOP - height / 2
        room = 2 * centre_radius * math.sin(pitch / 2) * 0.9  # chord, with a small gap
        width = min(height, room)
        if width < NAME_MIN_SCALE * height:
            height = width / NAME_MIN_SCALE
    centre_radius = TEXT_TOP - height / 2
    baseline_radius = centre_radius - IDEOGRAPH_CENTRE * height
    glyphs = []
    for index, char in enumerate(chars):
        angle = math.pi / 2 + span / 2 - pitch * (index + 0.5)
        glyphs.append(
            Glyph(
                char=char,
                x=baseline_radius * math.cos(angle),
                y=baseline_radius * math.sin(angle),
                rotation=math.degrees(angle) - 90.0,
                size=height,
                scale_x=width / height,
            )
        )
    return tuple(glyphs)


def _label(text: str) -> Label:
    natural = len(text) * LABEL_HEIGHT
    scale_x = 1.0 if natural <= LABEL_MAX_WIDTH else max(0.7, LABEL_MAX_WIDTH / natural)
    size = min(LABEL_HEIGHT, LABEL_MAX_WIDTH / (len(text) * scale_x))
    return Label(
        text=text,
        x=0.0,
        y=LABEL_CENTRE_Y - IDEOGRAPH_CENTRE * size,
        size=size,
        scale_x=scale_x,
    )


def _star(cx: float, cy: float, radius: float) -> tuple[tuple[float, float], ...]:
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else inner
        angle = math.radians(90 + 36 * k)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return tuple(points)


def label_for(seal_name: str, organisation_name: str) -> str:
    """The line below the star: what the seal's name adds to the organisation's name
    (大连市公安局户籍专用章 → 户籍专用章), or 电子印章."""
    rest = seal_name.removeprefix(organisation_name).strip()
    return rest if rest and rest != seal_name and len(rest) <= 10 else DEFAULT_LABEL


# SVG, for pages --------------------------------------------------------------------------------

SVG_FONTS = (
    "'Noto Serif CJK SC','Source Han Serif SC','Songti SC','SimSun','STSong',"
    "'BabelStone Han','Noto Sans CJK SC',serif"
)


def seal_svg(name: str, label: str = DEFAULT_LABEL, *, size: int = 160) -> str:
    """The seal as an inline SVG image `size` pixels wide, named for assistive technology."""
    geometry = seal_geometry(name, label)
    r = 100.0  # the viewBox is 200 × 200 with the centre at (100, 100)

    def pt(x: float, y: float) -> str:
        return f"{100 + x * r:.2f} {100 - y * r:.2f}"

    description = f"{name}{label}" if label.strip() else name
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="{size}" '
        f'height="{size}" role="img" aria-label={quoteattr(description)} class="seal">',
        f"<title>{escape(description)}</title>",
        f'<g fill="{SEAL_RED}" stroke="{SEAL_RED}">',
        f'<circle cx="100" cy="100" r="{geometry.ring_radius * r:.2f}" fill="none" '
        f'stroke-width="{geometry.ring_width * r:.2f}"/>',
        f'<path stroke="none" d="M {" L ".join(pt(x, y) for x, y in geometry.star)} Z"/>',
        f'<g font-family="{SVG_FONTS}" text-anchor="middle" stroke-width="0.8">',
    ]
    for glyph in geometry.name:
        parts.append(
            f'<text font-size="{glyph.size * r:.2f}" transform="translate({pt(glyph.x, glyph.y)}) '
            f'rotate({-glyph.rotation:.2f}) scale({glyph.scale_x:.3f} 1)">{escape(glyph.char)}</text>'
        )
    if geometry.label is not None:
        line = geometry.label
        parts.append(
            f'<text font-size="{line.size * r:.2f}" transform="translate({pt(line.x, line.y)}) '
            f'scale({line.scale_x:.3f} 1)">{escape(line.text)}</text>'
        )
    parts.append("</g></g></svg>")
    return "".join(parts)


# ReportLab, for the PDF ------------------------------------------------------------------------


def draw_seal(
    canvas: Canvas,
    name: str,
    label: str = DEFAULT_LABEL,
    *,
    x: float,
    y: float,
    diameter: float,
    font_name: str,
) -> None:
    """Paint the seal centred on (`x`, `y`) in points, `diameter` wide, with `font_name` (a
    registered TrueType font that has the name's characters). Ink is multiplied over what
    is beneath it, as a seal pressed on paper leaves the printed text readable."""
    geometry = seal_geometry(name, label)
    r = diameter / 2
    canvas.saveState()
    canvas.translate(x, y)
    canvas.setBlendMode("Multiply")
    canvas.setFillColor(SEAL_RED)
    canvas.setStrokeColor(SEAL_RED)
    canvas.setLineWidth(geometry.ring_width * r)
    canvas.circle(0, 0, geometry.ring_radius * r, stroke=1, fill=0)
    star = canvas.beginPath()
    first, *rest = geometry.star
    star.moveTo(first[0] * r, first[1] * r)
    for px, py in rest:
        star.lineTo(px * r, py * r)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)
    # Seal characters are cut bold; a hairline outline in the same red thickens the face.
    canvas.setLineWidth(0.008 * r)
    for glyph in geometry.name:
        _draw_text(
            canvas,
            glyph.char,
            glyph.x * r,
            glyph.y * r,
            glyph.rotation,
            glyph.size * r,
            glyph.scale_x,
            font_name,
        )
    if geometry.label is not None:
        line = geometry.label
        _draw_text(
            canvas, line.text, line.x * r, line.y * r, 0.0, line.size * r, line.scale_x, font_name
        )
    canvas.restoreState()


def _draw_text(
    canvas: Canvas,
    text: str,
    x: float,
    y: float,
    rotation: float,
    size: float,
    scale_x: float,
    font_name: str,
) -> None:
    canvas.saveState()
    canvas.translate(x, y)
    canvas.rotate(rotation)
    canvas.scale(scale_x, 1)
    content = canvas.beginText()
    content.setTextRenderMode(2)  # fill and stroke
    content.setFont(font_name, size)
    content.setTextOrigin(-canvas.stringWidth(text, font_name, size) / 2, 0)
    content.textOut(text)
    canvas.drawText(content)
    canvas.restoreState()
