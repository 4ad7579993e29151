"""/api/v1/items: the listing with its filters, one item in full, its versions."""

import datetime as dt

from catalog.models import ItemVersion, Material, ServiceItem
from catalog.services import draft_item_version, publish_item_version
from core.actors import SystemActor
from core.models import Division
from tests import builders
from tests.api.helpers import assert_problem, get_json


def full_item() -> ItemVersion:
    """An item whose guide uses every optional part: fees, special procedures, a licence
    as result and as a replacement for a material, regional availability with divisions."""
    result_type = builders.licence_type("11100000000013338W012", "户口迁移证明")
    replaces = builders.licence_type()
    scheme = builders.northeast_scheme()
    version = builders.item(
        "户口迁移（夫妻投靠）",
        org=builders.organisation("大连市公安局", "210200"),
        scopes=(("cross_province", "online"), ("regional", "proxy")),
        scheme=scheme,
        publish=False,
        keywords="落户 投靠",
        fee_charged=True,
        fees=[{"name": "工本费", "amount": "10.00", "basis": "《辽宁省收费目录》"}],
        special_procedures=[{"name": "专家评审", "limit": 10, "unit": "working_days"}],
        result_type="licence",
        result_licence_type=result_type,
        allows_commitment=True,
        visits_required=1,
        location="大连市政务服务中心一楼",
        office_hours="工作日 9:00-17:00",
        consultation_phone="0411-12345",
        complaint_phone="0411-12345-1",
    )
    Material.objects.filter(version=version, name="居民户口簿").update(
        licence_type=replaces, notes="可用电子证照代替", commitment_allowed=True
    )
    version.availabilities.get(scope="regional").divisions.set(
        Division.objects.filter(code__in=["220100", "230100"])
    )
    publish_item_version(version, actor=SystemActor("test"))
    return version


def test_item_in_full(client):
    version = full_item()
    body = get_json(client, f"/api/v1/items/{version.item.code}")
    item = version.item
    assert body["code"] == item.code
    assert body["basic_code"] == item.basic_code
    assert body["implementation_code"] == item.implementation_code
    assert body["handling_code"] == ""
    assert body["organisation"] == {"uscc": item.organisation.uscc, "name": "大连市公安局"}
    assert body["division"] == {"code": "210200", "name": "大连市"}
    assert body["category"] == {"system": "national", "code": "07", "name": "行政确认"}
    assert body["version"] == 1
    assert body["effective_from"] == "2024-01-01"
    assert body["published_at"]
    assert (body["audience"], body["audience_label"]) == ("person", "自然人")
    assert body["themes"] == [{"code": "household", "name": "户籍"}]
    assert (body["handling_level"], body["handling_level_label"]) == ("city", "市级")
    assert body["keywords"] == "落户 投靠"
    assert body["conditions"] == "夫妻一方户口在本市，另一方申请投靠。"
    assert body["application_channels"] == [
        {"code": "online", "label": "网上办理"},
        {"code": "window", "label": "窗口办理"},
    ]
    assert (body["acceptance_mode"], body["acceptance_mode_label"]) == ("promised", "承诺件")
    assert body["procedure_steps"] == [{"name": "受理"}, {"name": "审查"}, {"name": "决定"}]
    assert (body["legal_limit"], body["legal_limit_unit"]) == (20, "working_days")
    assert body["legal_limit_unit_label"] == "工作日"
    assert (body["promised_limit"], body["promised_limit_unit_label"]) == (10, "工作日")
    assert body["special_procedures"] == [{"name": "专家评审", "limit": 10, "unit": "working_days"}]
    assert (body["result_type"], body["result_type_label"]) == ("licence", "证照")
    assert body["result_name"] == "准予迁入证明"
    assert body["result_licence_type"] == {"code": "11100000000013338W012", "name": "户口迁移证明"}
    assert body["result_delivery"] == [
        {"code": "electronic", "label": "电子证照"},
        {"code": "post", "label": "邮寄送达"},
    ]
    assert body["fee_charged"] is True
    assert body["fees"] == [{"name": "工本费", "amount": "10.00", "basis": "《辽宁省收费目录》"}]
    assert body["visits_required"] == 1
    assert body["legal_basis"] == "《中华人民共和国户口登记条例》第十条"
    assert body["allows_commitment"] is True
    assert body["location"] == "大连市政务服务中心一楼"
    assert body["office_hours"] == "工作日 9:00-17:00"
    assert body["consultation_phone"] == "0411-12345"
    assert body["complaint_phone"] == "0411-12345-1"
    assert body["form_fields"] == [{"name": "reason", "label": "迁移原因", "type": "text"}]
    assert body["materials"] == [
        {
            "position": 1,
            "name": "居民户口簿",
            "necessity": "required",
            "necessity_label": "必要",
            "source_type": "government",
            "source_type_label": "政府部门核发",
            "originals": 1,
            "copies": 0,
            "form": "both",
            "form_label": "纸质或电子",
            "licence_type": {"code": "11100000000013338W011", "name": "居民户籍证明"},
            "commitment_allowed": True,
            "notes": "可用电子证照代替",
        },
        {
            "position": 2,
            "name": "结婚证",
            "necessity": "deficiency_allowed",
            "necessity_label": "容缺后补",
            "source_type": "government",
            "source_type_label": "政府部门核发",
            "originals": 0,
            "copies": 1,
            "form": "both",
            "form_label": "纸质或电子",
            "licence_type": None,
            "commitment_allowed": False,
            "notes": "",
        },
    ]
    assert body["availabilities"] == [
        {
            "scope": "cross_province",
            "scope_label": "跨省通办",
            "mode": "online",
            "mode_label": "全程网办",
            "scheme": None,
            "divisions": [],
        },
        {
            "scope": "regional",
            "scope_label": "区域通办",
            "mode": "proxy",
            "mode_label": "异地代收代办",
            "scheme": {"code": "northeast", "name": "东北三省一区"},
            "divisions": [
                {"code": "220100", "name": "长春市"},
                {"code": "230100", "name": "哈尔滨市"},
            ],
        },
    ]


