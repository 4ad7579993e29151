"""The item guide (办事指南) shows every field of the version in force and every material."""

from __future__ import annotations

import pytest

from catalog.models import Availability, Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.models import Division
from tests import builders
from tests.portal.html import assert_accessible_structure, text


@pytest.fixture
def full_item():
    """An item whose guide fills every field, with four kinds of material."""
    replaces = builders.licence_type("11100000000013338W012", "结婚证")
    result = builders.licence_type("11100000000013338W099", "户口迁移证")
    version = builders.item(
        "户口迁移（夫妻投靠）",
        org=builders.organisation("沈阳市公安局", "210100"),
        publish=False,
        scheme=builders.northeast_scheme(),
        scopes=(("cross_province", "joint"), ("regional", "proxy"), ("in_province", "online")),
        themes=("household", "marriage_birth"),
        keywords="迁户口 落户",
        conditions="夫妻一方户口在本市，另一方申请投靠。\n结婚满两年。",
        application_channels=["online", "window", "mobile"],
        acceptance_mode="promised",
        procedure_steps=[
            {"name": "受理"},
            {"name": "审查", "description": "核查户籍信息"},
            {"name": "决定", "limit": 3},
            {"name": "制证"},
            {"name": "送达"},
        ],
        legal_limit=20,
        legal_limit_unit="working_days",
        promised_limit=15,
        promised_limit_unit="calendar_days",
        special_procedures=[{"name": "户籍协查", "limit": 5, "description": "需迁出地协查"}],
        result_type="licence",
        result_name="准予迁入证明",
        result_licence_type=result,
        result_delivery=["electronic", "window", "post"],
        fee_charged=True,
        fees=[
            {"name": "工本费", "amount": "8", "basis": "《居民户口簿收费标准》第三条"},
            {"name": "邮寄费", "amount": "按件计", "basis": "邮政资费标准"},
        ],
        visits_required=1,
        legal_basis="《中华人民共和国户口登记条例》第十条",
        allows_commitment=True,
        location="沈阳市和平区南京北街 1 号 政务服务中心 3 号窗口",
        office_hours="周一至周五 9:00-17:00",
        consultation_phone="024-12345678",
        complaint_phone="024-87654321",
        form_fields=[
            {"name": "reason", "label": "迁移原因", "type": "textarea"},
            {"name": "spouse_id", "label": "配偶公民身份号码", "type": "id_number"},
            {"name": "to_division", "label": "迁入地", "type": "division", "required": False},
            {
                "name": "kind",
                "label": "投靠类型",
                "type": "choice",
                "choices": ["夫妻投靠", "父母投靠子女"],
                "help": "按实际情况选择",
            },
            {"name": "phone", "label": "联系电话", "type": "phone"},
        ],
    )
    married = version.materials.get(name="结婚证")
    married.licence_type = replaces
    married.notes = "已领取电子结婚证的，无需提交纸质材料。"
    married.save()
    Material.objects.create(
        version=version,
        position=3,
        name="投靠人户口簿",
        necessity="optional",
        source_type="applicant",
        originals=0,
        copies=2,
        form="paper",
    )
    Material.objects.create(
        version=version,
        position=4,
        name="房屋产权证明",
        necessity="required",
        source_type="intermediary",
        originals=1,
        copies=1,
        form="electronic",
        notes="租住的提供租赁合同",
    )
    in_province = version.availabilities.get(scope="in_province")
    in_province.divisions.set(Division.objects.filter(code__in=["210200", "210300"]))
    item = version.item
    item.handling_code = f"{item.implementation_code}-01"
    item.save()
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    return version


