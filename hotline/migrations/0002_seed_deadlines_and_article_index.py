"""The national default deadline table (reference/cn-standards.md §3: consultation 3
working days, help and suggestion 7, complaint and report 15; 接诉即办 tickets 24 hours)
— a province adds its own rows — and the full-text index of the knowledge articles,
built like the catalog's (catalog.search.FullTextIndex)."""

from django.db import migrations

DEFAULTS = {"consultation": 3, "help": 7, "suggestion": 7, "complaint": 15, "report": 15}
URGENT_HOURS = 24


def seed(apps, schema_editor):
    rule = apps.get_model("hotline", "DeadlineRule")
    for ticket_type, days in DEFAULTS.items():
        rule.objects.get_or_create(
            province=None,
            ticket_type=ticket_type,
            urgent=False,
            defaults={"amount": days, "unit": "working_days"},
        )
        rule.objects.get_or_create(
            province=None,
            ticket_type=ticket_type,
            urgent=True,
            defaults={"amount": URGENT_HOURS, "unit": "hours"},
        )


def unseed(apps, schema_editor):
    apps.get_model("hotline", "DeadlineRule").objects.filter(province=None).delete()


def _index(direction):
    def run(apps, schema_editor):
        from hotline.knowledge import ARTICLE_INDEX

        statements = ARTICLE_INDEX.index_sql().get(schema_editor.connection.vendor)
        for statement in (statements or ([], []))[direction]:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]
    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunPython(_index(0), _index(1)),
    ]
