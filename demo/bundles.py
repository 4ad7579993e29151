"""Demo bundles (一件事) of the Liaoning node, made through the catalog's services:

- 新生儿出生一件事: 出生医学证明签发 (大连市卫生健康委员会), then 新生儿入户 — at 大连市公安局
  when a parent's household is in 辽宁, or at 长春市公安局 **on the Jilin node** when it is in
  吉林 — then, in parallel, 城乡居民基本医疗保险参保登记 (沈阳市医疗保障局) and 社会保障卡申领
  (辽宁省人社厅). The 出生医学证明 issued in step 1 is the material of step 2, given by the
  platform (免提交).
- 开办企业一件事: 内资企业设立登记 (沈阳市市场监管局), then 公章刻制备案 (大连市公安局),
  新办纳税人涉税事项套餐办理 (国家税务总局大连市税务局) and 单位社会保险参保登记 (辽宁省人社厅)
  in parallel, each given the 营业执照 of step 1.

The Jilin item is another node's: it is here once the regional zone is synced, which
`make run` does after `load_demo` (scripts/run-nodes then runs `load_demo_bundles`). A
bundle whose items are not all here yet is left for that later run. Made once: an existing
bundle is left alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from catalog.bundles import StepData, create_bundle_version, publish_bundle_version, save_bundle
from catalog.models import Bundle, PublicationStatus, ServiceItem
from core.actors import Actor
from demo.users import ACTOR

EFFECTIVE = dt.date(2025, 1, 1)

BIRTH = "200003200000-210200000000-000-11210200002418730T-3-00"
NEWBORN_LN = "070000400000-210200000000-000-11210200002418706A-3-00"
NEWBORN_JL = "070000400000-220100000000-000-11220100001325601D-3-00"
MEDICAL = "200002600000-210100000000-000-11210100MB1958291D-3-00"
SOCIAL_CARD = "200000700000-210000000000-000-11210000000011029A-2-00"
COMPANY = "010001600000-210100000000-000-11210100MB19583043-3-00"
SEAL = "070005200000-210200000000-000-11210200002418706A-3-00"
TAX = "200003300000-210200000000-000-11210200MB1964160H-3-00"
COMPANY_INSURANCE = "200003400000-210000000000-000-11210000000011029A-2-00"


def _field(name: str, label: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "label": label, "type": kind, **extra}


NEWBORN_FORM = [
    _field("phone", "联系电话", "phone"),
    _field("baby_name", "新生儿姓名", "text", max_length=32),
    _field("gender", "新生儿性别", "choice", choices=["男", "女"]),
    _field("birth_date", "出生日期", "date", not_after="today"),
    _field("birth_place", "出生地", "division"),
    _field("mother_name", "母亲姓名", "text", max_length=32),
    _field("father_name", "父亲姓名", "text", max_length=32, required=False),
    _field(
        "hukou_province",
        "新生儿落户省份（父母一方户籍所在地）",
        "choice",
        choices=["辽宁省", "吉林省"],
        help="落户吉林省的，户口登记由吉林省长春市公安局办理",
    ),
    _field("household_kind", "户别", "choice", choices=["家庭户", "集体户"]),
    _field("household_address", "落户地址", "address"),
    _field("household_division", "医保参保地（户籍所在地）", "division"),
    _field(
        "insured_kind",
        "参保人员类别",
        "choice",
        choices=["成年居民", "未成年人", "在校学生", "老年居民"],
    ),
    _field(
        "bank",
        "社会保障卡合作银行",
        "choice",
        choices=["工商银行", "农业银行", "中国银行", "建设银行", "盛京银行"],
    ),
]
_BIRTH_MAP = {n: n for n in ("baby_name", "gender", "birth_date", "birth_place", "mother_name")}
_BIRTH_MAP["father_name"] = "father_name"
_REGISTRATION_MAP = {
    n: n
    for n in (
        "phone",
        "baby_name",
        "birth_date",
        "birth_place",
        "household_kind",
        "household_address",
    )
}
NEWBORN_STEPS: list[tuple[int, str, dict[str, Any], dict[str, str]]] = [
    (1, BIRTH, {}, _BIRTH_MAP),
    (2, NEWBORN_LN, {"field": "hukou_province", "values": ["辽宁省"]}, _REGISTRATION_MAP),
    (2, NEWBORN_JL, {"field": "hukou_province", "values": ["吉林省"]}, _REGISTRATION_MAP),
    (3, MEDICAL, {}, {n: n for n in ("phone", "household_division", "insured_kind")}),
    (3, SOCIAL_CARD, {}, {"phone": "phone", "bank": "bank"}),
]

COMPANY_FORM = [
    _field("legal_representative", "法定代表人", "text"),
    _field("legal_representative_id", "法定代表人公民身份号码", "id_number"),
    _field("registered_capital", "注册资本（万元）", "number", min=0),
    _field(
        "company_kind",
        "企业类型",
        "choice",
        choices=["有限责任公司", "股份有限公司", "个人独资企业", "合伙企业"],
    ),
    _field("address", "住所", "address"),
    _field("established_date", "成立日期", "date"),
    _field("business_scope", "经营范围", "textarea", max_length=500),
    _field("contact_phone", "联系人手机号码", "phone"),
    _field(
        "seal_kinds",
        "刻制印章种类",
        "choice",
        choices=["公章、财务专用章、发票专用章", "公章、财务专用章、发票专用章、合同专用章"],
    ),
    _field(
        "invoice_kind",
        "申领发票种类",
        "choice",
        choices=["增值税电子普通发票", "增值税电子专用发票"],
    ),
]
_COMPANY_MAP = {
    n: n
    for n in (
        "legal_representative",
        "legal_representative_id",
        "registered_capital",
        "company_kind",
        "address",
        "established_date",
        "business_scope",
        "contact_phone",
    )
}
COMPANY_STEPS: list[tuple[int, str, dict[str, Any], dict[str, str]]] = [
    (1, COMPANY, {}, _COMPANY_MAP),
    (
        2,
        SEAL,
        {},
        {"legal_representative": "legal_representative", "seal_kinds": "seal_kinds"}
        | {"contact_phone": "contact_phone"},
    ),
    (
        2,
        TAX,
        {},
        {n: n for n in ("legal_representative", "contact_phone", "invoice_kind")},
    ),
    (
        2,
        COMPANY_INSURANCE,
        {},
        {n: n for n in ("legal_representative", "address", "contact_phone")},
    ),
]

BUNDLES = {
    "newborn": (
        "新生儿出生一件事",
        "person",
        "新生儿出生后，一次申请办理出生医学证明、户口登记、医保参保和社会保障卡申领。",
        NEWBORN_FORM,
        NEWBORN_STEPS,
    ),
    "start-business": (
        "开办企业一件事",
        "company",
        "企业设立登记后，印章刻制、涉税事项和单位社保登记一并办理，营业执照自动共享。",
        COMPANY_FORM,
        COMPANY_STEPS,
    ),
}


def load_demo_bundles(*, actor: Actor = ACTOR) -> int:
    """Make and publish the node's demo bundles (Liaoning only) whose items are all here;
    return how many were made."""
    if settings.NODE_ID != "liaoning":
        return 0
    made = 0
    for code, (name, audience, description, form, steps) in BUNDLES.items():
        if Bundle.objects.filter(code=code, versions__status=PublicationStatus.PUBLISHED).exists():
            continue
        items = {i.code: i for i in ServiceItem.objects.filter(code__in=[s[1] for s in steps])}
        if len(items) < len({s[1] for s in steps}):
            continue  # another node's item not synced yet
        bundle = save_bundle(
            code=code, name=name, audience=audience, description=description, actor=actor
        )
        version = bundle.versions.filter(status=PublicationStatus.DRAFT).first()
        if version is None:
            version = create_bundle_version(
                bundle,
                number=1,
                effective_from=EFFECTIVE,
                form_fields=form,
                steps=[StepData(o, items[c], cond, fmap) for o, c, cond, fmap in steps],
                actor=actor,
                change_note="首次发布",
            )
        publish_bundle_version(version, actor=actor)
        made += 1
    return made
