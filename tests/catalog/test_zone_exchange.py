"""The regional zone across nodes: the `catalog.zone` answer (only this node's own published
regional items, complete), the import of another node's answer as a cached copy (node
marking, idempotency, new versions, refusal to overwrite what is not that node's, all or
nothing) and the sync with every member (an unreachable node keeps its cached items)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from catalog import zone
from catalog.models import (
    ItemVersion,
    LicenceType,
    Material,
    RegionalScheme,
    ServiceItem,
    ZoneSource,
)
from catalog.services import draft_item_version, publish_item_version, save_licence_type
from catalog.transfer import dump_catalog
from catalog.transfer.exporting import version_records
from core import scheduler
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent, Organisation
from federation import directory, keys, registry, services
from federation.services import FederationUnavailable
from tests import builders
from tests.federation.support import Authority, ForeignNode, node_entry

DATA = Path(__file__).parent / "data"
POLICE = "11220100001325601D"  # 长春市公安局
HRSS = "112201000013256184"  # 长春市人力资源和社会保障局
ID_CARD = "111000000000131244001"  # 居民身份证
CERTIFICATE = "200000100000-220100000000-000-11220100001325601D-3-00"  # 开具户籍类证明


def jilin_answer() -> dict[str, Any]:
    """Jilin's answer to `catalog.zone`: two items of two Changchun departments."""
    return json.loads((DATA / "jilin_zone.json").read_text(encoding="utf-8"))


def records_of(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in answer["records"] if r["record"] == kind]


def import_jilin(answer: dict[str, Any] | None = None) -> zone.ZoneImport:
    return zone.import_zone(
        answer or jilin_answer(), node="jilin", division="220000", actor=SystemActor("test")
    )


def with_second_version(answer: dict[str, Any], code: str) -> dict[str, Any]:
    """The answer after the owner published version 2 of item `code` (a shorter limit)."""
    answer = copy.deepcopy(answer)
    added = []
    for record in answer["records"]:
        if record["record"] == "item" and record["implementation_code"] == code:
            added.append(
                record
                | {"version": "2", "effective_from": "2025-01-01", "change_note": "压缩承诺时限"}
            )
        elif record.get("item") == code:
            added.append(record | {"version": "2"})
    answer["records"] += added
    return answer


# --- the answer -------------------------------------------------------------------------


@dataclass
class LocalZone:
    regional: ItemVersion
    licence_type: LicenceType


def build_local_zone() -> LocalZone:
    """This node's catalog: one regional item (two versions, a material replaced by a
    licence), and items that must stay out of the answer."""
    scheme = builders.northeast_scheme()
    licence_type = save_licence_type(
        code=builders.valid_uscc(950, "100000") + "001",
        name="居民户口簿",
        face_fields=[{"name": "holder_name", "label": "户主姓名", "type": "text"}],
        actor=SystemActor("test"),
    )
    regional = builders.item(
        "户口迁移（夫妻投靠）",
        org=builders.organisation("沈阳市公安局", "210100"),
        scopes=(("regional", "proxy"), ("cross_province", "online")),
        scheme=scheme,
        publish=False,
    )
    Material.objects.create(
        version=regional,
        position=3,
        name="居民户口簿（电子证照）",
        necessity="optional",
        source_type="government",
        licence_type=licence_type,
    )
    publish_item_version(regional, actor=SystemActor("test"))
    second = draft_item_version(
        regional.item,
        effective_from=dt.date(2025, 1, 1),
        actor=SystemActor("test"),
        change_note="第二版",
    )
    publish_item_version(second, actor=SystemActor("test"))
    builders.offered(ItemVersion.objects.get(pk=regional.pk))
    # Out of the answer: no regional availability, a draft, an item available regionally
    # but on no regional list in force (or taken off it), an item of another node. An
    # organisation without regional items is in it (a 多地联办 step may go to it).
    builders.item("社会保障卡申领", scopes=(("cross_province", "online"),))
    builders.item("未发布事项", scopes=(("regional", "online"),), scheme=scheme, publish=False)
    builders.item("职业资格证书核验", scopes=(("regional", "online"),), scheme=scheme)
    remote = builders.organisation("长春市市场监督管理局", "220100")
    Organisation.objects.filter(pk=remote.pk).update(node="jilin")
    remote.refresh_from_db()
    builders.item("外省事项", org=remote, scopes=(("regional", "online"),), scheme=scheme)
    builders.organisation("辽宁省统计局", "210000")
    return LocalZone(regional=ItemVersion.objects.get(pk=regional.pk), licence_type=licence_type)


