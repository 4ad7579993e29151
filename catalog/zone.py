"""The regional zone across nodes (区域通办专区): every member node's own items that offer the
regional scope, exchanged through the federation and kept on every other member as a
cached copy that names its owning node.

- `catalog.zone` is a question each node answers (`answer_zone`) with the records, in the
  catalog exchange format (`catalog.transfer`, docs/catalog-format.md), of its own
  published items that have a regional availability in some published version: every
  published version of each, with its materials, form fields and availabilities, and what
  they name — the organisations, licence types (with their faces) and schemes. The catalog
  holds nothing personal.
- `sync_zone()` asks every other member of the directory and imports each answer through
  the catalog import (`import_zone`), all or nothing per node: the organisations are
  marked as that node's (`Organisation.node`), items are created or left alone, a new
  version on the owner becomes a new published version here. An answer that would touch
  this node's own organisations or items, or another node's, is refused whole. Each
  node's last sync (time, item count, error) is kept in `ZoneSource`; a node that cannot
  be reached keeps its cached items.
- The node's worker (`manage.py worker`) runs `sync_job` every `SYNC_EVERY_SECONDS` and
  once when it starts; `manage.py sync_zone` runs the sync at once.

An application for a cached item is made on this node like any other; the cases app routes
it to the owning node (`item.organisation.node`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict

from catalog.models import (
    LicenceType,
    ListEntry,
    Mode,
    RegionalScheme,
    Scope,
    ServiceItem,
    ZoneSource,
)
from catalog.selectors import current_list_versions, node_display_name
from catalog.transfer import FORMAT_NAME, FORMAT_VERSION, ImportResult, Record
from catalog.transfer.columns import item_code
from catalog.transfer.exporting import (
    as_record,
    licence_type_records,
    published_versions,
    version_records,
)
from catalog.transfer.files import RawRecord, Sheet, read_sheet
from catalog.transfer.importing import import_sheet
from core.actors import Actor, SystemActor
from core.exceptions import Problem, RuleViolation
from core.models import Organisation, division_code_prefix
from core.services import record_audit
from core.validators import normalize_uscc
from federation import directory, registry, services
from federation.directory import DirectoryUnavailable, Node

ZONE_QUERY = "catalog.zone"
SYNC_EVERY_SECONDS = 10 * 60
SYNC_ACTOR = SystemActor("区域通办目录同步")

# The record kinds an answer may hold: an item's version and what it names. Lists stay
# with their node (a list is a node's own publication, not part of the shared zone).
ZONE_KINDS = frozenset(
    {
        "organisation",
        "licence_type",
        "face_field",
        "scheme",
        "item",
        "material",
        "form_field",
        "availability",
    }
)

log = logging.getLogger(__name__)


class ZoneQuestion(BaseModel):
    """The payload of `catalog.zone`: nothing to ask but the question itself."""

    model_config = ConfigDict(extra="forbid")


# --- answering ------------------------------------------------------------------------


def zone_records() -> list[Record]:
    """This node's part of the regional zone as catalog records, in file order: all its own
    organisations (the others name them: a 多地联办 step may go to any of them), the licence
    types and schemes its items name, then every published version of each own item that
    offers the regional scope in some published version. A fixed number of queries."""
    regional = [entry["item"] for entry in zone_entries_offered()]
    versions = list(published_versions().filter(item__code__in=regional))
    licence_types: set[int] = set()
    schemes: set[int] = set()
    for version in versions:
        if version.result_licence_type_id is not None:
            licence_types.add(version.result_licence_type_id)
        licence_types.update(
            m.licence_type_id for m in version.materials.all() if m.licence_type_id is not None
        )
        schemes.update(a.scheme_id for a in version.availabilities.all() if a.scheme_id is not None)
    organisations = Organisation.objects.filter(node="").select_related("division").order_by("uscc")
    records = [as_record("organisation", org) for org in organisations]
    for licence_type in LicenceType.objects.filter(pk__in=licence_types).order_by("code"):
        records.extend(licence_type_records(licence_type))
    for scheme in (
        RegionalScheme.objects.filter(pk__in=schemes).prefetch_related("members").order_by("code")
    ):
        records.append(as_record("scheme", scheme))
    for version in versions:
        records.extend(version_records(version))
    return records


def zone_entries_offered() -> list[dict[str, Any]]:
    """The entries of this node's own 区域通办 lists in force: what it offers the region
    today, item by item with its modes. Two queries."""
    # Lists are never exchanged: every list here is this node's own publication.
    current = current_list_versions(None).filter(item_list__scope=Scope.REGIONAL)
    modes: dict[str, list[str]] = {}
    for code, entry_modes in (
        ListEntry.objects.filter(list_version__in=current, item__organisation__node="")
        .order_by("list_version__item_list__code", "position", "id")
        .values_list("item__code", "modes")
    ):
        modes.setdefault(code, [])
        modes[code] += [m for m in entry_modes if m not in modes[code]]
    return [{"item": code, "modes": item_modes} for code, item_modes in modes.items()]


def answer_zone(message: registry.Message, payload: ZoneQuestion) -> dict[str, Any]:
    """The answer to `catalog.zone`: a catalog document (the JSON encoding of the exchange
    format) of `zone_records()`, with the entries of this node's regional lists in force
    (`entries`: what the zone shows of this node)."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "records": [record.cells() for record in zone_records()],
        "entries": zone_entries_offered(),
    }


