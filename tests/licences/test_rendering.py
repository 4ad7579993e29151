"""The licence PDF and the seal image: embedded CJK font with rare name characters, text a
reader can extract, a QR code that decodes to the verify URL, and a well-formed seal SVG.

The checks use poppler-utils (pdftotext, pdftoppm, pdffonts) and zbar-tools (zbarimg).
Without them the checks are skipped locally, and fail on CI (the CI variable is set)."""

import glob
import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings

from catalog.models import LicenceType
from core.actors import SystemActor
from licences import rendering, services
from licences.seal_image import (
    IDEOGRAPH_CENTRE,
    RING_RADIUS,
    RING_WIDTH,
    STAR_CENTRE_Y,
    STAR_RADIUS,
    label_for,
    seal_geometry,
    seal_svg,
)
from tests import builders

FACE = [
    {"name": "registered_address", "label": "户籍地址", "type": "address"},
    {"name": "birth_date", "label": "出生日期", "type": "date"},
    {"name": "issued_for", "label": "用途", "type": "text", "required": False},
]
ORGANISATION = "大连市公安局"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        package = "zbar-tools" if name == "zbarimg" else "poppler-utils"
        message = f"{name} is not installed (Debian package {package})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def licence():
    org = builders.organisation(ORGANISATION, "210200")
    licence_type = LicenceType.objects.create(
        code="11100000000013338W011", name="户籍证明", face_fields=FACE, valid_years=1
    )
    services.create_seal(org, actor=SystemActor("test"))
    person = builders.person("王𠮷")
    return services.issue_licence(
        licence_type=licence_type,
        holder=services.Holder.of_person(person),
        issuer=org,
        face_data={
            "registered_address": "辽宁省大连市中山区人民路1号",
            "birth_date": "1990-01-01",
            "issued_for": "异地就医备案",
        },
        case_number="LN-20261128-000001",
        actor=SystemActor("test"),
    )


@pytest.fixture
def pdf_file(licence, tmp_path):
    path = tmp_path / "licence.pdf"
    path.write_bytes(rendering.render_licence_pdf(licence))
    return path


def _text(pdf_file) -> str:
    result = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf_file), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_pdf_embeds_the_babelstone_font_and_only_embedded_fonts(pdf_file):
    data = pdf_file.read_bytes()
    assert data.startswith(b"%PDF-")
    assert re.search(rb"/BaseFont /[A-Z]{6}\+BabelStoneHan", data)
    assert b"/FontFile2" in data
    assert b"STSong" not in data and b"Helvetica" not in data
    listing = subprocess.run(
        [_tool("pdffonts"), str(pdf_file)], capture_output=True, text=True, check=True
    ).stdout
    fonts = listing.splitlines()[2:]
    assert fonts and all(" yes yes yes " in line for line in fonts), listing


def test_pdf_text_has_title_holder_with_rare_character_and_issuer(pdf_file, licence):
    text = _text(pdf_file)
    compact = re.sub(r"\s+", "", text)
    assert "户籍证明" in compact  # the title is letter-spaced
    assert "王𠮷" in text
    assert ORGANISATION in text
    assert licence.identifier in text and licence.number in text
    assert licence.holder_code_masked in text
    assert licence.holder_code not in compact  # the clear ID number is never printed
    assert "辽宁省大连市中山区人民路1号" in text
    assert "1990年1月1日" in text and "异地就医备案" in text
    for label in ("户籍地址", "出生日期", "用途", "有效期", "扫码核验"):
        assert label in compact
    assert f"{settings.PUBLIC_BASE_URL}/verify/" in text


