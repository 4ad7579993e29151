"""Full-text index over item search documents: FTS5 on SQLite, a `simple` tsvector GIN
index on PostgreSQL. Documents are pre-tokenised by jieba (space-separated), so both
engines only split on spaces."""

from django.db import migrations

SQLITE_UP = [
    """CREATE VIRTUAL TABLE catalog_search_fts USING fts5(
           document, content='catalog_itemsearchentry', content_rowid='item_id',
           tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER catalog_search_ai AFTER INSERT ON catalog_itemsearchentry BEGIN
           INSERT INTO catalog_search_fts(rowid, document) VALUES (new.item_id, new.document);
       END""",
    """CREATE TRIGGER catalog_search_ad AFTER DELETE ON catalog_itemsearchentry BEGIN
           INSERT INTO catalog_search_fts(catalog_search_fts, rowid, document)
           VALUES ('delete', old.item_id, old.document);
       END""",
    """CREATE TRIGGER catalog_search_au AFTER UPDATE ON catalog_itemsearchentry BEGIN
           INSERT INTO catalog_search_fts(catalog_search_fts, rowid, document)
           VALUES ('delete', old.item_id, old.document);
           INSERT INTO catalog_search_fts(rowid, document) VALUES (new.item_id, new.document);
       END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS catalog_search_au",
    "DROP TRIGGER IF EXISTS catalog_search_ad",
    "DROP TRIGGER IF EXISTS catalog_search_ai",
    "DROP TABLE IF EXISTS catalog_search_fts",
]
POSTGRES_UP = [
    """CREATE INDEX catalog_search_tsv ON catalog_itemsearchentry
           USING gin (to_tsvector('simple', document))""",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS catalog_search_tsv"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_seed_reference")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