def test_answer_holds_only_this_nodes_published_regional_items():
    local = build_local_zone()
    records = zone.zone_records()
    items = {
        (r.values["implementation_code"], r.values["version"]) for r in records if r.kind == "item"
    }
    code = local.regional.item.code
    assert items == {(code, 1), (code, 2)}
    organisations = [r.values["uscc"] for r in records if r.kind == "organisation"]
    assert local.regional.item.organisation.uscc in organisations
    assert set(organisations) == set(
        Organisation.objects.filter(node="").values_list("uscc", flat=True)
    )
    assert Organisation.objects.get(name="辽宁省统计局").uscc in organisations
    assert [r.values["code"] for r in records if r.kind == "licence_type"] == [
        local.licence_type.code
    ]
    assert [r.values["name"] for r in records if r.kind == "face_field"] == ["holder_name"]
    assert [r.values["code"] for r in records if r.kind == "scheme"] == ["northeast"]


def test_answer_is_complete_and_in_the_exchange_format():
    local = build_local_zone()
    answer = zone.answer_zone(None, zone.ZoneQuestion())
    assert answer["format"] == "tongban-catalog"
    assert answer["format_version"] == 1
    assert all(isinstance(v, str) for r in answer["records"] for v in r.values())
    kinds = [r["record"] for r in answer["records"]]
    # Each version with its three materials, its form field and both availabilities.
    assert kinds.count("material") == 6
    assert kinds.count("form_field") == 2
    assert kinds.count("availability") == 4
    for version in local.regional.item.versions.all():
        expected = [r.cells() for r in version_records(version)]
        position = answer["records"].index(expected[0])
        assert answer["records"][position : position + len(expected)] == expected


def test_answer_imports_into_a_node_that_has_none_of_it():
    """Complete: what the answer names is enough to rebuild the items elsewhere."""
    with transaction.atomic():
        local = build_local_zone()
        code = local.regional.item.code
        answer = zone.answer_zone(None, zone.ZoneQuestion())
        expected = {
            v.number: [r.cells() for r in version_records(v)]
            for v in local.regional.item.versions.all()
        }
        transaction.set_rollback(True)
    assert not ServiceItem.objects.filter(code=code).exists()
    assert not LicenceType.objects.filter(code=local.licence_type.code).exists()
    imported = zone.import_zone(answer, node="jilin", actor=SystemActor("test"))
    assert imported.items == 1
    item = ServiceItem.objects.get(code=code)
    assert item.organisation.node == "jilin"
    assert {
        v.number: [r.cells() for r in version_records(v)] for v in item.versions.all()
    } == expected
    assert LicenceType.objects.get(code=local.licence_type.code).face_fields


def test_the_question_is_answered_through_the_federation(members):
    build_local_zone()
    body, signature = members.jilin.envelope(zone.ZONE_QUERY, {})
    signed = services.answer(body, signature)
    reply = json.loads(signed["answer"])
    assert reply["kind"] == "catalog.zone.answer"
    assert reply["payload"]["answer"]["records"] == [r.cells() for r in zone.zone_records()]
    body, signature = members.jilin.envelope(zone.ZONE_QUERY, {"scope": "regional"})
    with pytest.raises(services.Refused):
        services.answer(body, signature)


def test_registered_with_the_federation():
    handler = registry.handler_for(zone.ZONE_QUERY)
    assert handler is not None and handler.query
    job = scheduler.schedule.get("catalog.sync_zone")
    assert job.run == zone.sync_job and job.every_seconds == zone.SYNC_EVERY_SECONDS


# --- the import -------------------------------------------------------------------------


def test_import_marks_organisations_and_items_as_the_nodes():
    imported = import_jilin()
    assert imported.items == 2
    assert imported.result.count("item_version", "created") == 2
    assert set(Organisation.objects.filter(node="jilin").values_list("uscc", flat=True)) == {
        POLICE,
        HRSS,
    }
    item = ServiceItem.objects.select_related("organisation").get(code=CERTIFICATE)
    assert item.organisation.node == "jilin"
    assert not item.organisation.is_local
    assert item.versions.get().is_published
    assert LicenceType.objects.filter(code=ID_CARD).exists()