def test_item_row_in_the_listing(client):
    version = full_item()
    body = get_json(client, "/api/v1/items")
    assert body["count"] == 1
    (row,) = body["items"]
    detail = get_json(client, f"/api/v1/items/{version.item.code}")
    # A row is the headline of the guide: the same values, without the long fields.
    assert {key: detail[key] for key in row} == row
    assert set(row) == {
        "code",
        "name",
        "basic_code",
        "implementation_code",
        "handling_code",
        "organisation",
        "division",
        "category",
        "audience",
        "audience_label",
        "themes",
        "acceptance_mode",
        "acceptance_mode_label",
        "promised_limit",
        "promised_limit_unit",
        "promised_limit_unit_label",
        "availabilities",
        "version",
        "effective_from",
    }


def catalog() -> dict[str, ItemVersion]:
    """Four items that differ in every filtered property."""
    dalian = builders.organisation("大连市公安局", "210200")
    shenyang = builders.organisation("沈阳市市场监督管理局", "210100")
    changchun = builders.organisation("长春市人力资源和社会保障局", "220100")
    return {
        "household": builders.item("户口迁移（夫妻投靠）", org=dalian),
        "licence": builders.item(
            "营业执照变更登记",
            org=shenyang,
            scopes=(("in_province", "proxy"),),
            themes=("startup", "business"),
            audience="company",
        ),
        "pension": builders.item(
            "养老保险关系转移接续",
            org=changchun,
            scopes=(("cross_province", "joint"), ("regional", "online")),
            scheme=builders.northeast_scheme(),
            themes=("social_security", "elderly_care"),
            audience="both",
        ),
        "school": builders.item(
            "义务教育阶段转学",
            org=dalian,
            scopes=(("in_province", "online"),),
            themes=("education",),
        ),
    }


def codes(client, query: str) -> set[str]:
    body = get_json(client, f"/api/v1/items?{query}")
    assert body["count"] == len(body["items"])
    return {row["name"] for row in body["items"]}


def test_items_filters(client):
    catalog()
    assert len(codes(client, "")) == 4
    assert codes(client, "scope=in_province") == {"营业执照变更登记", "义务教育阶段转学"}
    assert codes(client, "scope=regional") == {"养老保险关系转移接续"}
    assert codes(client, "mode=proxy") == {"营业执照变更登记"}
    assert codes(client, "scope=in_province&mode=online") == {"义务教育阶段转学"}
    assert codes(client, "scope=cross_province&mode=proxy") == set()
    assert codes(client, "theme=education") == {"义务教育阶段转学"}
    assert codes(client, "theme=elderly_care") == {"养老保险关系转移接续"}
    # An item for both kinds of applicant serves either.
    assert codes(client, "audience=company") == {"营业执照变更登记", "养老保险关系转移接续"}
    assert codes(client, "audience=both") == {"养老保险关系转移接续"}
    assert codes(client, "division=210000") == {
        "户口迁移（夫妻投靠）",
        "营业执照变更登记",
        "义务教育阶段转学",
    }
    assert codes(client, "division=210200") == {"户口迁移（夫妻投靠）", "义务教育阶段转学"}
    assert codes(client, "division=220000&audience=person") == {"养老保险关系转移接续"}


