"""The first option set (GB/T 39734 annex: the content options per level, drawn from the
published indicators — 办事效率, 办事指南, 便捷度, 平台操作, 服务态度, 服务水平) and the
default rectification deadline (5 working days; reference §2, a local value)."""

import datetime as dt

from django.db import migrations

OPTIONS = {
    5: [
        ("efficient", "办事效率高"),
        ("convenient", "办事便捷、少跑腿"),
        ("guide_accurate", "办事指南准确清楚"),
        ("attitude_good", "服务态度热情"),
        ("professional", "服务专业规范"),
        ("platform_easy", "平台操作方便"),
    ],
    4: [
        ("efficient", "办事效率较高"),
        ("convenient", "办事比较便捷"),
        ("guide_accurate", "办事指南比较清楚"),
        ("attitude_good", "服务态度好"),
        ("platform_easy", "平台操作比较方便"),
    ],
    3: [
        ("acceptable", "总体可以，仍有改进空间"),
        ("speed_average", "办理速度一般"),
        ("guide_unclear", "办事指南说明不够清楚"),
        ("wait_long", "排队等候时间较长"),
    ],
    2: [
        ("slow", "办理时间长、效率低"),
        ("guide_inaccurate", "办事指南不准确、不完整"),
        ("repeat_visits", "多次跑动、反复提交材料"),
        ("attitude_poor", "服务态度不好"),
        ("platform_hard", "平台操作不便"),
        ("unclear_reply", "答复解释不清楚"),
    ],
    1: [
        ("overdue", "未按承诺时限办结"),
        ("slow", "办理时间长、效率低"),
        ("guide_inaccurate", "办事指南不准确、不完整"),
        ("repeat_visits", "多次跑动、反复提交材料"),
        ("attitude_poor", "服务态度恶劣、推诿刁难"),
        ("fee", "违规收费或索要好处"),
        ("platform_hard", "平台无法正常使用"),
    ],
}


def seed(apps, schema_editor):
    OptionSet = apps.get_model("ratings", "OptionSet")
    RatingOption = apps.get_model("ratings", "RatingOption")
    RectificationDeadline = apps.get_model("ratings", "RectificationDeadline")
    option_set = OptionSet.objects.create(
        version=1, effective_from=dt.date(2021, 1, 1), note="GB/T 39734-2020 首版"
    )
    RatingOption.objects.bulk_create(
        RatingOption(option_set=option_set, level=level, code=code, label=label, position=n)
        for level, rows in OPTIONS.items()
        for n, (code, label) in enumerate(rows)
    )
    RectificationDeadline.objects.create(province=None, working_days=5)


def unseed(apps, schema_editor):
    apps.get_model("ratings", "RatingOption").objects.all().delete()
    apps.get_model("ratings", "OptionSet").objects.all().delete()
    apps.get_model("ratings", "RectificationDeadline").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("ratings", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
