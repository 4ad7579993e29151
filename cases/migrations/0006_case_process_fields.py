"""Cases take their state, clock and outcome fields from core.models.ProcessFields: the
clock's start day is `started_on` (for a case, the day it was accepted), hour limits get
`started_at` / `due_at`, and a case records how it ended (`outcome`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_foreign_licence_material"),
    ]

    operations = [
        migrations.RenameField(model_name="case", old_name="accepted_on", new_name="started_on"),
        migrations.AlterField(
            model_name="case",
            name="started_on",
            field=models.DateField(blank=True, null=True, verbose_name="计时起算日"),
        ),
        migrations.AddField(
            model_name="case",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="计时起算时间"),
        ),
        migrations.AddField(
            model_name="case",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="办结时刻（按小时计时）"),
        ),
        migrations.AddField(
            model_name="case",
            name="outcome",
            field=models.CharField(blank=True, default="", max_length=24, verbose_name="办理结论"),
        ),
        migrations.AlterField(
            model_name="case",
            name="paused_days",
            field=models.PositiveIntegerField(default=0, verbose_name="累计暂停（按时限单位）"),
        ),
        migrations.RemoveConstraint(model_name="workflowdefinition", name="workflow_version_once"),
        migrations.AddConstraint(
            model_name="workflowdefinition",
            constraint=models.UniqueConstraint(
                fields=("code", "version"), name="cases_workflowdefinition_version_once"
            ),
        ),
    ]