def test_pdf_qr_code_decodes_to_the_verify_url(pdf_file, licence, tmp_path):
    subprocess.run(
        [_tool("pdftoppm"), "-png", "-r", "150", "-singlefile", str(pdf_file), str(tmp_path / "p")],
        check=True,
    )
    decoded = subprocess.run(
        [_tool("zbarimg"), "--raw", "-q", str(tmp_path / "p.png")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.strip().splitlines() == [
        f"{settings.PUBLIC_BASE_URL}/verify/?t={licence.token}"
    ]


def test_the_qr_code_is_vector_drawn_not_an_image(pdf_file):
    data = pdf_file.read_bytes()
    assert b"/Subtype /Image" not in data


def test_a_revoked_licence_says_so_on_its_face(licence, tmp_path):
    services.revoke_licence(licence, reason="决定被撤销", actor=SystemActor("test"))
    licence.refresh_from_db()
    path = tmp_path / "revoked.pdf"
    path.write_bytes(rendering.render_licence_pdf(licence))
    assert "电子证照（已撤销）" in re.sub(r"\s+", "", _text(path))


def test_a_long_face_continues_on_a_second_page(licence, tmp_path):
    licence.face_data = {**licence.face_data, "issued_for": "经营范围：" + "技术开发、" * 600}
    path = tmp_path / "long.pdf"
    path.write_bytes(rendering.render_licence_pdf(licence))
    text = _text(path)
    compact = re.sub(r"\s+", "", text)
    # Every character is there (a word may break across a page, so count characters).
    assert "第2页共3页" in compact and compact.count("技") == compact.count("开") == 600


def test_uming_is_the_fallback_when_babelstone_is_missing(licence, monkeypatch):
    if not list(glob.glob("/usr/share/fonts/**/uming.ttc", recursive=True)):
        message = "AR PL UMing is not installed (Debian package fonts-arphic-uming)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    rendering.cjk_font.cache_clear()
    monkeypatch.setattr(rendering, "FONT_CANDIDATES", rendering.FONT_CANDIDATES[1:])
    try:
        data = rendering.render_licence_pdf(licence)
    finally:
        rendering.cjk_font.cache_clear()
    assert re.search(rb"/BaseFont /[A-Z]{6}\+UMingCN", data)
    assert b"BabelStone" not in data


def test_missing_font_is_a_clear_error(monkeypatch):
    rendering.cjk_font.cache_clear()
    monkeypatch.setattr(rendering, "FONT_DIRECTORIES", ("/nonexistent",))
    try:
        with pytest.raises(rendering.FontMissing, match="fonts-babelstone-han"):
            rendering.cjk_font()
    finally:
        rendering.cjk_font.cache_clear()


# The seal image ----------------------------------------------------------------------------


def test_seal_svg_is_valid_xml_with_every_character_and_a_name():
    svg = seal_svg(ORGANISATION, "电子印章")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    assert root.get("aria-label") == "大连市公安局电子印章"
    assert root.find(f"{ns}title").text == "大连市公安局电子印章"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts[: len(ORGANISATION)] == list(ORGANISATION)
    assert texts[-1] == "电子印章"
    assert root.find(f".//{ns}circle") is not None and root.find(f".//{ns}path") is not None


def test_seal_svg_escapes_markup_in_names():
    root = ET.fromstring(seal_svg("A&B<研究所>", "专用章"))
    assert "A&B<研究所>" in root.get("aria-label")


def _centre(glyph):
    """The centre of a name character's box: above its baseline, towards the rim."""
    radius = math.hypot(glyph.x, glyph.y) + IDEOGRAPH_CENTRE * glyph.size
    angle = math.radians(glyph.rotation + 90)
    return radius, radius * math.cos(angle), radius * math.sin(angle)


@pytest.mark.parametrize("length", range(4, 21))
def test_names_of_4_to_20_characters_fit_inside_the_ring(length):
    name = "辽宁省大连市中山区人力资源和社会保障局办"[:length]
    geometry = seal_geometry(name, "电子印章")
    assert len(geometry.name) == length
    inner_edge = RING_RADIUS - RING_WIDTH / 2
    label = geometry.label
    assert label is not None
    label_half_width = len(label.text) * label.size * label.scale_x / 2
    label_centre_y = label.y + IDEOGRAPH_CENTRE * label.size
    for glyph in geometry.name:
        half_width, half_height = glyph.size * glyph.scale_x / 2, glyph.size / 2
        radius, cx, cy = _centre(glyph)
        # Every corner of the character's box stays inside the ring ...
        assert math.hypot(radius + half_height, half_width) < inner_edge
        # ... and clear of the star and of the label line below it.
        assert radius - half_height > STAR_RADIUS + abs(STAR_CENTRE_Y)
        reach = math.hypot(half_width, half_height)
        assert (
            abs(cx) - reach > label_half_width or abs(cy - label_centre_y) - reach > label.size / 2
        )
    for a, b in zip(geometry.name, geometry.name[1:], strict=False):
        # Neighbours do not overlap: their centres are further apart than a character is wide.
        (_, ax, ay), (_, bx, by) = _centre(a), _centre(b)
        assert math.hypot(ax - bx, ay - by) > a.size * a.scale_x
    # The name reads left to right, clockwise over the top, symmetric about the vertical.
    assert geometry.name[0].x < 0 < geometry.name[-1].x
    assert math.isclose(geometry.name[0].rotation, -geometry.name[-1].rotation)


def test_seal_label_comes_from_the_seal_name():
    assert label_for("大连市公安局户籍专用章", "大连市公安局") == "户籍专用章"
    assert label_for("大连市公安局电子印章", "大连市公安局") == "电子印章"
    assert label_for("公章", "大连市公安局") == "电子印章"
    with pytest.raises(ValueError):
        seal_geometry("  ")
