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
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F, FloatField, Func
from django.db.models.expressions import Col
from django.db.models.sql.compiler import SQLCompiler
from pypinyin import Style, lazy_pinyin

from catalog.models import ItemVersion

_TOKEN = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\U00020000-\U0002ffff]+", re.IGNORECASE)
_MAX_QUERY_TOKENS = 8

jieba.setLogLevel(60)


def load_dictionary() -> None:
    """Load jieba's dictionary now rather than on the first search: about 2 s of a busy
    core, which a web process spends while it starts (tongban/wsgi.py), not while a
    citizen waits for their first search (decision 151)."""
    jieba.initialize()


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


def _tsquery(tokens: list[str]) -> str:
    return " & ".join(re.sub(r"[^\w]", "", t) + ":*" for t in tokens)


def _fts5_match(tokens: list[str]) -> str:
    return " AND ".join('"' + t.replace('"', "") + '"*' for t in tokens)


def _substring_only(tokens: list[str]) -> bool:
    return all(len(t) == 1 for t in tokens)


def _vector(
    index: FullTextIndex,
    document: Expression,
    compiler: SQLCompiler,
    connection: BaseDatabaseWrapper,
) -> tuple[str, list[object]]:
    """The document's tsvector on PostgreSQL: the stored column beside the document when
    the index has one (no re-tokenising per row to rank it), else the indexed expression."""
    if index.vector_column and isinstance(document, Col):
        table = compiler.quote_name_unless_alias(document.alias)
        return f"{table}.{connection.ops.quote_name(index.vector_column)}", []
    doc_sql, doc_params = compiler.compile(document)
    return f"to_tsvector('simple', {doc_sql})", list(doc_params)


class _Matches(Func):
    """True when the row's document matches the tokens, in the index's own terms: on
    PostgreSQL the GIN-indexed `to_tsvector('simple', document) @@ to_tsquery(…)`, on
    SQLite a key lookup in the FTS5 table, for one-character tokens a substring match."""

    output_field = BooleanField()

    def __init__(
        self,
        document: Expression | F,
        key: Expression | F,
        *,
        index: FullTextIndex,
        tokens: list[str],
    ) -> None:
        super().__init__(document, key)
        self.index, self.tokens = index, tokens

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: object
    ) -> tuple[str, list[object]]:
        document, key = self.source_expressions
        doc_sql, doc_params = compiler.compile(document)
        if _substring_only(self.tokens):
            # Tokens are letters, digits or CJK only (_TOKEN): nothing to escape in LIKE.
            sql = " AND ".join(f"{doc_sql} LIKE %s" for _ in self.tokens)
            params: list[object] = []
            for t in self.tokens:
                params += [*doc_params, f"%{t}%"]
            return f"({sql})", params
        if connection.vendor == "sqlite":
            key_sql, key_params = compiler.compile(key)
            fts = self.index.fts
            return (
                f"{key_sql} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH %s)",
                [*key_params, _fts5_match(self.tokens)],
            )
        vector_sql, vector_params = _vector(self.index, document, compiler, connection)
        return f"{vector_sql} @@ to_tsquery('simple', %s)", [*vector_params, _tsquery(self.tokens)]


class _Rank(Func):
    """How well the row's document matches the tokens, smaller is better (so that it
    sorts ascending like a code): minus `ts_rank` on PostgreSQL, FTS5's bm25 `rank` on
    SQLite. A substring match has no rank (`FullTextIndex.terms` gives none)."""

    output_field = FloatField()

    def __init__(
        self,
        document: Expression | F,
        key: Expression | F,
        *,
        index: FullTextIndex,
        tokens: list[str],
    ) -> None:
        super().__init__(document, key)
        self.index, self.tokens = index, tokens

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: object
    ) -> tuple[str, list[object]]:
        document, key = self.source_expressions
        if connection.vendor == "sqlite":
            key_sql, key_params = compiler.compile(key)
            fts = self.index.fts
            return (
                f"(SELECT rank FROM {fts} WHERE {fts} MATCH %s AND rowid = {key_sql})",
                [_fts5_match(self.tokens), *key_params],
            )
        vector_sql, vector_params = _vector(self.index, document, compiler, connection)
        return (
            f"-ts_rank({vector_sql}, to_tsquery('simple', %s))",
            [*vector_params, _tsquery(self.tokens)],
        )


