from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("federation", "0003_encrypt_stored_bodies"),
    ]

    operations = [
        migrations.AddField(
            model_name="logentry",
            name="position",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, unique=True, verbose_name="链上序号"
            ),
        ),
        # The entries so far were appended one by one under the head's lock: their chain
        # order is their id order.
        migrations.RunSQL(
            "UPDATE federation_logentry SET position = id", reverse_sql=migrations.RunSQL.noop
        ),
    ]