# --- importing ------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneImport:
    """What importing one node's answer did: the import's counts, and the entries of the
    node's regional lists in force (what the zone shows of it)."""

    result: ImportResult
    entries: list[dict[str, Any]]

    @property
    def items(self) -> int:
        return len(self.entries)


def import_zone(
    answer: Mapping[str, Any], *, node: str, division: str = "", actor: Actor
) -> ZoneImport:
    """Import node `node`'s answer to `catalog.zone` as a cached copy, all or nothing.

    Refused whole (`zone_answer_refused`, every problem listed) when a record would
    change what is not that node's: an organisation or item of this node or of another
    node, an item of an organisation the answer does not bring, an organisation or item
    outside the node's province (`division`, the node's division code in the directory),
    or a kind of record the zone does not exchange (lists). Licence types and schemes
    already here are kept as they are (master data shared by the members); missing ones
    are created. The rest goes through the catalog import (`catalog_import_invalid` on a
    bad record) and the new organisations are marked as `node`'s."""
    if not node or node == settings.NODE_ID:
        raise RuleViolation("zone_node_invalid", f"不能把节点“{node}”的目录作为外省缓存导入")
    try:
        sheet = read_sheet(json.dumps(answer, ensure_ascii=False).encode(), f"{node}.json")
    except (TypeError, ValueError) as exc:
        raise RuleViolation("zone_answer_invalid", f"{node} 的区域通办目录无法读取：{exc}") from exc
    screened, usccs, items = _screen(sheet, node=node, division=division)
    entries = _entries(answer.get("entries"), items, node)
    with transaction.atomic():
        result = import_sheet(screened, actor=actor)
        Organisation.objects.filter(uscc__in=usccs).exclude(node=node).update(node=node)
    return ZoneImport(result=result, entries=entries)


def _entries(raw: Any, items: set[str], node: str) -> list[dict[str, Any]]:
    """The list entries a node's answer says it offers: each an item of the answer, with
    known modes; refused whole otherwise (`zone_answer_refused`)."""
    problems: list[Problem] = []
    if not isinstance(raw, list):
        raise RuleViolation("zone_answer_refused", f"节点 {node} 的答复缺少区域通办清单条目")
    entries = []
    for n, entry in enumerate(raw, start=1):
        code = entry.get("item") if isinstance(entry, dict) else None
        modes = entry.get("modes") if isinstance(entry, dict) else None
        if code not in items:
            problems.append(Problem(f"清单条目的事项 {code} 不在答复的事项中", row=n))
        elif not isinstance(modes, list) or not modes or set(modes) - set(Mode.values):
            problems.append(Problem(f"清单条目 {code} 的业务模式无效：{modes}", row=n))
        else:
            entries.append({"item": code, "modes": list(modes)})
    if problems:
        raise RuleViolation(
            "zone_answer_refused",
            f"节点 {node} 的区域通办清单条目有 {len(problems)} 处错误，整份未导入",
            problems=problems,
        )
    return entries


def _screen(sheet: Sheet, *, node: str, division: str) -> tuple[Sheet, set[str], set[str]]:
    """The answer less the master data already here, with the USCCs of its organisations
    and the codes of its items; RuleViolation listing every record that is not `node`'s
    to give."""
    problems: list[Problem] = []

    def refuse(record: RawRecord, field: str, reason: str) -> None:
        problems.append(Problem(reason, field=field, row=record.row))

    prefix = division_code_prefix(division) if division else ""
    usccs = {
        _uscc(r.cells.get("uscc", "")): r
        for r in sheet.records
        if r.cells.get("record") == "organisation"
    }
    items: dict[str, RawRecord] = {}
    kept: list[RawRecord] = []
    for record in sheet.records:
        kind = record.cells.get("record", "")
        if kind not in ZONE_KINDS:
            refuse(record, "record", f"区域通办目录不交换“{kind}”记录")
            continue
        if kind == "item":
            items.setdefault(item_code(record.cells), record)
            if _uscc(record.cells.get("organisation", "")) not in usccs:
                refuse(record, "organisation", "事项的实施主体不在该节点答复的部门机构中")
        outside = prefix and not record.cells.get("division", "").startswith(prefix)
        if kind in ("organisation", "item") and outside:
            refuse(record, "division", f"所属区划不在该节点的辖区（{division}）内")
        kept.append(record)
    for org in Organisation.objects.filter(uscc__in=usccs).exclude(node=node):
        owner = "本节点" if org.is_local else f"节点 {org.node}"
        refuse(usccs[org.uscc], "uscc", f"部门机构 {org.name}（{org.uscc}）属于{owner}，不能被覆盖")
    for item in ServiceItem.objects.filter(code__in=items).select_related("organisation"):
        if item.organisation.node != node:
            owner = "本节点" if item.organisation.is_local else f"节点 {item.organisation.node}"
            refuse(
                items[item.code], "implementation_code", f"事项 {item.code} 属于{owner}，不能被覆盖"
            )
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field or ""))
        raise RuleViolation(
            "zone_answer_refused",
            f"节点 {node} 的区域通办目录中有 {len(problems)} 处不属于该节点的内容，整份未导入",
            problems=problems,
        )
    return (
        Sheet(records=_without_known_master_data(kept), problems=sheet.problems),
        set(usccs),
        set(items),
    )


