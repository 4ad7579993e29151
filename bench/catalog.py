"""The generated catalog: item implementations (实施清单 rows) across the province's
divisions and organisations, at the volume of a real province (about 11.4万 in Liaoning).

Items are made with bulk inserts, straight into the tables the import would fill —
organisations, items, published versions with their themes, materials and availability,
and each item's search document, built with the same `catalog.search` functions the import
uses (`build_document`'s tokens), so search behaves as on imported items. Item `i` is the
same on every run: the generator only adds the items a database does not hold yet, so a
database made once is reused by later runs and a larger run extends a smaller one.

Generated items are recognised by their invented basic code (基本编码), which starts with
`99` (no real category has that code); their organisations by the `B` after the division
code in their 统一社会信用代码.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc

from catalog.models import (
    Availability,
    ItemCategory,
    ItemSearchEntry,
    ItemVersion,
    Material,
    PublicationStatus,
    ServiceItem,
    Theme,
)
from catalog.search import document_of, text_tokens
from core.models import Division, Organisation, division_code_prefix

BASIC_CODE_PREFIX = "99"
BATCH = 2000

# (name, keywords, theme codes, category code, audience): services a province offers.
SERVICES: list[tuple[str, str, tuple[str, ...], str, str]] = [
    ("户口迁移", "户口 迁入 迁出 落户", ("household",), "07", "person"),
    ("开具户籍类证明", "户籍证明 亲属关系", ("household", "certification"), "20", "person"),
    ("居民身份证换领", "身份证 换证", ("household",), "07", "person"),
    ("居住证申领", "居住证 流动人口", ("household", "housing"), "07", "person"),
    ("新生儿入户", "出生 落户 新生儿", ("household", "marriage_birth"), "07", "person"),
    ("结婚登记", "婚姻 登记", ("marriage_birth",), "07", "person"),
    ("生育登记", "生育 服务证", ("marriage_birth",), "20", "person"),
    ("社会保障卡申领", "社保卡 社会保障卡", ("social_security",), "20", "person"),
    ("失业登记", "失业 就业", ("employment",), "20", "person"),
    ("就业创业证申领", "就业 创业", ("employment", "startup"), "20", "person"),
    ("职业资格证书补发", "职业资格 证书", ("employment",), "20", "person"),
    ("养老保险关系转移接续", "养老保险 转移", ("social_security", "elderly_care"), "20", "person"),
    ("基本医疗保险参保登记", "医保 参保", ("medical", "social_security"), "20", "person"),
    ("异地就医备案", "异地就医 医保备案", ("medical",), "20", "person"),
    ("医疗费用报销", "医疗 报销", ("medical",), "05", "person"),
    ("住房公积金提取", "公积金 提取", ("housing",), "20", "person"),
    ("住房公积金贷款", "公积金 贷款", ("housing",), "20", "person"),
    ("公共租赁住房申请", "公租房 保障房", ("housing",), "05", "person"),
    ("老年人优待证办理", "老年人 优待", ("elderly_care",), "20", "person"),
    ("高龄津贴发放", "高龄 津贴", ("elderly_care",), "05", "person"),
    ("残疾人证办理", "残疾人 证件", ("certification",), "07", "person"),
    ("最低生活保障审批", "低保 救助", ("social_security",), "05", "person"),
    ("临时救助", "救助 困难", ("social_security",), "05", "person"),
    ("义务教育入学登记", "入学 学籍", ("education",), "20", "person"),
    ("学历公证", "公证 学历", ("certification", "education"), "20", "person"),
    ("教师资格认定", "教师 资格", ("education", "employment"), "01", "person"),
    ("机动车驾驶证换证", "驾驶证 换证", ("travel",), "01", "person"),
    ("机动车登记", "机动车 车辆", ("travel",), "07", "person"),
    ("道路运输从业资格证核发", "从业资格 运输", ("travel", "employment"), "01", "person"),
    ("出入境通行证签注", "港澳 签注", ("travel",), "01", "person"),
    ("无犯罪记录证明", "无犯罪 证明", ("certification",), "20", "person"),
    ("不动产登记", "房产 不动产 过户", ("housing",), "07", "person"),
    ("个体工商户设立登记", "个体户 营业执照", ("business", "startup"), "01", "company"),
    ("企业设立登记", "营业执照 公司 开办", ("business", "startup"), "01", "company"),
    ("企业变更登记", "营业执照 变更", ("business",), "01", "company"),
    ("企业注销登记", "注销 简易注销", ("business",), "01", "company"),
    ("食品经营许可", "食品 经营许可证", ("business",), "01", "company"),
    ("药品经营许可", "药品 许可证", ("business", "medical"), "01", "company"),
    ("建筑工程施工许可", "施工许可 建筑", ("business",), "01", "company"),
    ("排污许可证核发", "排污 环保", ("business",), "01", "company"),
    ("道路运输经营许可", "运输 经营许可", ("business", "travel"), "01", "company"),
    ("工业产品生产许可证核发", "生产许可证 工业产品", ("business",), "01", "company"),
    ("劳务派遣经营许可", "劳务派遣 用工", ("business", "employment"), "01", "company"),
    ("税务登记", "纳税 发票", ("business",), "20", "company"),
    ("出口退税备案", "退税 外贸", ("business",), "20", "company"),
    ("安全生产许可证核发", "安全生产 许可", ("business",), "01", "company"),
    ("特种设备使用登记", "特种设备 电梯 锅炉", ("business",), "07", "company"),
    ("广告发布登记", "广告 登记", ("business",), "07", "company"),
    ("文物保护工程资质审批", "文物 资质", ("business",), "01", "company"),
    ("行政处罚决定", "处罚 违法", ("business",), "02", "company"),
]

SITUATIONS = [
    "",
    "（首次申请）",
    "（变更）",
    "（延续）",
    "（注销）",
    "（补领）",
    "（换领）",
    "（遗失补办）",
    "（省内转移）",
    "（跨省转移）",
    "（本人申请）",
    "（委托代办）",
]

DEPARTMENTS = [
    "公安局",
    "民政局",
    "人力资源和社会保障局",
    "市场监督管理局",
    "住房和城乡建设局",
    "交通运输局",
    "卫生健康委员会",
    "教育局",
    "自然资源局",
    "生态环境局",
    "医疗保障局",
    "住房公积金管理中心",
    "农业农村局",
    "文化和旅游局",
    "应急管理局",
    "退役军人事务局",
    "司法局",
    "财政局",
    "商务局",
    "水利局",
    "林业和草原局",
    "残疾人联合会",
    "公证处",
    "税务局",
    "行政审批局",
    "政务服务中心",
    "工业和信息化局",
    "统计局",
    "城市管理综合行政执法局",
    "交通警察支队",
]

LEVELS = {"province": ("province", "2"), "prefecture": ("city", "3")}


@dataclass(frozen=True)
class Generated:
    created: int
    total: int


def generated_count() -> int:
    """How many generated items the database holds."""
    return ServiceItem.objects.filter(basic_code__startswith=BASIC_CODE_PREFIX).count()


def province_divisions() -> list[Division]:
    """The divisions of the node's province that organisations are placed in, in code order."""
    prefix = division_code_prefix(settings.NODE_DIVISION)
    return list(
        Division.objects.filter(
            code__startswith=prefix, level__in=["province", "prefecture"]
        ).order_by("code")
    )


