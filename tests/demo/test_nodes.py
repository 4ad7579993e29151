"""The demo data of the four nodes of the 东北三省一区 federation: each node loads its own
(`demo/data/<NODE_ID>/`), twice without change; the files agree on what is shared (the
scheme, the national licence types) and never collide on what is not (organisations,
usernames, people)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from stdnum.cn import ric, uscc

from accounts.models import Company, Person, StaffRole
from cases.models import Case
from catalog.models import (
    Availability,
    ItemList,
    ItemVersion,
    LicenceType,
    PublicationStatus,
    RegionalScheme,
    ServiceItem,
)
from catalog.selectors import published_list_versions
from catalog.transfer import dump_catalog
from core.models import AuditEvent, Organisation
from demo.users import (
    ROLES,
    catalog_file,
    catalog_organisations,
    demo_accounts,
    demo_nodes,
    staff_username,
)
from licences.models import Seal
from tests.demo.conftest import NODES, be_node
from tests.demo.test_load_demo import _fits

NORTHEAST = {
    "record": "scheme",
    "code": "northeast",
    "name": "东北三省一区",
    "members": "150000;210000;220000;230000",
    "signed_at": "2021-09-15",
    "description": "辽宁、吉林、黑龙江三省和内蒙古自治区的区域通办协作机制（演示数据，签署日期为虚构）。",
}


def _records(node: str) -> list[dict[str, Any]]:
    return json.loads(catalog_file(node).read_text(encoding="utf-8"))["records"]


def _counts() -> dict[str, int]:
    models = [
        Organisation,
        LicenceType,
        RegionalScheme,
        ServiceItem,
        ItemVersion,
        Availability,
        ItemList,
        get_user_model(),
        StaffRole,
        Person,
        Company,
        Seal,
        Case,
        AuditEvent,
    ]
    return {m.__name__: m.objects.count() for m in models}


def test_every_node_has_demo_data():
    assert demo_nodes() == sorted(NODES)


@pytest.mark.parametrize("node_id", sorted(NODES))
def test_load_demo_on_each_node(settings, node_id):
    node = be_node(settings, node_id)
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert node.id in out.getvalue()
    before = _counts()
    call_command("load_demo", stdout=StringIO())
    assert _counts() == before  # idempotent

    # The catalog: the node's organisations own every item, in the node's province (the
    # organisations of other nodes it knows — a sharing grant's consumer — aside).
    usccs = catalog_organisations()
    own = Organisation.objects.filter(node="")
    assert set(own.values_list("uscc", flat=True)) == set(usccs)
    province = node.division[:2]
    assert all(o.division.code[:2] == province for o in own)
    items = ServiceItem.objects.select_related("organisation")
    assert items.count() >= 6
    assert all(i.organisation.uscc in usccs for i in items)
    assert Organisation.objects.filter(kind=Organisation.Kind.SERVICE_CENTRE).exists()
    # A service hall with a 通办 window receiving the regional list, staffed.
    from halls.models import Window

    regional_window = Window.objects.filter(lists__scope="regional").first()
    assert regional_window is not None and regional_window.clerks.exists()

    # The same 东北三省一区 on every node, and items available regionally through it.
    scheme = RegionalScheme.objects.get(code="northeast")
    assert scheme.name == "东北三省一区"
    assert sorted(scheme.members.values_list("code", flat=True)) == [
        "150000",
        "210000",
        "220000",
        "230000",
    ]
    regional = Availability.objects.filter(scope="regional", scheme=scheme)
    assert regional.filter(mode="proxy").exists()
    assert ItemList.objects.filter(scope="regional", scheme=scheme).exists()
    assert all(published_list_versions(lst).exists() for lst in ItemList.objects.all())

    # Staff: every role of every organisation; applicants registered; a case or more.
    data = demo_accounts()
    assert set(data.slugs) == set(usccs)
    for org in Organisation.objects.filter(node=""):
        for role in ROLES:
            staff_role = StaffRole.objects.get(
                user__username=staff_username(data.slugs[org.uscc], role)
            )
            assert (staff_role.role, staff_role.organisation) == (role, org)
    assert Person.objects.filter(user__username__in=data.applicant_usernames()).count() == len(
        data.applicant_usernames()
    )
    listed = StringIO()
    call_command("demo_users", "--json", stdout=listed)
    rows = json.loads(listed.getvalue())
    assert len(rows) == len(usccs) * len(ROLES) + len(data.applicant_usernames())
    assert Seal.objects.values("organisation").distinct().count() == len(usccs)
    cases = list(Case.objects.all())
    assert cases and all(c.number.startswith(f"{node.code}-") for c in cases)

    # The file is what export writes, so a round trip reproduces it.
    assert json.loads(dump_catalog("catalog.json")) == json.loads(
        catalog_file().read_text(encoding="utf-8")
    )


def test_load_demo_refuses_a_node_without_data(settings):
    settings.NODE_ID = "shanghai"
    with pytest.raises(CommandError, match="没有节点“shanghai”的演示数据"):
        call_command("load_demo", stdout=StringIO())
    assert not Organisation.objects.exists()
    settings.NODE_ID = "../data"
    with pytest.raises(CommandError, match="演示数据"):
        call_command("load_demo", stdout=StringIO())
    with pytest.raises(CommandError, match="演示数据"):
        call_command("demo_users", stdout=StringIO())


def test_the_files_agree_on_what_is_shared():
    """The scheme record and every national licence type (with its face) are the same in
    every node's file: they are one thing in the federation."""
    licence_types: dict[str, list[dict[str, Any]]] = {}
    for node in NODES:
        records = _records(node)
        assert [r for r in records if r["record"] == "scheme"] == [NORTHEAST], node
        for r in records:
            if r["record"] == "licence_type":
                face = [
                    f
                    for f in records
                    if f["record"] == "face_field" and f["licence_type"] == r["code"]
                ]
                licence_types.setdefault(r["code"], []).append({"type": r, "face": face})
    for code, definitions in licence_types.items():
        assert all(d == definitions[0] for d in definitions), code