def test_a_second_import_without_change_changes_nothing():
    import_jilin()
    audit = AuditEvent.objects.count()
    imported = import_jilin()
    assert imported.result.changed == 0
    assert imported.result.count("item_version", "unchanged") == 2
    assert AuditEvent.objects.count() == audit


def test_a_new_version_on_the_owner_becomes_a_new_published_version_here():
    import_jilin()
    imported = import_jilin(with_second_version(jilin_answer(), CERTIFICATE))
    assert imported.result.count("item_version", "created") == 1
    versions = ServiceItem.objects.get(code=CERTIFICATE).versions.order_by("number")
    assert [(v.number, v.is_published) for v in versions] == [(1, True), (2, True)]


def test_master_data_already_here_is_kept():
    scheme = builders.northeast_scheme()
    save_licence_type(code=ID_CARD, name="居民身份证（本节点）", actor=SystemActor("test"))
    import_jilin()
    assert LicenceType.objects.get(code=ID_CARD).name == "居民身份证（本节点）"
    assert RegionalScheme.objects.get(pk=scheme.pk).description == ""


def refusal(answer: dict[str, Any]) -> set[tuple[int | None, str | None]]:
    with pytest.raises(RuleViolation) as caught:
        import_jilin(answer)
    assert caught.value.code == "zone_answer_refused"
    return {(p.row, p.field) for p in caught.value.problems}


def row_of(answer: dict[str, Any], predicate: Any) -> int:
    return next(n for n, r in enumerate(answer["records"], start=1) if predicate(r))


def test_a_local_organisation_is_never_overwritten_and_nothing_is_imported():
    local = builders.organisation("沈阳市公安局", "210100")
    answer = jilin_answer()
    answer["records"][0] |= {"uscc": local.uscc, "name": "被冒用的名称", "division": "220100"}
    for record in answer["records"]:
        if record.get("organisation") == POLICE:
            record["organisation"] = local.uscc
    assert refusal(answer) == {(1, "uscc")}
    local.refresh_from_db()
    assert (local.name, local.node) == ("沈阳市公安局", "")
    assert not Organisation.objects.filter(uscc=HRSS).exists()  # all or nothing
    assert not ServiceItem.objects.exists()


def test_a_local_item_is_never_overwritten():
    org = builders.organisation("沈阳市公安局", "210100")
    builders.item(
        "本节点事项",
        code=CERTIFICATE,
        org=org,
        scopes=(("regional", "proxy"),),
        scheme=builders.northeast_scheme(),
    )
    answer = jilin_answer()
    row = row_of(
        answer, lambda r: r["record"] == "item" and r["implementation_code"] == CERTIFICATE
    )
    assert refusal(answer) == {(row, "implementation_code")}
    assert ServiceItem.objects.get(code=CERTIFICATE).organisation == org
    assert not Organisation.objects.filter(node="jilin").exists()


def test_another_nodes_organisation_is_not_taken_over():
    import_jilin()
    answer = jilin_answer()
    with pytest.raises(RuleViolation) as caught:
        zone.import_zone(answer, node="heilongjiang", actor=SystemActor("test"))
    assert {p.field for p in caught.value.problems} == {"uscc", "implementation_code"}
    assert Organisation.objects.filter(node="jilin").count() == 2


def test_an_item_must_belong_to_an_organisation_the_answer_brings():
    local = builders.organisation("辽宁省公安厅", "210000")
    answer = jilin_answer()
    row = row_of(
        answer, lambda r: r["record"] == "item" and r["implementation_code"] == CERTIFICATE
    )
    answer["records"][row - 1]["organisation"] = local.uscc
    assert (row, "organisation") in refusal(answer)
    assert not ServiceItem.objects.exists()


def test_organisations_and_items_outside_the_nodes_province_are_refused():
    answer = jilin_answer()
    answer["records"][0]["division"] = "210100"
    assert refusal(answer) == {(1, "division")}