@dataclass(frozen=True)
class SearchTerms:
    """A query's match and rank as expressions over a queryset that reaches the index
    table by `path` (e.g. `item__search_entry` from an item version), so that the database
    filters, ranks and limits in one statement: nothing is fetched to rank it in Python."""

    matches: Expression
    # None for a substring match (one-character tokens), which has no rank.
    rank: Expression | None


@dataclass(frozen=True)
class FullTextIndex:
    """A table of pre-tokenised documents (`key`, `document`), indexed by an FTS5 table
    `fts` on SQLite (external content, kept in sync by triggers) and a GIN index on
    `to_tsvector('simple', document)` on PostgreSQL; `index_sql` makes both."""

    table: str
    fts: str
    key: str
    # The key's name on the Django model, for the ORM expressions of `terms`.
    model_key: str = ""
    # On PostgreSQL, a stored generated tsvector column of the document with its own GIN
    # index (catalog migration 0010), so that ranking reads it instead of re-tokenising
    # every matching document; "" for the expression index of `index_sql`.
    vector_column: str = ""

    def terms(self, query: str, path: str) -> SearchTerms | None:
        """The match and rank of `query` over the index rows reached by `path` (a
        relation from the queried model to this table, or "" on the table's own model);
        None when the query has nothing to search for."""
        tokens = query_tokens(query)
        if not tokens:
            return None
        prefix = f"{path}__" if path else ""
        document, key = F(f"{prefix}document"), F(f"{prefix}{self.model_key}")
        return SearchTerms(
            matches=_Matches(document, key, index=self, tokens=tokens),
            rank=None
            if _substring_only(tokens)
            else _Rank(document, key, index=self, tokens=tokens),
        )

    def search(self, query: str) -> list[int] | None:
        """Keys of the rows matching `query` (every query token a prefix of a document
        token), best first; None when the query has nothing to search for."""
        tokens = query_tokens(query)
        if not tokens:
            return None
        if _substring_only(tokens):
            # Tokens are letters, digits or CJK only (_TOKEN): nothing to escape in LIKE.
            where = " AND ".join("document LIKE %s" for _ in tokens)
            sql = f"SELECT {self.key} FROM {self.table} WHERE {where}"
            params: list[str] = [f"%{t}%" for t in tokens]
        elif connection.vendor == "sqlite":
            match = _fts5_match(tokens)
            sql = f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s ORDER BY rank"
            params = [match]
        else:
            tsquery = _tsquery(tokens)
            vector = self.vector_column or "to_tsvector('simple', document)"
            sql = (
                f"SELECT {self.key} FROM {self.table} "
                f"WHERE {vector} @@ to_tsquery('simple', %s) "
                f"ORDER BY ts_rank({vector}, to_tsquery('simple', %s)) DESC"
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


# Items: the table and FTS5 table of migration 0003, the vector column of 0010.
ITEM_INDEX = FullTextIndex(
    "catalog_itemsearchentry",
    "catalog_search_fts",
    "item_id",
    model_key="item_id",
    vector_column="search_vector",
)


def search_item_ids(query: str) -> list[int] | None:
    """Ids of items whose search document matches `query`, best first.

    Returns None when the query has nothing to search for (the caller lists everything)."""
    return ITEM_INDEX.search(query)


def item_search_terms(query: str, *, path: str = "item__search_entry") -> SearchTerms | None:
    """The match and rank of `query` over item versions, through the item's search entry
    (or, with `path="search_entry"`, the entry of which the version is the one in force);
    None when the query has nothing to search for."""
    return ITEM_INDEX.terms(query, path)