def test_the_files_never_collide():
    """Organisations, items, lists and accounts of one node are not another's; every code
    is valid and every person and organisation belongs to the node's province."""
    seen: dict[str, set[str]] = {"uscc": set(), "item": set(), "list": set(), "username": set()}
    id_numbers: set[str] = set()
    for node_id, node in NODES.items():
        province = node.division[:2]
        records = _records(node_id)
        organisations = [r for r in records if r["record"] == "organisation"]
        for org in organisations:
            assert uscc.is_valid(org["uscc"]) and org["uscc"][2:4] == province, org
            assert org["division"][:2] == province, org
        items = [r for r in records if r["record"] == "item"]
        for item in items:
            assert (
                item["division"][:2] == province
                and item["organisation"] in item["implementation_code"]
            ), item
        for r in records:
            if r["record"] == "licence_type":
                assert uscc.is_valid(r["code"][:18]), r
        data = demo_accounts(node_id)
        usernames = set(data.staff_usernames()) | set(data.applicant_usernames())
        for who in [*data.citizens, *(c.agent for c in data.companies)]:
            assert ric.is_valid(who.id_number), who
            if who.username.startswith("citizen-") and node_id != "liaoning":
                assert who.id_number[:2] == province, who
            id_numbers_before = len(id_numbers)
            id_numbers.add(who.id_number)
            assert len(id_numbers) == id_numbers_before + 1, who
        for company in data.companies:
            assert uscc.is_valid(company.uscc) and company.uscc[2:4] == province, company
        for key, values in (
            ("uscc", {o["uscc"] for o in organisations}),
            ("item", {i["implementation_code"] for i in items}),
            ("list", {r["code"] for r in records if r["record"] == "list"}),
            ("username", usernames),
        ):
            assert not seen[key] & values, (node_id, key, seen[key] & values)
            seen[key] |= values


def test_the_jilin_walkthrough_items(settings):
    """A 长春 food licence received at a window elsewhere in the region (异地代收代办), and a
    household transfer into 长春 approved there and cancelled at the place moved from
    (多地联办)."""
    be_node(settings, "jilin")
    call_command("import_catalog", str(catalog_file()), stdout=StringIO())
    current = ItemVersion.objects.filter(status=PublicationStatus.PUBLISHED)

    food = current.filter(name="食品经营许可证核发").order_by("-number").first()
    # Its second version checks what the first only said: 经营场所须在长春市内.
    premises = next(f for f in food.form_fields if f["name"] == "business_premises_division")
    assert (food.number, premises["type"], premises["within"]) == (2, "division", "220100")
    assert food.item.organisation.name == "长春市市场监督管理局"
    assert food.result_type == "licence"
    assert food.result_licence_type.name == "食品经营许可证"
    assert food.audience == "company"
    modes = {(a.scope, a.mode, a.scheme.code) for a in food.availabilities.all()}
    assert ("regional", "proxy", "northeast") in modes
    form = {f["name"]: f for f in food.form_fields}
    for face in food.result_licence_type.face_fields:
        assert face["name"] in form and _fits(form[face["name"]], face), face

    household = current.get(name="户口迁移（迁入）")
    assert household.item.organisation.name == "长春市公安局"
    modes = {(a.scope, a.mode, a.scheme.code) for a in household.availabilities.all()}
    assert ("regional", "joint", "northeast") in modes
    assert {"move_from", "move_to_address"} <= {f["name"] for f in household.form_fields}

    for version in current.filter(result_type="licence"):
        form = {f["name"]: f for f in version.form_fields}
        for face in version.result_licence_type.face_fields:
            if face.get("required", True):
                assert face["name"] in form, (version, face["name"])
            if face["name"] in form:
                assert _fits(form[face["name"]], face), (version, face["name"])


def test_the_dalian_service_centre():
    """The 大连 跨省通办 window on the Liaoning node: an organisation without items of its
    own, whose staff receive other organisations' items (test_demo_accounts checks them)."""
    records = _records("liaoning")
    (centre,) = [r for r in records if r.get("name") == "大连市政务服务中心"]
    assert (centre["record"], centre["kind"], centre["division"]) == (
        "organisation",
        "service_centre",
        "210200",
    )
    assert not [r for r in records if r.get("organisation") == centre["uscc"]]
    assert demo_accounts("liaoning").slugs[centre["uscc"]] == "dl-zwfwzx"