def _uscc_for(division: str, index: int) -> str:
    """A valid 统一社会信用代码 of a government organ (登记管理部门 1, 机关 1) in `division`."""
    # The ninth character of the organisation code is its own check digit: try each.
    for last in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        body = f"11{division}B{index:07d}{last}"
        code = body + uscc.calc_check_digit(body)
        if uscc.is_valid(code):
            return code
    raise AssertionError(f"no valid USCC for {division}/{index}")


def ensure_organisations(divisions: list[Division]) -> dict[str, list[Organisation]]:
    """Every department of every division (made once), keyed by division code."""
    wanted: dict[str, Organisation] = {}
    for d_index, division in enumerate(divisions):
        place = "辽宁省" if division.level == "province" else division.name
        for k, department in enumerate(DEPARTMENTS):
            code = _uscc_for(division.code, d_index * len(DEPARTMENTS) + k)
            wanted[code] = Organisation(
                uscc=code, name=place + department, division=division, kind="department"
            )
    existing = set(Organisation.objects.filter(uscc__in=wanted).values_list("uscc", flat=True))
    Organisation.objects.bulk_create(
        [o for code, o in wanted.items() if code not in existing], batch_size=BATCH
    )
    by_code = {o.uscc: o for o in Organisation.objects.filter(uscc__in=wanted)}
    result: dict[str, list[Organisation]] = {}
    for code in wanted:
        org = by_code[code]
        result.setdefault(org.division.code, []).append(org)
    return result


@cache
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(text_tokens([text]))


def search_document(
    name: str, keywords: str, organisation: str, themes: list[str], codes: list[str]
) -> str:
    """The document `catalog.search.build_document` makes for such an item; the tokens of
    each text are computed once per distinct text (names and organisations repeat)."""
    tokens = [t for text in [name, keywords, organisation, *themes] for t in _tokens(text)]
    return document_of([*tokens, *(c.lower() for c in codes if c)])


