"""Seed the divisions of the 东北三省一区 members: provinces and prefecture-level units
(GB/T 2260), plus 沈抚示范区 as a functional zone with a platform-local code."""

from django.db import migrations

PROVINCES = [
    ("210000", "辽宁省"),
    ("220000", "吉林省"),
    ("230000", "黑龙江省"),
    ("150000", "内蒙古自治区"),
]

PREFECTURES = {
    "210000": [
        ("210100", "沈阳市"), ("210200", "大连市"), ("210300", "鞍山市"), ("210400", "抚顺市"),
        ("210500", "本溪市"), ("210600", "丹东市"), ("210700", "锦州市"), ("210800", "营口市"),
        ("210900", "阜新市"), ("211000", "辽阳市"), ("211100", "盘锦市"), ("211200", "铁岭市"),
        ("211300", "朝阳市"), ("211400", "葫芦岛市"),
    ],
    "220000": [
        ("220100", "长春市"), ("220200", "吉林市"), ("220300", "四平市"), ("220400", "辽源市"),
        ("220500", "通化市"), ("220600", "白山市"), ("220700", "松原市"), ("220800", "白城市"),
        ("222400", "延边朝鲜族自治州"),
    ],
    "230000": [
        ("230100", "哈尔滨市"), ("230200", "齐齐哈尔市"), ("230300", "鸡西市"),
        ("230400", "鹤岗市"), ("230500", "双鸭山市"), ("230600", "大庆市"), ("230700", "伊春市"),
        ("230800", "佳木斯市"), ("230900", "七台河市"), ("231000", "牡丹江市"),
        ("231100", "黑河市"), ("231200", "绥化市"), ("232700", "大兴安岭地区"),
    ],
    "150000": [
        ("150100", "呼和浩特市"), ("150200", "包头市"), ("150300", "乌海市"), ("150400", "赤峰市"),
        ("150500", "通辽市"), ("150600", "鄂尔多斯市"), ("150700", "呼伦贝尔市"),
        ("150800", "巴彦淖尔市"), ("150900", "乌兰察布市"), ("152200", "兴安盟"),
        ("152500", "锡林郭勒盟"), ("152900", "阿拉善盟"),
    ],
}

# 沈抚改革创新示范区 has no GB/T 2260 code; the work plan addresses it as a peer of the 14
# cities. 219100 is unused by GB/T 2260 (Liaoning's prefecture codes stop at 2114).
SHENFU = ("219100", "沈抚改革创新示范区")


def seed(apps, schema_editor):
    Division = apps.get_model("core", "Division")
    for code, name in PROVINCES:
        province, _ = Division.objects.update_or_create(
            code=code, defaults={"name": name, "level": "province", "parent": None,
                                 "code_kind": "statutory"})
        for sub_code, sub_name in PREFECTURES[code]:
            Division.objects.update_or_create(
                code=sub_code, defaults={"name": sub_name, "level": "prefecture",
                                         "parent": province, "code_kind": "statutory"})
    liaoning = Division.objects.get(code="210000")
    Division.objects.update_or_create(
        code=SHENFU[0], defaults={"name": SHENFU[1], "level": "functional_zone",
                                  "parent": liaoning, "code_kind": "platform_local"})


def unseed(apps, schema_editor):
    Division = apps.get_model("core", "Division")
    Division.objects.exclude(parent=None).delete()
    Division.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
