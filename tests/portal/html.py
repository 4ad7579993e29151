"""Reading rendered pages in tests: their text, and the structure accessibility needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_BLOCK = {"p", "div", "li", "tr", "td", "th", "dt", "dd", "h1", "h2", "h3", "caption", "br"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._skip += 1
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text(html: str | bytes) -> str:
    """The visible text of a page, whitespace collapsed, cells separated by one space."""
    parser = _TextParser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


@dataclass
class Structure:
    """What a page is made of, for the accessibility checks that need no browser."""

    lang: str | None = None
    title: str = ""
    tags: dict[str, int] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    label_for: set[str] = field(default_factory=set)
    controls: list[dict[str, str | None]] = field(default_factory=list)
    th_without_scope: int = 0
    tables: int = 0
    captions: int = 0
    links: list[dict[str, str | None]] = field(default_factory=list)


class _StructureParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.s = Structure()
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.s.tags[tag] = self.s.tags.get(tag, 0) + 1
        if a.get("id"):
            self.s.ids.add(a["id"] or "")
        if tag == "html":
            self.s.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "label" and a.get("for"):
            self.s.label_for.add(a["for"] or "")
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.s.controls.append(a)
        elif tag == "th" and not a.get("scope"):
            self.s.th_without_scope += 1
        elif tag == "table":
            self.s.tables += 1
        elif tag == "caption":
            self.s.captions += 1
        elif tag == "a":
            self.s.links.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.s.title += data


def structure(html: str | bytes) -> Structure:
    parser = _StructureParser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    return parser.s


def assert_accessible_structure(html: str | bytes) -> Structure:
    """The checks of WCAG 2.1 AA that the markup alone decides (the browser test runs axe)."""
    s = structure(html)
    assert s.lang == "zh-CN"
    assert s.tags.get("h1") == 1, "exactly one h1 per page"
    for landmark in ("header", "nav", "main", "footer"):
        assert s.tags.get(landmark), f"missing <{landmark}>"
    assert "main" in s.ids
    assert any(link.get("href") == "#main" for link in s.links), "skip link"
    assert s.title.strip() and "辽宁省政务服务通办平台" in s.title
    for control in s.controls:
        assert control.get("id") in s.label_for, f"control without a <label for>: {control}"
    assert s.th_without_scope == 0, "every <th> has a scope"
    assert s.tables == s.captions, "every table has a caption"
    return s