def _plan(index: int, divisions: list[Division]) -> tuple[int, int, int, int]:
    """(division, department, service, situation) of generated item `index`."""
    d = index % len(divisions)
    rest = index // len(divisions)
    service = rest % len(SERVICES)
    department = (rest // len(SERVICES) + service) % len(DEPARTMENTS)
    situation = (rest // (len(SERVICES) * len(DEPARTMENTS))) % len(SITUATIONS)
    return d, department, service, situation


def generate_items(total: int, *, progress: bool = False) -> Generated:
    """Make sure the database holds `total` generated items; add the missing ones."""
    have = generated_count()
    if have >= total:
        return Generated(0, have)
    divisions = province_divisions()
    if not divisions:
        raise RuntimeError(f"no divisions under {settings.NODE_DIVISION}: migrate first")
    orgs = ensure_organisations(divisions)
    themes = {t.code: t for t in Theme.objects.all()}
    categories = {c.code: c for c in ItemCategory.objects.filter(system="national")}
    published_at = timezone.now()
    for start in range(have, total, BATCH):
        _insert_batch(
            range(start, min(start + BATCH, total)),
            divisions,
            orgs,
            themes,
            categories,
            published_at,
        )
        if progress:
            print(f"  生成事项 {min(start + BATCH, total)}/{total}", flush=True)
    return Generated(total - have, total)


@transaction.atomic
def _insert_batch(
    indexes: range,
    divisions: list[Division],
    orgs: dict[str, list[Organisation]],
    themes: dict[str, Theme],
    categories: dict[str, ItemCategory],
    published_at: dt.datetime,
) -> None:
    items: list[ServiceItem] = []
    plans = []
    for index in indexes:
        d, department, service, situation = _plan(index, divisions)
        division = divisions[d]
        org = orgs[division.code][department]
        handling_level, level_digit = LEVELS.get(division.level, ("city", "3"))
        basic = f"{BASIC_CODE_PREFIX}{index:010d}"
        implementation = f"{basic}-{division.code}000000-000-{org.uscc}-{level_digit}-00"
        handling = f"{implementation}-{situation:02d}" if situation else ""
        item = ServiceItem(
            basic_code=basic,
            implementation_code=implementation,
            handling_code=handling,
            code=handling or implementation,
            organisation=org,
            division=division,
        )
        items.append(item)
        plans.append((item, org, service, situation, handling_level))
    ServiceItem.objects.bulk_create(items, batch_size=BATCH)
    versions: list[ItemVersion] = []
    for item, _org, service, situation, level in plans:
        name, keywords, _themes, category, audience = SERVICES[service]
        versions.append(
            ItemVersion(
                item=item,
                number=1,
                status=PublicationStatus.PUBLISHED,
                effective_from=dt.date(2021, 1, 1),
                published_at=published_at,
                change_note="生成的基准测试事项",
                name=name + SITUATIONS[situation],
                category=categories[category],
                handling_level=level,
                audience=audience,
                keywords=keywords,
                conditions="符合法定条件的申请人。",
                application_channels=["online", "window"],
                acceptance_mode="promised",
                procedure_steps=[{"name": n} for n in ("受理", "审查", "决定", "送达")],
                legal_limit=20,
                promised_limit=10,
                result_type="certificate",
                result_name=name + "结果",
                result_delivery=["electronic"],
                legal_basis="《生成的基准测试依据》",
                form_fields=[{"name": "purpose", "label": "用途", "type": "text"}],
            )
        )
    ItemVersion.objects.bulk_create(versions, batch_size=BATCH)
    through = ItemVersion.themes.through
    links = []
    materials = []
    availabilities = []
    entries = []
    for version, (item, org, service, _situation, _level) in zip(versions, plans, strict=True):
        name, keywords, theme_codes, _category, _audience = SERVICES[service]
        links += [
            through(itemversion_id=version.pk, theme_id=themes[c].pk)
            for c in theme_codes
            if c in themes
        ]
        materials += [
            Material(
                version=version,
                position=1,
                name="申请表",
                necessity="required",
                source_type="applicant",
                originals=1,
                form="electronic",
            ),
            Material(
                version=version,
                position=2,
                name="身份证明",
                necessity="required",
                source_type="government",
                originals=1,
                form="both",
            ),
        ]
        availabilities.append(Availability(version=version, scope="in_province", mode="online"))
        entries.append(
            ItemSearchEntry(
                item=item,
                version=version,
                code=item.code,
                division=item.division.code,
                document=search_document(
                    version.name,
                    keywords,
                    org.name,
                    [themes[c].name for c in theme_codes if c in themes],
                    [item.code, item.basic_code, item.implementation_code, item.handling_code],
                ),
            )
        )
    through.objects.bulk_create(links, batch_size=BATCH)
    Material.objects.bulk_create(materials, batch_size=BATCH)
    Availability.objects.bulk_create(availabilities, batch_size=BATCH)
    ItemSearchEntry.objects.bulk_create(entries, batch_size=BATCH)


def search_queries() -> Iterator[str]:
    """The queries the search scenario cycles through: Chinese words and pinyin initials
    that match generated items (and a few demo ones)."""
    yield from [
        "户口迁移",
        "hkqy",
        "社会保障卡",
        "sbk",
        "营业执照",
        "yyzz",
        "公积金 提取",
        "gjj",
        "无犯罪记录证明",
        "wfzjlzm",
        "养老保险 转移",
        "ylbx",
        "驾驶证",
        "jsz",
        "食品经营许可",
        "spjyxk",
    ]
