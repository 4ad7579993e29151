"""Test data built through the real service functions (no mocks of our own logic)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from cases import engine
from catalog.models import (
    Availability,
    ItemCategory,
    ItemList,
    ItemVersion,
    LicenceType,
    ListEntry,
    ListVersion,
    Material,
    RegionalScheme,
    ServiceItem,
    Theme,
)
from catalog.services import publish_item_version, publish_list_version
from core.actors import SystemActor
from core.models import Division, Organisation
from core.services import save_organisation

# Valid 统一社会信用代码 for test organisations (check characters computed by stdnum).
_serial = itertools.count(1)


def valid_uscc(seed: int, region: str = "210200") -> str:
    from stdnum.cn import uscc

    body = f"11{region}{seed:08d}"[:16]
    body = body + "0"
    return body + uscc.calc_check_digit(body)


def organisation(
    name: str = "大连市市场监督管理局", division: str = "210200", seed: int | None = None
) -> Organisation:
    seed = seed if seed is not None else next(_serial)
    return save_organisation(
        uscc=valid_uscc(seed, division),
        name=name,
        division=Division.objects.get(code=division),
        actor=SystemActor("test"),
    )


def item(
    name: str = "户口迁移（夫妻投靠）",
    *,
    code: str | None = None,
    org: Organisation | None = None,
    scopes: tuple[tuple[str, str], ...] = (("cross_province", "online"),),
    themes: tuple[str, ...] = ("household",),
    audience: str = "person",
    effective_from: dt.date = dt.date(2024, 1, 1),
    publish: bool = True,
    scheme: RegionalScheme | None = None,
    **fields: Any,
) -> ItemVersion:
    """An item with one version: complete guide, two materials, the given availabilities."""
    org = org or organisation()
    n = next(_serial)
    code = code or f"1121020000{n:04d}-{org.uscc}-1-00"
    service_item = ServiceItem.objects.create(
        basic_code=f"00000000{n:04d}",
        implementation_code=code,
        organisation=org,
        division=org.division,
    )
    defaults: dict[str, Any] = {
        "conditions": "夫妻一方户口在本市，另一方申请投靠。",
        "application_channels": ["online", "window"],
        "acceptance_mode": "promised",
        "procedure_steps": [{"name": "受理"}, {"name": "审查"}, {"name": "决定"}],
        "legal_limit": 20,
        "promised_limit": 10,
        "result_type": "certificate",
        "result_name": "准予迁入证明",
        "result_delivery": ["electronic", "post"],
        "visits_required": 0,
        "legal_basis": "《中华人民共和国户口登记条例》第十条",
        "form_fields": [{"name": "reason", "label": "迁移原因", "type": "text"}],
    }
    defaults.update(fields)
    version = ItemVersion.objects.create(
        item=service_item,
        number=1,
        effective_from=effective_from,
        name=name,
        category=ItemCategory.objects.get(system="national", code="07"),
        handling_level="city",
        audience=audience,
        **defaults,
    )
    version.themes.set(Theme.objects.filter(code__in=themes))
    Material.objects.create(
        version=version,
        position=1,
        name="居民户口簿",
        necessity="required",
        source_type="government",
        originals=1,
    )
    Material.objects.create(
        version=version,
        position=2,
        name="结婚证",
        necessity="deficiency_allowed",
        source_type="government",
        copies=1,
    )
    for scope, mode in scopes:
        Availability.objects.create(
            version=version, scope=scope, mode=mode, scheme=scheme if scope == "regional" else None
        )
    if publish:
        publish_item_version(version, actor=SystemActor("test"))
        version.refresh_from_db()
    return version


def northeast_scheme() -> RegionalScheme:
    scheme, _ = RegionalScheme.objects.get_or_create(
        code="northeast", defaults={"name": "东北三省一区"}
    )
    scheme.members.set(Division.objects.filter(code__in=["210000", "220000", "230000", "150000"]))
    return scheme


def item_list(
    code: str = "cross-province",
    scope: str = "cross_province",
    scheme: RegionalScheme | None = None,
    name: str = "跨省通办事项清单",
) -> ItemList:
    return ItemList.objects.create(code=code, name=name, scope=scope, scheme=scheme)


def list_version(
    lst: ItemList,
    versions: list[ItemVersion],
    *,
    number: int = 1,
    effective_from: dt.date = dt.date(2024, 6, 1),
    publish: bool = True,
    modes: tuple[str, ...] = ("online",),
    note: str = "首次发布",
) -> ListVersion:
    lv = ListVersion.objects.create(
        item_list=lst, number=number, effective_from=effective_from, change_note=note
    )
    for position, v in enumerate(versions, start=1):
        ListEntry.objects.create(list_version=lv, item=v.item, modes=list(modes), position=position)
    if publish:
        publish_list_version(lv, actor=SystemActor("test"))
        lv.refresh_from_db()
    return lv


def offered(version: ItemVersion) -> ItemVersion:
    """Publish `version`'s item on a 通办 list in force per scope it is available in, with
    the modes of those availabilities: the promise that catalog/offers.py asks for."""
    by_list: dict[tuple[str, Any], list[str]] = {}
    for availability in version.availabilities.all():
        key = (availability.scope, availability.scheme)
        by_list.setdefault(key, []).append(availability.mode)
    for (scope, scheme), modes in by_list.items():
        n = next(_serial)
        lst = item_list(f"offer-{n}", scope, scheme=scheme, name=f"通办清单 {n}")
        list_version(lst, [version], modes=tuple(modes), effective_from=dt.date(2024, 1, 1))
    return version


def licence_type(code: str = "11100000000013338W011", name: str = "居民户籍证明") -> LicenceType:
    return LicenceType.objects.get_or_create(code=code, defaults={"name": name})[0]


# Accounts and cases ------------------------------------------------------------------------

_ID_SERIAL = itertools.count(100)


def valid_id_number(birth: str = "19900101", region: str = "210202") -> str:
    from stdnum.cn import ric

    first17 = f"{region}{birth}{next(_ID_SERIAL) % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def person(name: str = "张三", *, username: str | None = None, mobile: str = "13800138000"):
    from django.contrib.auth import get_user_model

    from accounts.services import register_person

    user = get_user_model().objects.create_user(
        username or f"citizen{next(_serial)}", password="pw-123456"
    )
    return register_person(
        name=name, id_number=valid_id_number(), mobile=mobile, user=user, actor=SystemActor("test")
    )


def staff(role: str, org: Organisation, username: str | None = None):
    from django.contrib.auth import get_user_model

    from accounts.services import grant_role

    user = get_user_model().objects.create_user(
        username or f"{role}{next(_serial)}", password="pw-123456"
    )
    grant_role(user, role, org, actor=SystemActor("test"))
    return user


def hall(org: Organisation, *, code: str | None = None, division: str | None = None) -> Any:
    """The test hall run by `org` (made on first use), in its division unless named."""
    from halls.models import ServiceHall
    from halls.services import save_hall

    code = code or f"hall-{org.pk}"
    existing = ServiceHall.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return save_hall(
        code=code,
        name=f"{org.name}服务大厅",
        organisation=org,
        division=Division.objects.get(code=division) if division else org.division,
        address="测试路1号",
        opening_hours="周一至周五 9:00—17:00",
        phone="0411-12345",
        actor=SystemActor("test"),
    )


def window(
    org: Organisation,
    *,
    items: tuple[ItemVersion, ...] = (),
    lists: tuple[ItemList, ...] = (),
    number: str = "1",
    name: str = "综合受理窗口",
    clerks: tuple[Any, ...] = (),
    at: Any = None,
) -> Any:
    """Window `number` of `org`'s test hall (or of the hall `at`), receiving `items` and
    `lists` besides what it received already, with `clerks` assigned."""
    from halls.models import Window
    from halls.services import assign_clerk, save_window

    the_hall = at or hall(org)
    existing = Window.objects.filter(hall=the_hall, number=number).first()
    old_items = list(existing.items.all()) if existing else []
    old_lists = list(existing.lists.all()) if existing else []
    made = save_window(
        the_hall,
        number=number,
        name=name,
        organisation=org,
        items=[*old_items, *(v.item for v in items)],
        lists=[*old_lists, *lists],
        actor=SystemActor("test"),
    )
    for clerk in clerks:
        assign_clerk(made, clerk, actor=SystemActor("test"))
    return made


def at_window(clerk: Any, *versions: ItemVersion, lists: tuple[ItemList, ...] = ()) -> Any:
    """Assign the window clerk `clerk` to window 1 of their organisation's test hall, which
    then receives `versions` and `lists` too: where the clerk takes those items in."""
    from accounts.models import StaffRole

    org = StaffRole.objects.get(user=clerk, role="window_clerk").organisation
    return window(org, items=versions, lists=lists, clerks=(clerk,))


def uploaded_pdf(marker: str = "1") -> bytes:
    return b"%PDF-1.4\n% tongban test " + marker.encode() + b"\n%%EOF\n"


def bearer(user) -> dict[str, str]:
    """Test-client headers authenticating as `user` with a fresh API token."""
    from accounts.services import create_api_token

    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, actor=SystemActor('test'))}"}


def checked_window_case(version: ItemVersion, *, custody: str = "") -> tuple[Any, Any]:
    """A case taken in at the 大连市政务服务中心 window for `version`, every material given,
    identity and formal checks done: ready to forward. Returns (case, clerk)."""
    from cases import services
    from cases.materials import add_material

    clerk = staff("window_clerk", organisation("大连市政务服务中心"))
    at_window(clerk, version)
    case = services.apply(
        actor=clerk,
        item_version=version,
        form_data={"reason": "投靠"},
        on_behalf_of={
            "kind": "person",
            "name": "李四",
            "id_number": valid_id_number(),
            "mobile": "13904110000",
        },
    )
    for material in version.materials.all():
        add_material(
            case,
            material,
            content=uploaded_pdf(str(material.position)),
            name=f"{material.position}.pdf",
            actor=clerk,
            paper_custody=custody,
        )
    engine.take_action(case, "check_identity", actor=clerk)
    return engine.take_action(case, "check_materials", actor=clerk), clerk


def assign_steps(case: Any, steps: list[dict[str, Any]], *, actor: Any) -> Any:
    """分派联办环节 through the engine (the action whose payload is the steps)."""
    return engine.take_action(case, "assign_steps", actor=actor, data={"steps": steps})


# Bundles (一件事) ----------------------------------------------------------------------------


def newborn_items() -> dict[str, ItemVersion]:
    """Three items of a small 新生儿出生 bundle at two organisations: 出生医学证明 (its
    result the licence that 新生儿入户 accepts in place of a material), 新生儿入户 (its
    result the 居民户口簿 the third item accepts) and 社会保障卡申领."""
    birth = licence_type("11100000MB1967474G001", "出生医学证明")
    hukou = licence_type("111000000000131244002", "居民户口簿")
    health = organisation("大连市卫生健康委员会")
    police = organisation("大连市公安局")
    baby = {"name": "baby_name", "label": "新生儿姓名", "type": "text"}
    born = {"name": "birth_date", "label": "出生日期", "type": "date"}
    certificate = item(
        "出生医学证明首次签发",
        org=health,
        result_type="licence",
        result_licence_type=birth,
        form_fields=[baby, born],
    )
    registration = item(
        "新生儿入户",
        org=police,
        result_type="licence",
        result_licence_type=hukou,
        form_fields=[{**baby, "name": "child_name"}, born],
        publish=False,
    )
    Material.objects.create(
        version=registration,
        position=3,
        name="出生医学证明",
        necessity="required",
        source_type="government",
        licence_type=birth,
    )
    from catalog.services import publish_item_version as publish

    publish(registration, actor=SystemActor("test"))
    card = item("社会保障卡申领", org=organisation("辽宁省人力资源和社会保障厅"), publish=False)
    Material.objects.filter(version=card, name="居民户口簿").update(licence_type=hukou)
    publish(card, actor=SystemActor("test"))
    return {
        "certificate": certificate,
        "registration": ItemVersion.objects.get(pk=registration.pk),
        "card": ItemVersion.objects.get(pk=card.pk),
    }


NEWBORN_FORM = [
    {"name": "baby_name", "label": "新生儿姓名", "type": "text"},
    {"name": "birth_date", "label": "出生日期", "type": "date"},
    {"name": "reason", "label": "申领原因", "type": "text"},
    {"name": "card", "label": "是否申领社保卡", "type": "choice", "choices": ["是", "否"]},
]


def newborn_bundle(
    items: dict[str, ItemVersion] | None = None, *, publish: bool = True, code: str = "newborn"
) -> Any:
    """A published 新生儿出生 bundle of `newborn_items()`: certificate, then registration,
    then the card when the answer `card` is 是."""
    from catalog.bundles import StepData, create_bundle_version, publish_bundle_version, save_bundle

    items = items or newborn_items()
    actor = SystemActor("test")
    bundle = save_bundle(code=code, name="新生儿出生一件事", audience="person", actor=actor)
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=NEWBORN_FORM,
        steps=[
            StepData(
                1,
                items["certificate"].item,
                field_map={"baby_name": "baby_name", "birth_date": "birth_date"},
            ),
            StepData(
                2,
                items["registration"].item,
                field_map={"baby_name": "child_name", "birth_date": "birth_date"},
            ),
            StepData(
                3,
                items["card"].item,
                condition={"field": "card", "values": ["是"]},
                field_map={"reason": "reason"},
            ),
        ],
        actor=actor,
        change_note="首次发布",
    )
    if publish:
        version = publish_bundle_version(version, actor=actor)
    return version
