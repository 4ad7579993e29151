"""Seed the national working-day calendar 2004–2026 from the chinesecalendar package.

Only exceptions to Monday–Friday are stored. Later years are loaded as data
(`manage.py load_calendar`), never by changing code."""

import datetime as dt

from django.db import migrations

FIRST_YEAR, LAST_YEAR = 2004, 2026
SOURCE = "chinesecalendar 1.11.0（国务院办公厅节假日安排通知）"

FESTIVALS = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}


def seed(apps, schema_editor):
    import chinese_calendar

    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    rows = []
    day, last = dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)
    while day <= last:
        working = chinese_calendar.is_workday(day)
        if working != (day.weekday() < 5):
            _, name = chinese_calendar.get_holiday_detail(day)
            label = FESTIVALS.get(name or "", name or "") + ("调休上班" if working else "")
            rows.append(CalendarDay(date=day, province=None, is_working_day=working,
                                    name=label))
        day += dt.timedelta(days=1)
    CalendarDay.objects.bulk_create(rows, batch_size=500)
    CalendarYear.objects.bulk_create(
        CalendarYear(year=year, province=None, source=SOURCE)
        for year in range(FIRST_YEAR, LAST_YEAR + 1)
    )


def unseed(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.filter(
        province=None, date__year__lte=LAST_YEAR).delete()
    apps.get_model("core", "CalendarYear").objects.filter(
        province=None, year__lte=LAST_YEAR).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_seed_divisions")]
    operations = [migrations.RunPython(seed, unseed)]