def test_lists_are_not_exchanged():
    answer = jilin_answer()
    answer["records"].append(
        {
            "record": "list",
            "code": "jilin-northeast-regional",
            "name": "清单",
            "scope": "regional",
            "scheme": "northeast",
        }
    )
    assert refusal(answer) == {(len(answer["records"]), "record")}


def test_a_bad_record_refuses_the_whole_answer():
    answer = jilin_answer()
    row = row_of(
        answer, lambda r: r["record"] == "item" and r["implementation_code"] == CERTIFICATE
    )
    answer["records"][row - 1]["legal_limit"] = "二十"
    with pytest.raises(RuleViolation) as caught:
        import_jilin(answer)
    assert caught.value.code == "catalog_import_invalid"
    assert not Organisation.objects.filter(uscc__in=[POLICE, HRSS]).exists()
    assert not ServiceItem.objects.exists()


def test_an_answer_that_is_no_catalog_is_refused():
    with pytest.raises(RuleViolation) as caught:
        import_jilin({"format": "something-else", "records": []})
    assert caught.value.code == "catalog_file_invalid"


def test_the_export_of_this_node_leaves_cached_items_out():
    build_local_zone()
    import_jilin()
    exported = json.loads(dump_catalog("catalog.json"))["records"]
    usccs = {r.get("uscc") for r in exported} | {r.get("organisation") for r in exported}
    assert POLICE not in usccs and HRSS not in usccs
    assert not any(r.get("item") == CERTIFICATE for r in exported)


# --- syncing ----------------------------------------------------------------------------


@dataclass
class Members:
    jilin: ForeignNode
    heilongjiang: ForeignNode


@pytest.fixture
def members(settings, tmp_path) -> Members:
    """This node (`liaoning`) with two other members in a signed directory; their base
    URLs lead nowhere (the port 9 of the loopback)."""
    settings.NODE_ID = "liaoning"
    authority = Authority()
    settings.FEDERATION_ANCHOR = str(authority.write_anchor(tmp_path / "anchor.pem"))
    settings.FEDERATION_DIRECTORY = str(tmp_path / "directory.json")
    key = keys.create_key()
    local = node_entry(
        "liaoning", [{"kid": key.fingerprint, "alg": key.algorithm, "public_key": key.public_pem}]
    )
    found = Members(ForeignNode("jilin"), ForeignNode("heilongjiang"))
    entries = [
        local | {"division": "210000"},
        found.jilin.entry(),
        found.heilongjiang.entry() | {"division": "230000"},
    ]
    authority.write(tmp_path / "directory.json", entries)
    directory.refresh()
    return found