def guide_text(client, code: str) -> str:
    response = client.get(f"/items/{code}/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    return text(response.content)


def test_guide_shows_every_field(client, full_item):
    item = full_item.item
    page = guide_text(client, item.code)
    expected = [
        # Basic information
        "事项名称 户口迁移（夫妻投靠）",
        f"事项编码 {item.code}",
        f"基本编码 {item.basic_code}",
        f"实施编码 {item.implementation_code}",
        f"业务办理项编码 {item.handling_code}",
        "实施主体 沈阳市公安局",
        "所属区划 沈阳市",
        "事项类型 行政确认",
        "行使层级 市级",
        "服务对象 自然人",
        "主题 婚育、户籍",
        "关键词 迁户口 落户",
        # Conditions and procedure
        "申请条件 夫妻一方户口在本市，另一方申请投靠。 结婚满两年。",
        "申报方式 网上办理、窗口办理、移动端办理",
        "受理模式 承诺件",
        "告知承诺 可以告知承诺方式办理",
        "法定办结时限 20 个工作日",
        "承诺办结时限 15 个自然日",
        "审核程序 受理 审查 核查户籍信息 决定 时限：3 个工作日 制证 送达",
        "特别程序 户籍协查：5 个工作日。需迁出地协查",
        # Result
        "结果类型 证照",
        "结果名称 准予迁入证明",
        "结果证照类型 户口迁移证（11100000000013338W099）",
        "发证方式 电子证照、窗口领取、邮寄送达",
        # Fees
        "工本费 8 元 《居民户口簿收费标准》第三条",
        "邮寄费 按件计 邮政资费标准",
        # Scope of handling elsewhere
        "跨省通办 多地联办 — 不限",
        "省内通办 全程网办 — 大连市（210200）、鞍山市（210300）",
        "区域通办 异地代收代办 东北三省一区 不限",
        # Application form
        "迁移原因 多行文本 必填",
        "配偶公民身份号码 公民身份号码 必填",
        "迁入地 行政区划 选填",
        "投靠类型 选项（夫妻投靠、父母投靠子女） 必填 按实际情况选择",
        "联系电话 手机号码 必填",
        # The rest
        "设定依据 《中华人民共和国户口登记条例》第十条",
        "办理地点 沈阳市和平区南京北街 1 号 政务服务中心 3 号窗口",
        "办理时间 周一至周五 9:00-17:00",
        "到办事现场次数 1 次",
        "咨询电话 024-12345678",
        "监督投诉电话 024-87654321",
        "版本 第 1 版（现行）",
        "生效日期 2024年1月1日",
    ]
    for fragment in expected:
        assert fragment in page, fragment
    assert "户口迁移证" in page
    assert "承诺办结时限 15 个自然日 到办事现场次数 1 次 收费 收费 申请材料 4 项" in page
    html = client.get(f"/items/{item.code}/").content.decode()
    assert 'href="tel:024-12345678"' in html
    assert f'href="/items/{item.code}/versions/"' in html


def test_guide_shows_every_material(client, full_item):
    page = guide_text(client, full_item.item.code)
    assert "申请材料清单（共 4 项）" in page
    rows = [
        "1 居民户口簿 必要 政府部门核发 原件 1 份 复印件 0 份 纸质或电子 — —",
        "2 结婚证 容缺后补 政府部门核发 原件 0 份 复印件 1 份 纸质或电子 结婚证 "
        "11100000000013338W012 已领取电子结婚证的，无需提交纸质材料。",
        "3 投靠人户口簿 非必要 申请人自备 原件 0 份 复印件 2 份 纸质 — —",
        "4 房屋产权证明 必要 中介或法定机构制发 原件 1 份 复印件 1 份 电子 — 租住的提供租赁合同",
    ]
    for row in rows:
        assert row in page, row


def test_guide_free_item_and_no_form(client):
    version = builders.item("社会保障卡申领", form_fields=[], scopes=())
    page = guide_text(client, version.item.code)
    assert "收费标准 不收费" in page
    assert "无需填写申请表" in page
    assert "本事项暂未开通异地办理" in page
    assert "业务办理项编码 无（未按情形拆分）" in page
    assert "特别程序 无" in page
    assert "法定办结时限 20 个工作日" in page


def test_guide_on_the_spot_item(client):
    version = builders.item("异地就医备案", acceptance_mode="on_the_spot", promised_limit=0)
    page = guide_text(client, version.item.code)
    assert "受理模式 即办件" in page
    assert "承诺办结时限 即时办结" in page


def test_guide_lists_availability_divisions_without_extra_queries(
    client, full_item, django_assert_max_num_queries
):
    # Guide: item + prefetches (themes, availabilities, their divisions, materials) + session.
    with django_assert_max_num_queries(8):
        client.get(f"/items/{full_item.item.code}/")
    assert Availability.objects.filter(version=full_item).count() == 3