def test_items_filter_by_organisation_and_search(client):
    items = catalog()
    dalian = items["household"].item.organisation.uscc
    assert codes(client, f"organisation={dalian}") == {"户口迁移（夫妻投靠）", "义务教育阶段转学"}
    assert codes(client, f"organisation={dalian.lower()}") == {
        "户口迁移（夫妻投靠）",
        "义务教育阶段转学",
    }
    assert codes(client, "q=户口迁移") == {"户口迁移（夫妻投靠）"}
    assert codes(client, "q=hkqy") == {"户口迁移（夫妻投靠）"}
    assert codes(client, "q=养老保险") == {"养老保险关系转移接续"}
    assert codes(client, "q=转学&division=210200") == {"义务教育阶段转学"}
    assert codes(client, "q=不存在的事项") == set()


def test_items_pagination(client):
    catalog()
    first = get_json(client, "/api/v1/items?page_size=3")
    second = get_json(client, "/api/v1/items?page_size=3&page=2")
    assert (first["count"], len(first["items"]), len(second["items"])) == (4, 3, 1)
    # The node's own province (Liaoning) first, each province by code.
    rows = first["items"] + second["items"]
    province = dict(ServiceItem.objects.values_list("code", "division__code"))
    ordered = [(not province[row["code"]].startswith("21"), row["code"]) for row in rows]
    assert ordered == sorted(ordered)
    assert len(get_json(client, "/api/v1/items?page_size=1000")["items"]) == 4
    assert get_json(client, "/api/v1/items?page=9")["items"] == []
    assert_problem(client, "/api/v1/items?page_size=0", 422, "request_invalid")


def test_items_reject_unknown_filter_values(client):
    catalog()
    cases = {
        "scope=nationwide": "unknown_scope",
        "mode=email": "unknown_mode",
        "theme=sports": "unknown_theme",
        "audience=robot": "unknown_audience",
        "division=999999": "unknown_division",
        "division=21": "unknown_division",
        "organisation=91210200MA0000000X": "unknown_organisation",
        "organisation=garbage": "unknown_organisation",
    }
    for query, code in cases.items():
        body = assert_problem(client, f"/api/v1/items?{query}", 422, code)
        field = query.split("=")[0]
        assert body["errors"][0]["field"] == field
        assert body["detail"]


def test_item_not_found_and_not_in_force(client):
    assert_problem(client, "/api/v1/items/no-such-item", 404, "item_not_found")
    future = builders.item("尚未生效的事项", effective_from=dt.date(2099, 1, 1))
    assert_problem(client, f"/api/v1/items/{future.item.code}", 404, "item_not_in_force")
    assert get_json(client, "/api/v1/items")["count"] == 0
    draft = builders.item("草稿事项", publish=False)
    assert_problem(client, f"/api/v1/items/{draft.item.code}", 404, "item_not_in_force")


def test_item_versions(client):
    first = builders.item("户口迁移（夫妻投靠）")
    item = first.item
    second = draft_item_version(
        item,
        effective_from=dt.date(2025, 1, 1),
        actor=SystemActor("test"),
        change_note="压缩承诺时限",
    )
    ItemVersion.objects.filter(pk=second.pk).update(promised_limit=5, name="户口迁移（投靠配偶）")
    publish_item_version(second, actor=SystemActor("test"))
    third = draft_item_version(
        item,
        effective_from=dt.date(2099, 1, 1),
        actor=SystemActor("test"),
        change_note="将来的版本",
    )
    publish_item_version(third, actor=SystemActor("test"))
    draft_item_version(
        item, effective_from=dt.date(2099, 6, 1), actor=SystemActor("test")
    )  # unpublished

    versions = get_json(client, f"/api/v1/items/{item.code}/versions")
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert versions[1] == {
        "version": 2,
        "name": "户口迁移（投靠配偶）",
        "effective_from": "2025-01-01",
        "published_at": versions[1]["published_at"],
        "change_note": "压缩承诺时限",
    }

    current = get_json(client, f"/api/v1/items/{item.code}")
    assert (current["version"], current["promised_limit"]) == (2, 5)
    old = get_json(client, f"/api/v1/items/{item.code}/versions/1")
    assert (old["version"], old["promised_limit"], old["name"]) == (1, 10, "户口迁移（夫妻投靠）")
    assert old.keys() == current.keys()
    assert len(old["materials"]) == 2
    future = get_json(client, f"/api/v1/items/{item.code}/versions/3")
    assert future["effective_from"] == "2099-01-01"

    assert_problem(client, f"/api/v1/items/{item.code}/versions/4", 404, "item_version_not_found")
    assert_problem(client, "/api/v1/items/no-such-item/versions", 404, "item_not_found")
    assert_problem(client, "/api/v1/items/no-such-item/versions/1", 404, "item_not_found")
    assert_problem(client, f"/api/v1/items/{item.code}/versions/one", 422, "request_invalid")