def _uscc(text: str) -> str:
    try:
        return normalize_uscc(text)
    except ValidationError:
        return text.strip().upper()  # the import reports it


def _without_known_master_data(records: list[RawRecord]) -> list[RawRecord]:
    """The records less the licence types (with their face fields) and schemes this node
    already has: another node's answer never changes them here."""
    licence_codes = {
        r.cells.get("code", "").upper() for r in records if r.cells.get("record") == "licence_type"
    }
    scheme_codes = {r.cells.get("code", "") for r in records if r.cells.get("record") == "scheme"}
    known_licences = set(
        LicenceType.objects.filter(code__in=licence_codes).values_list("code", flat=True)
    )
    known_schemes = set(
        RegionalScheme.objects.filter(code__in=scheme_codes).values_list("code", flat=True)
    )

    def known(record: RawRecord) -> bool:
        cells = record.cells
        match cells.get("record"):
            case "licence_type":
                return cells.get("code", "").upper() in known_licences
            case "face_field":
                return cells.get("licence_type", "").upper() in known_licences
            case "scheme":
                return cells.get("code", "") in known_schemes
        return False

    return [r for r in records if not known(r)]


# --- syncing --------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneSync:
    """The outcome of syncing one member node: its import, or why it failed."""

    node: str
    name: str
    imported: ZoneImport | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.imported is not None


def sync_zone(*, actor: Actor = SYNC_ACTOR) -> list[ZoneSync]:
    """Ask every other member node of the directory for its part of the regional zone and
    import each answer (`import_zone`), one node at a time. A node that cannot be reached
    or whose answer is refused keeps its cached items; its error is recorded on its
    `ZoneSource` and the other nodes are still synced. Raises RuleViolation when there is
    no valid directory."""
    try:
        members = [n for n in directory.current().nodes.values() if n.id != settings.NODE_ID]
    except DirectoryUnavailable as exc:
        raise RuleViolation("directory_unavailable", f"无法同步区域通办目录：{exc}") from exc
    return [_sync_node(node, actor=actor) for node in sorted(members, key=lambda n: n.division)]


def _sync_node(node: Node, *, actor: Actor) -> ZoneSync:
    name = node_display_name(node.division, node.name)
    source, _ = ZoneSource.objects.get_or_create(node=node.id, defaults={"name": name})
    attempted_at = timezone.now()
    try:
        answer = services.ask(node.id, ZONE_QUERY, {})
        with transaction.atomic():
            imported = import_zone(answer, node=node.id, division=node.division, actor=actor)
            ZoneSource.objects.filter(pk=source.pk).update(
                name=name,
                synced_at=attempted_at,
                attempted_at=attempted_at,
                item_count=imported.items,
                offered=imported.entries,
                last_error="",
            )
            if imported.result.changed:
                record_audit(
                    actor=actor,
                    action="sync_zone",
                    obj=source,
                    summary=f"同步{name}的区域通办目录：{imported.result.summary()}",
                )
    except (services.FederationUnavailable, RuleViolation) as exc:
        error = f"无法连接：{exc}" if isinstance(exc, services.FederationUnavailable) else str(exc)
        log.warning("regional zone: sync with %s failed: %s", node.id, error)
        ZoneSource.objects.filter(pk=source.pk).update(
            name=name, attempted_at=attempted_at, last_error=error[:4000]
        )
        return ZoneSync(node.id, name, error=error)
    return ZoneSync(node.id, name, imported=imported)


def sync_job() -> str | None:
    """The worker's job (`CatalogConfig.ready()` registers it): sync when this node is part
    of a federation; one line for the worker's log."""
    if not directory.is_federated():
        return None
    try:
        outcomes = sync_zone()
    except RuleViolation as exc:
        log.warning("regional zone: %s", exc.message)
        return None
    failed = [o.name for o in outcomes if not o.ok]
    return f"区域通办同步：{len(outcomes) - len(failed)} 个节点成功" + (
        f"，{'、'.join(failed)}失败" if failed else ""
    )


def register() -> None:
    """Answer `catalog.zone` for the other members."""
    registry.register_query(ZONE_QUERY, ZoneQuestion, answer_zone)