@pytest.fixture
def answers(monkeypatch) -> dict[str, Any]:
    """What each member answers to `catalog.zone` (a node missing here is unreachable)."""
    given: dict[str, Any] = {"jilin": jilin_answer()}

    def ask(receiver: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert kind == zone.ZONE_QUERY and payload == {}
        if receiver not in given:
            raise FederationUnavailable(f"{receiver}: Connection refused")
        return copy.deepcopy(given[receiver])

    monkeypatch.setattr(services, "ask", ask)
    return given


def test_sync_imports_every_member_and_records_when(members, answers):
    answers["heilongjiang"] = {
        "format": "tongban-catalog",
        "format_version": 1,
        "records": [],
        "entries": [],
    }
    before = timezone.now()
    outcomes = zone.sync_zone(actor=SystemActor("test"))
    assert [(o.node, o.ok) for o in outcomes] == [("jilin", True), ("heilongjiang", True)]
    jilin = ZoneSource.objects.get(node="jilin")
    assert (jilin.name, jilin.item_count, jilin.last_error) == ("吉林省", 2, "")
    assert jilin.synced_at is not None and jilin.synced_at >= before
    assert ZoneSource.objects.get(node="heilongjiang").item_count == 0
    assert Organisation.objects.filter(node="jilin").count() == 2
    assert AuditEvent.objects.filter(action="sync_zone").count() == 1


def test_a_second_sync_without_change_changes_nothing(members, answers):
    zone.sync_zone(actor=SystemActor("test"))
    audit = AuditEvent.objects.count()
    outcome = zone.sync_zone(actor=SystemActor("test"))[0]
    assert outcome.imported is not None and outcome.imported.result.changed == 0
    assert AuditEvent.objects.count() == audit


def test_an_unreachable_node_keeps_its_cached_items_and_its_error_is_recorded(members, answers):
    zone.sync_zone(actor=SystemActor("test"))
    synced_at = ZoneSource.objects.get(node="jilin").synced_at
    del answers["jilin"]
    outcome = zone.sync_zone(actor=SystemActor("test"))[0]
    assert not outcome.ok
    source = ZoneSource.objects.get(node="jilin")
    assert source.synced_at == synced_at
    assert source.failing and "无法连接" in source.last_error
    assert source.attempted_at is not None and source.attempted_at > synced_at
    assert ServiceItem.objects.filter(organisation__node="jilin").count() == 2


def test_an_unreachable_node_over_the_network(members):
    """The real `ask`: the member's address leads nowhere."""
    outcomes = zone.sync_zone(actor=SystemActor("test"))
    assert [o.ok for o in outcomes] == [False, False]
    assert ZoneSource.objects.get(node="jilin").synced_at is None
    assert "无法连接" in ZoneSource.objects.get(node="jilin").last_error


def test_a_refused_answer_is_recorded_and_the_other_members_still_sync(members, answers):
    answers["heilongjiang"] = jilin_answer()  # claims Jilin's organisations, in Jilin
    outcomes = zone.sync_zone(actor=SystemActor("test"))
    assert [(o.node, o.ok) for o in outcomes] == [("jilin", True), ("heilongjiang", False)]
    error = ZoneSource.objects.get(node="heilongjiang").last_error
    assert "不属于该节点的内容" in error
    assert Organisation.objects.filter(node="jilin").count() == 2


def test_the_worker_job_syncs_only_in_a_federation(settings, members, answers):
    assert zone.sync_job() == "区域通办同步：1 个节点成功，黑龙江省失败"
    assert ZoneSource.objects.filter(node="jilin", last_error="").exists()
    ZoneSource.objects.all().delete()
    settings.FEDERATION_DIRECTORY = ""
    assert zone.sync_job() is None
    assert not ZoneSource.objects.exists()


def test_sync_without_a_directory_is_a_chinese_error(settings):
    with pytest.raises(RuleViolation) as caught:
        zone.sync_zone(actor=SystemActor("test"))
    assert caught.value.code == "directory_unavailable"
    with pytest.raises(CommandError, match="无法同步区域通办目录"):
        call_command("sync_zone")


def test_the_command_reports_each_member(members, answers, capsys):
    with pytest.raises(CommandError, match="1 个节点同步失败：黑龙江省"):
        call_command("sync_zone")
    out, err = capsys.readouterr()
    assert "吉林省（jilin）：2 项事项；导入完成" in out
    assert "黑龙江省（heilongjiang）：同步失败，保留已缓存的事项。" in err
    answers["heilongjiang"] = {
        "format": "tongban-catalog",
        "format_version": 1,
        "records": [],
        "entries": [],
    }
    call_command("sync_zone")
    assert "未变" in capsys.readouterr().out


def test_a_cached_item_of_another_node_is_its_owners_to_change(admin_client):
    remote = builders.organisation("长春市市场监督管理局", "220100")
    Organisation.objects.filter(pk=remote.pk).update(node="jilin")
    remote.refresh_from_db()
    version = builders.item("外省事项", org=remote)
    with pytest.raises(RuleViolation) as refused:
        draft_item_version(
            version.item, effective_from=dt.date(2030, 1, 1), actor=SystemActor("test")
        )
    assert refused.value.code == "item_of_other_node"
    page = admin_client.get(f"/admin/catalog/serviceitem/{version.item.pk}/change/")
    assert page.status_code == 200 and 'name="basic_code"' not in page.content.decode()


def test_entries_must_name_the_answers_items_with_known_modes():
    answer = jilin_answer()
    answer["entries"] = [
        {"item": "no-such-item", "modes": ["online"]},
        {"item": answer["entries"][0]["item"], "modes": ["teleport"]},
    ]
    with pytest.raises(RuleViolation) as refused:
        zone.import_zone(answer, node="jilin", division="220000", actor=SystemActor("test"))
    assert refused.value.code == "zone_answer_refused" and len(refused.value.problems) == 2
    assert not ItemVersion.objects.filter(item__organisation__node="jilin").exists()
