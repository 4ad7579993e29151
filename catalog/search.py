"""Chinese search over the catalog: jieba words, full pinyin and pinyin initials.

A document is the space-separated tokens of an item's current name, keywords, themes,
owner and codes, plus the pinyin of each word and its initials (so `hkqy` finds 户口迁移).
SQLite indexes it with FTS5, PostgreSQL with a `simple` tsvector (migration 0003); a query
matches when every query token is a prefix of some document token. One-character queries
fall back to a substring match, since a single character is rarely a jieba word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import jieba
from django.db import connection
from pypinyin import Style, lazy_pinyin

from catalog.models import ItemSearchEntry, ItemVersion

_TOKEN = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\U00020000-\U0002ffff]+", re.IGNORECASE)
_MAX_QUERY_TOKENS = 8

jieba.setLogLevel(60)


def _words(text: str) -> list[str]:
    return [w.strip().lower() for w in jieba.cut_for_search(text) if _TOKEN.fullmatch(w.strip())]


def _pinyin_forms(word: str) -> tuple[str, str]:
    syllables = lazy_pinyin(word, errors="ignore")
    initials = lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(syllables).lower(), "".join(initials).lower()


def build_document(version: ItemVersion, *, extra: Iterable[str] = ()) -> str:
    """The search document of an item version (see the module docstring)."""
    texts = [
        version.name,
        version.keywords,
        version.item.organisation.name,
        *(t.name for t in version.themes.all()),
        *extra,
    ]
    tokens: list[str] = []
    for text in texts:
        if not text:
            continue
        words = _words(text)
        tokens.extend(words)
        # The whole phrase's pinyin lets `hkqy` match 户口迁移 even if jieba splits it.
        for word in [*words, re.sub(r"\W", "", text)]:
            if re.search(r"[\u3400-\u9fff]", word):
                full, initials = _pinyin_forms(word)
                tokens.extend(t for t in (full, initials) if t)
    item = version.item
    tokens.extend(
        c.lower()
        for c in (item.code, item.basic_code, item.implementation_code, item.handling_code)
        if c
    )
    seen: dict[str, None] = {}
    for token in tokens:
        seen.setdefault(token, None)
    return " ".join(seen)


def query_tokens(query: str) -> list[str]:
    """The tokens a query must all match: jieba words of Chinese runs, latin runs as typed."""
    tokens: list[str] = []
    for run in _TOKEN.findall(query.lower()):
        if re.fullmatch(r"[0-9a-z]+", run):
            tokens.append(run)
        else:
            words = [w for w in jieba.cut(run) if w.strip()]
            tokens.extend(words or [run])
    unique = list(dict.fromkeys(tokens))
    return unique[:_MAX_QUERY_TOKENS]


def search_item_ids(query: str) -> list[int] | None:
    """Ids of items whose search document matches `query`, best first.

    Returns None when the query has nothing to search for (the caller lists everything)."""
    tokens = query_tokens(query)
    if not tokens:
        return None
    if all(len(t) == 1 for t in tokens):
        qs = ItemSearchEntry.objects.all()
        for token in tokens:
            qs = qs.filter(document__contains=token)
        return list(qs.values_list("item_id", flat=True))
    if connection.vendor == "sqlite":
        match = " AND ".join('"' + t.replace('"', "") + '"*' for t in tokens)
        sql = "SELECT rowid FROM catalog_search_fts WHERE catalog_search_fts MATCH %s ORDER BY rank"
        params: list[str] = [match]
    else:
        tsquery = " & ".join(re.sub(r"[^\w]", "", t) + ":*" for t in tokens)
        sql = (
            "SELECT item_id FROM catalog_itemsearchentry "
            "WHERE to_tsvector('simple', document) @@ to_tsquery('simple', %s) "
            "ORDER BY ts_rank(to_tsvector('simple', document), "
            "to_tsquery('simple', %s)) DESC"
        )
        params = [tsquery, tsquery]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
