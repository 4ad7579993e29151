"""Encrypt log bodies stored in clear before 0002 (the field encrypts new ones)."""

from django.db import migrations


def encrypt_clear_bodies(apps, schema_editor):
    from core.personal_data import encrypt

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, body FROM federation_logentry")
        rows = [(pk, body) for pk, body in cursor.fetchall() if not body.startswith("v1:")]
        for pk, body in rows:
            cursor.execute(
                "UPDATE federation_logentry SET body = %s WHERE id = %s", [encrypt(body), pk]
            )


class Migration(migrations.Migration):
    dependencies = [("federation", "0002_encrypt_log_body")]

    operations = [migrations.RunPython(encrypt_clear_bodies, migrations.RunPython.noop)]
