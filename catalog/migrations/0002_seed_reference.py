"""Seed the catalog's reference data: browsing themes and the national item categories."""

from django.db import migrations

THEMES = [
    ("startup", "创业"), ("education", "教育"), ("employment", "就业"),
    ("social_security", "社保"), ("medical", "医疗"), ("elderly_care", "养老"),
    ("housing", "居住"), ("marriage_birth", "婚育"), ("travel", "出行"),
    ("household", "户籍"), ("business", "企业经营"), ("certification", "证明公证"),
]

# 事项类型 codes of the national data set (reference/cn-standards.md §5.1).
CATEGORIES = [
    ("01", "行政许可"), ("02", "行政处罚"), ("03", "行政强制"), ("04", "行政征收"),
    ("05", "行政给付"), ("06", "行政检查"), ("07", "行政确认"), ("08", "行政奖励"),
    ("09", "行政裁决"), ("10", "其他行政权力"), ("20", "公共服务"),
]


def seed(apps, schema_editor):
    Theme = apps.get_model("catalog", "Theme")
    ItemCategory = apps.get_model("catalog", "ItemCategory")
    for position, (code, name) in enumerate(THEMES, start=1):
        Theme.objects.update_or_create(code=code, defaults={"name": name, "position": position})
    for code, name in CATEGORIES:
        ItemCategory.objects.update_or_create(system="national", code=code,
                                              defaults={"name": name})


def unseed(apps, schema_editor):
    apps.get_model("catalog", "Theme").objects.all().delete()
    apps.get_model("catalog", "ItemCategory").objects.filter(system="national").delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
