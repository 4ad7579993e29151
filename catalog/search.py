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
from dataclasses import dataclass

import jieba
from django.db import connection
from pypinyin import Style, lazy_pinyin

from catalog.models import ItemVersion

_TOKEN = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\U00020000-\U0002ffff]+", re.IGNORECASE)
_MAX_QUERY_TOKENS = 8

jieba.setLogLevel(60)


def _words(text: str) -> list[str]:
    return [w.strip().lower() for w in jieba.cut_for_search(text) if _TOKEN.fullmatch(w.strip())]


def _pinyin_forms(word: str) -> tuple[str, str]:
    syllables = lazy_pinyin(word, errors="ignore")
    initials = lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(syllables).lower(), "".join(initials).lower()


def text_tokens(texts: Iterable[str]) -> list[str]:
    """The search tokens of some texts: jieba words, and the full pinyin and initials of
    each Chinese word and of each whole text (so `hkqy` matches 户口迁移 even if jieba
    splits it). Any searchable thing builds its document from these (items here, the
    hotline's knowledge articles)."""
    tokens: list[str] = []
    for text in texts:
        if not text:
            continue
        words = _words(text)
        tokens.extend(words)
        for word in [*words, re.sub(r"\W", "", text)]:
            if re.search(r"[\u3400-\u9fff]", word):
                full, initials = _pinyin_forms(word)
                tokens.extend(t for t in (full, initials) if t)
    return tokens


def document_of(tokens: Iterable[str]) -> str:
    """Tokens as a stored document: each once, in first-seen order, space-separated."""
    return " ".join(dict.fromkeys(tokens))


def build_document(version: ItemVersion, *, extra: Iterable[str] = ()) -> str:
    """The search document of an item version (see the module docstring)."""
    texts = [
        version.name,
        version.keywords,
        version.item.organisation.name,
        *(t.name for t in version.themes.all()),
        *extra,
    ]
    item = version.item
    codes = (item.code, item.basic_code, item.implementation_code, item.handling_code)
    return document_of([*text_tokens(texts), *(c.lower() for c in codes if c)])


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


@dataclass(frozen=True)
class FullTextIndex:
    """A table of pre-tokenised documents (`key`, `document`), indexed by an FTS5 table
    `fts` on SQLite (external content, kept in sync by triggers) and a GIN index on
    `to_tsvector('simple', document)` on PostgreSQL; `index_sql` makes both."""

    table: str
    fts: str
    key: str

    def search(self, query: str) -> list[int] | None:
        """Keys of the rows matching `query` (every query token a prefix of a document
        token), best first; None when the query has nothing to search for."""
        tokens = query_tokens(query)
        if not tokens:
            return None
        if all(len(t) == 1 for t in tokens):
            # Tokens are letters, digits or CJK only (_TOKEN): nothing to escape in LIKE.
            where = " AND ".join("document LIKE %s" for _ in tokens)
            sql = f"SELECT {self.key} FROM {self.table} WHERE {where}"
            params: list[str] = [f"%{t}%" for t in tokens]
        elif connection.vendor == "sqlite":
            match = " AND ".join('"' + t.replace('"', "") + '"*' for t in tokens)
            sql = f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s ORDER BY rank"
            params = [match]
        else:
            tsquery = " & ".join(re.sub(r"[^\w]", "", t) + ":*" for t in tokens)
            sql = (
                f"SELECT {self.key} FROM {self.table} "
                "WHERE to_tsvector('simple', document) @@ to_tsquery('simple', %s) "
                "ORDER BY ts_rank(to_tsvector('simple', document), "
                "to_tsquery('simple', %s)) DESC"
            )
            params = [tsquery, tsquery]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def index_sql(self) -> dict[str, tuple[list[str], list[str]]]:
        """The statements that create and drop the index, per database vendor (for a
        migration of the app that owns the table)."""
        t, f, k = self.table, self.fts, self.key
        sqlite_up = [
            f"""CREATE VIRTUAL TABLE {f} USING fts5(
                   document, content='{t}', content_rowid='{k}',
                   tokenize='unicode61 remove_diacritics 0')""",
            f"""CREATE TRIGGER {f}_ai AFTER INSERT ON {t} BEGIN
                   INSERT INTO {f}(rowid, document) VALUES (new.{k}, new.document);
               END""",
            f"""CREATE TRIGGER {f}_ad AFTER DELETE ON {t} BEGIN
                   INSERT INTO {f}({f}, rowid, document) VALUES ('delete', old.{k}, old.document);
               END""",
            f"""CREATE TRIGGER {f}_au AFTER UPDATE ON {t} BEGIN
                   INSERT INTO {f}({f}, rowid, document) VALUES ('delete', old.{k}, old.document);
                   INSERT INTO {f}(rowid, document) VALUES (new.{k}, new.document);
               END""",
        ]
        sqlite_down = [
            f"DROP TRIGGER IF EXISTS {f}_au",
            f"DROP TRIGGER IF EXISTS {f}_ad",
            f"DROP TRIGGER IF EXISTS {f}_ai",
            f"DROP TABLE IF EXISTS {f}",
        ]
        postgres_up = [f"CREATE INDEX {f}_tsv ON {t} USING gin (to_tsvector('simple', document))"]
        postgres_down = [f"DROP INDEX IF EXISTS {f}_tsv"]
        return {"sqlite": (sqlite_up, sqlite_down), "postgresql": (postgres_up, postgres_down)}


# Items: the table and FTS5 table of migration 0003.
ITEM_INDEX = FullTextIndex("catalog_itemsearchentry", "catalog_search_fts", "item_id")


def search_item_ids(query: str) -> list[int] | None:
    """Ids of items whose search document matches `query`, best first.

    Returns None when the query has nothing to search for (the caller lists everything)."""
    return ITEM_INDEX.search(query)
