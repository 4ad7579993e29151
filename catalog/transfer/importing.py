"""Import of a catalog file: every row checked, every change made by the services, all or
nothing.

Two passes inside one transaction. The first reads every row on its own (kind, columns,
cell values) and against the rest of the file and the database (references, duplicates,
form and face fields). The second applies the file unit by unit through the catalog and
core services (an organisation, a licence type with its face, an item version with its
materials, a list version with its entries), each in a savepoint, so that a rule a
service enforces is reported with the row it concerns and the other units are still
checked. A unit that depends on a failed one is skipped, so one mistake is reported once.
Any problem rolls the whole transaction back and is raised as one
`RuleViolation("catalog_import_invalid")` listing every problem.

What already exists and is identical is skipped, so importing a file twice changes nothing
the second time; a published version that differs from the file is refused (published
versions are never changed: add a version with a new number instead).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction

from catalog.form_schema import FormField, parse_form_fields
from catalog.models import (
    ItemCategory,
    ItemList,
    ItemVersion,
    LicenceType,
    ListVersion,
    PublicationStatus,
    RegionalScheme,
    ServiceItem,
    Theme,
)
from catalog.services import (
    AvailabilityData,
    EntryData,
    MaterialData,
    create_item_version,
    create_list_version,
    publish_item_version,
    publish_list_version,
    save_item_list,
    save_licence_type,
    save_regional_scheme,
    save_service_item,
)
from catalog.transfer.columns import ITEM_IDENTITY, KINDS, CellError, Record, item_code
from catalog.transfer.exporting import (
    as_record,
    item_identity,
    licence_type_records,
    list_version_records,
    version_records,
)
from catalog.transfer.files import Sheet
from core.actors import Actor
from core.exceptions import ProblemList, RuleViolation
from core.models import Division, Organisation
from core.services import save_organisation

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

# What each kind of unit is called in the summary.
UNIT_LABELS = {
    "organisation": "部门机构",
    "licence_type": "证照类型",
    "scheme": "区域协作机制",
    "item": "事项",
    "item_version": "事项版本",
    "list": "事项清单",
    "list_version": "清单版本",
}
OUTCOME_LABELS = {CREATED: "新增", UPDATED: "更新", UNCHANGED: "未变"}

# What a `ref` column refers to: the model, its key field, an alias field accepted too.
REFERENCES: dict[str, tuple[type[models.Model], str, str | None, str]] = {
    "division": (Division, "code", None, "行政区划代码"),
    "organisation": (Organisation, "uscc", None, "部门机构"),
    "theme": (Theme, "code", "name", "主题"),
    "licence_type": (LicenceType, "code", None, "证照类型"),
    "scheme": (RegionalScheme, "code", None, "区域协作机制"),
    "item": (ServiceItem, "code", None, "事项"),
    "list": (ItemList, "code", None, "清单"),
}

# Columns a service's problem names, by the code of the rule it broke.
FIELD_OF_RULE = {
    "version_effective_before_predecessor": "effective_from",
    "published_version_differs": "version",
    "version_is_draft": "version",
    "version_number_taken": "version",
    "draft_exists": "version",
    "licence_type_code_invalid": "code",
    "holder_kind_unknown": "holder_kind",
    "licence_type_issuer_kind_too_long": "issuer_kind",
    "licence_type_validity_invalid": "valid_years",
    "scheme_without_members": "members",
    "list_scheme_missing": "scheme",
    "list_scheme_unexpected": "scheme",
    "list_scope_frozen": "scope",
    "item_frozen": "organisation",
}


class Progress(Protocol):
    """Told how far an import has got (the command draws a progress bar with it)."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, rows: int = 1) -> None: ...


class _Silent:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, rows: int = 1) -> None:
        pass


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would have done)."""

    records: int
    dry_run: bool
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, unit: str, outcome: str) -> int:
        return self.counts[(unit, outcome)]

    @property
    def changed(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome != UNCHANGED)

    def summary(self) -> str:
        parts = []
        for unit, label in UNIT_LABELS.items():
            done = [
                f"{OUTCOME_LABELS[o]} {self.counts[(unit, o)]}"
                for o in (CREATED, UPDATED, UNCHANGED)
                if self.counts[(unit, o)]
            ]
            if done:
                parts.append(f"{label}：{'，'.join(done)}")
        head = "校验通过（试运行，未写入）" if self.dry_run else "导入完成"
        return f"{head}，共 {self.records} 条记录。" + "；".join(parts)


def import_sheet(
    sheet: Sheet, *, actor: Actor, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Import the records of a read file (see the module docstring); raise
    RuleViolation("catalog_import_invalid") with every problem, having written nothing."""
    progress = progress or _Silent()
    problems = ProblemList(list(sheet.problems.problems))
    result = ImportResult(records=len(sheet.records), dry_run=dry_run)
    with transaction.atomic():
        progress.start("校验", len(sheet.records))
        records = _parse(sheet, problems, progress)
        plan = _Plan.build(records, problems)
        bad_rows = {p.row for p in problems.problems if p.row is not None}
        _Applier(plan, actor, problems, result).run(bad_rows, progress)
        problems.problems.sort(key=lambda p: (p.row or 0, p.field or ""))
        problems.raise_if_any(
            "catalog_import_invalid",
            f"目录文件有 {len(problems.problems)} 处错误，未导入任何内容",
        )
        if dry_run:
            transaction.set_rollback(True)
    return result


def _parse(sheet: Sheet, problems: ProblemList, progress: Progress) -> list[Record]:
    """Each row as a typed record; a row with bad cells keeps the values that parsed."""
    records = []
    for raw in sheet.records:
        progress.advance()
        name = raw.cells.get("record", "")
        kind = KINDS.get(name)
        if kind is None:
            reason = f"未知的记录类型“{name}”" if name else "缺少记录类型"
            problems.add(f"{reason}（可选：{'、'.join(KINDS)}）", row=raw.row, field="record")
            continue
        values: dict[str, Any] = {}
        for column in kind.columns:
            text = raw.cells.get(column.name, "")
            if not text and column.required:
                problems.add(f"请填写“{column.label}”", row=raw.row, field=column.name)
                continue
            try:
                values[column.name] = column.parse(text)
            except CellError as exc:
                problems.add(f"{column.label}：{exc}", row=raw.row, field=column.name)
        for name in raw.cells:
            if name != "record" and name not in kind.by_name:
                problems.add(
                    f"{kind.name} 记录不使用“{name}”列，请清空该单元格", row=raw.row, field=name
                )
        records.append(Record(kind.name, values, raw.row))
    return records


def _field_specs(records: list[Record]) -> list[dict[str, Any]]:
    """`form_field` or `face_field` rows as the field definitions `FormField` reads."""
    names = FormField.model_fields
    return [{k: v for k, v in r.values.items() if k in names} for r in records]


@dataclass
class _LicenceTypePlan:
    """A licence type in the file: its `licence_type` record and its `face_field` rows."""

    record: Record
    face_fields: list[Record] = field(default_factory=list)

    def records(self) -> list[Record]:
        return [self.record, *self.face_fields]

    def face_field_specs(self) -> list[dict[str, Any]]:
        return _field_specs(self.face_fields)


@dataclass
class _VersionPlan:
    """An item version in the file: its `item` record and the rows that belong to it."""

    record: Record
    materials: list[Record] = field(default_factory=list)
    form_fields: list[Record] = field(default_factory=list)
    availabilities: list[Record] = field(default_factory=list)

    def records(self) -> list[Record]:
        ordered = sorted(
            self.availabilities, key=lambda r: (r.values.get("scope"), r.values.get("mode"))
        )
        return [self.record, *self.materials, *self.form_fields, *ordered]

    def form_field_specs(self) -> list[dict[str, Any]]:
        return _field_specs(self.form_fields)


@dataclass
class _ListVersionPlan:
    record: Record
    entries: list[Record] = field(default_factory=list)

    def records(self) -> list[Record]:
        return [self.record, *self.entries]


# The rows that belong to a version: the column naming its owner, the plan attribute
# holding the versions, the version's attribute holding such rows, the owner's record kind
# and what it is called.
_PARTS = {
    "material": ("item", "versions", "materials", "item", "事项"),
    "form_field": ("item", "versions", "form_fields", "item", "事项"),
    "availability": ("item", "versions", "availabilities", "item", "事项"),
    "list_entry": ("list", "list_versions", "entries", "list_version", "清单"),
}


@dataclass
class _Plan:
    """The file's records grouped by what they define, keyed as the database keys them."""

    organisations: dict[str, Record] = field(default_factory=dict)
    licence_types: dict[str, _LicenceTypePlan] = field(default_factory=dict)
    schemes: dict[str, Record] = field(default_factory=dict)
    items: dict[str, list[Record]] = field(default_factory=dict)
    versions: dict[tuple[str, int], _VersionPlan] = field(default_factory=dict)
    lists: dict[str, Record] = field(default_factory=dict)
    list_versions: dict[tuple[str, int], _ListVersionPlan] = field(default_factory=dict)

    @classmethod
    def build(cls, records: list[Record], problems: ProblemList) -> _Plan:
        plan = cls()
        for record in records:
            plan._add(record, problems)
        for record in records:
            plan._attach(record, problems)
        plan._check_items(problems)
        _References(plan).resolve(records, problems)
        plan._check_form_fields(problems)
        return plan

    def defined(self) -> dict[str, Iterable[str]]:
        """What the file itself defines, by reference kind."""
        return {
            "organisation": self.organisations,
            "licence_type": self.licence_types,
            "scheme": self.schemes,
            "item": self.items,
            "list": self.lists,
        }

    def _add(self, record: Record, problems: ProblemList) -> None:
        v = record.values
        key: tuple[Any, Any]
        match record.kind:
            case "organisation":
                _once(self.organisations, v.get("uscc"), record, problems, "uscc")
            case "licence_type":
                plan = _LicenceTypePlan(record)
                _once(self.licence_types, v.get("code"), plan, problems, "code")
            case "scheme":
                _once(self.schemes, v.get("code"), record, problems, "code")
            case "list":
                _once(self.lists, v.get("code"), record, problems, "code")
            case "item":
                key = (item_code(v), v.get("version"))
                if _once(self.versions, key, _VersionPlan(record), problems, "version"):
                    self.items.setdefault(key[0], []).append(record)
            case "list_version":
                key = (v.get("list"), v.get("version"))
                _once(self.list_versions, key, _ListVersionPlan(record), problems, "version")

    def _attach(self, record: Record, problems: ProblemList) -> None:
        """Put a face field under its licence type, and a material, form field,
        availability or list entry under its version."""
        if record.kind == "face_field":
            code = record.values.get("licence_type")
            if not code:
                return
            licence_type = self.licence_types.get(code)
            if licence_type is None:
                problems.add(
                    f"文件中没有证照类型 {code} 的 licence_type 记录",
                    row=record.row,
                    field="licence_type",
                )
            else:
                licence_type.face_fields.append(record)
            return
        if record.kind not in _PARTS:
            return
        owner, plans, parts, parent_kind, noun = _PARTS[record.kind]
        key = (record.values.get(owner), record.values.get("version"))
        if None in key:
            return
        plan = getattr(self, plans).get(key)
        if plan is None:
            problems.add(
                f"文件中没有{noun} {key[0]} 第 {key[1]} 版的 {parent_kind} 记录",
                row=record.row,
                field=owner,
            )
        else:
            getattr(plan, parts).append(record)

    def _check_items(self, problems: ProblemList) -> None:
        """The version rows of one item must agree on what the item itself is."""
        for records in self.items.values():
            first = records[0]
            for record in records[1:]:
                for name in ITEM_IDENTITY:
                    if name in record.values and record.values[name] != first.values.get(name):
                        problems.add(
                            f"同一事项各版本的“{name}”应一致（第 {first.row} 行为"
                            f"“{first.values.get(name)}”）",
                            row=record.row,
                            field=name,
                        )

    def _check_form_fields(self, problems: ProblemList) -> None:
        bad_rows = {p.row for p in problems.problems}
        for licence_type in self.licence_types.values():
            if any(r.row in bad_rows for r in licence_type.face_fields):
                continue
            found = ProblemList()
            parse_form_fields(
                licence_type.face_field_specs(), found, prefix="face_fields", noun="照面字段"
            )
            for problem in found.problems:
                row, where = _locate_in_licence_type(licence_type, problem.field)
                problems.add(problem.reason, row=row, field=where)
        for version in self.versions.values():
            if any(r.row in bad_rows for r in version.form_fields):
                continue  # its cells are already reported; the rest would only repeat them
            found = ProblemList()
            parse_form_fields(version.form_field_specs(), found)
            for problem in found.problems:
                row, where = _locate_in_version(version, problem.field)
                problems.add(problem.reason, row=row, field=where)


def _once(
    seen: dict[Any, Any], key: Any, value: Any, problems: ProblemList, field_name: str
) -> bool:
    """Register `value` under `key` unless the key is incomplete or already taken."""
    record = value if isinstance(value, Record) else value.record
    if not all(part not in (None, "") for part in (key if isinstance(key, tuple) else (key,))):
        return False
    if key in seen:
        first = seen[key] if isinstance(seen[key], Record) else seen[key].record
        problems.add(f"与第 {first.row} 行重复", row=record.row, field=field_name)
        return False
    seen[key] = value
    return True


class _References:
    """Checks every reference column against the database and the file, and rewrites each
    to the canonical code (a theme may be named by its Chinese name)."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan

    def resolve(self, records: list[Record], problems: ProblemList) -> None:
        wanted: dict[str, set[str]] = {ref: set() for ref in REFERENCES}
        for _record, column, tokens in self._references(records):
            wanted[column.ref].update(tokens)
        known = {ref: self._known(ref, tokens) for ref, tokens in wanted.items()}
        for ref, defined in self.plan.defined().items():
            known[ref].update({code: code for code in defined})
        for record, column, tokens in self._references(records):
            ref = column.ref
            assert ref is not None
            label = REFERENCES[ref][3]
            unknown = [t for t in tokens if t not in known[ref]]
            for token in unknown:
                where = "" if ref in {"division", "theme"} else "（数据库和本文件中都没有）"
                problems.add(f"未知的{label}：{token}{where}", row=record.row, field=column.name)
            if isinstance(record.values[column.name], list):
                resolved = {known[ref][t] for t in tokens if t in known[ref]}
                record.values[column.name] = sorted(resolved)
        self._check_categories(records, problems)

    @staticmethod
    def _references(records: list[Record]) -> Iterable[tuple[Record, Any, list[str]]]:
        for record in records:
            for column in KINDS[record.kind].columns:
                value = record.values.get(column.name)
                if column.ref and value:
                    yield record, column, value if isinstance(value, list) else [value]

    @staticmethod
    def _known(ref: str, tokens: set[str]) -> dict[str, str]:
        model, key, alias, _ = REFERENCES[ref]
        if not tokens:
            return {}
        lookup = models.Q(**{f"{key}__in": tokens})
        if alias:
            lookup |= models.Q(**{f"{alias}__in": tokens})
        known: dict[str, str] = {}
        for code, name in model._default_manager.filter(lookup).values_list(key, alias or key):
            known[code] = code
            known[name] = code
        return known

    @staticmethod
    def _check_categories(records: list[Record], problems: ProblemList) -> None:
        existing = set(ItemCategory.objects.values_list("system", "code"))
        for record in records:
            pair = (record.values.get("category_system"), record.values.get("category_code"))
            if record.kind == "item" and None not in pair and pair not in existing:
                problems.add(
                    f"未知的事项类型：编码体系 {pair[0]} 中没有代码 {pair[1]}",
                    row=record.row,
                    field="category_code",
                )


# The column a problem about a whole material, form field or availability row points at.
_WHOLE_ROW_FIELD = {"materials": "name", "form_fields": None, "availabilities": "mode"}


def _locate_in_version(version: _VersionPlan, name: str | None) -> tuple[int | None, str | None]:
    """The row and column a problem of a version's rule names (`form_fields[2].type`)."""
    row = version.record.row
    match = re.fullmatch(r"(\w+)\[(\d+)\](?:\.(.+))?", name or "")
    if match:
        group, index, rest = match.group(1), int(match.group(2)), match.group(3)
        parts = {
            "materials": version.materials,
            "form_fields": version.form_fields,
            "availabilities": version.availabilities,
        }
        if group in parts and index < len(parts[group]):
            return parts[group][index].row, rest or _WHOLE_ROW_FIELD[group]
        return row, group
    if name == "availability" and version.availabilities:
        return version.availabilities[0].row, "divisions"
    return row, name


def _locate_in_licence_type(
    licence_type: _LicenceTypePlan, name: str | None
) -> tuple[int | None, str | None]:
    """The row and column a problem of a licence type names (`face_fields[2].type`)."""
    match = re.fullmatch(r"face_fields\[(\d+)\](?:\.(.+))?", name or "")
    if match and int(match.group(1)) < len(licence_type.face_fields):
        row = licence_type.face_fields[int(match.group(1))].row
        # A problem of the whole field (its definition is not an object) points at its name.
        return row, (match.group(2) or "name").split(".")[0]
    return licence_type.record.row, None if name == "face_fields" else name


def _locate_in_list_version(
    version: _ListVersionPlan, name: str | None
) -> tuple[int | None, str | None]:
    match = re.fullmatch(r"entries\[(.+)\]", name or "")
    if match:
        for entry in version.entries:
            if entry.values.get("item") == match.group(1):
                return entry.row, "item"
    return version.record.row, name


@dataclass
class _Unit:
    """One thing the second pass writes: what it defines (for its dependants), its rows,
    what in the file it needs, how to write it, and where its problems belong."""

    kind: str
    key: tuple[str, str]
    rows: list[int]
    needs: set[tuple[str, str]]
    apply: Callable[[], str]
    locate: Callable[[str | None], tuple[int | None, str | None]]


def _needs(records: Sequence[Record]) -> set[tuple[str, str]]:
    needs: set[tuple[str, str]] = set()
    for _record, column, tokens in _References._references(list(records)):
        needs.update((column.ref, t) for t in tokens)
    return needs


def _at(row: int | None) -> Callable[[str | None], tuple[int | None, str | None]]:
    return lambda name: (row, name)


class _Applier:
    """The second pass: writes the plan through the services, unit by unit."""

    def __init__(
        self, plan: _Plan, actor: Actor, problems: ProblemList, result: ImportResult
    ) -> None:
        self.plan, self.actor, self.problems, self.result = plan, actor, problems, result

    def run(self, bad_rows: set[int], progress: Progress) -> None:
        failed: set[tuple[str, str]] = set()
        units = list(self._units())
        progress.start("写入", sum(len(unit.rows) for unit in units))
        for unit in units:
            progress.advance(len(unit.rows))
            if unit.needs & failed or bad_rows.intersection(unit.rows):
                failed.add(unit.key)
                continue
            try:
                with transaction.atomic():
                    outcome = unit.apply()
            except RuleViolation as exc:
                failed.add(unit.key)
                self._report(exc, unit)
            except (ValidationError, DatabaseError) as exc:
                failed.add(unit.key)
                reason = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.problems.add(f"写入失败：{reason}", row=unit.rows[0])
            else:
                self.result.counts[(unit.kind, outcome)] += 1

    def _report(self, exc: RuleViolation, unit: _Unit) -> None:
        if not exc.problems:
            row, name = unit.locate(None)
            self.problems.add(
                exc.message, row=row, field=FIELD_OF_RULE.get(exc.code, name), code=exc.code
            )
        for problem in exc.problems:
            row, name = unit.locate(problem.field)
            self.problems.add(problem.reason, row=row, field=name, code=exc.code)

    def _units(self) -> Iterable[_Unit]:
        plan = self.plan
        for code, record in sorted(plan.organisations.items()):
            yield self._master_unit("organisation", code, record)
        for code, licence_type in sorted(plan.licence_types.items()):
            records = licence_type.records()
            yield _Unit(
                "licence_type",
                ("licence_type", code),
                [r.row for r in records if r.row],
                _needs(records) - {("licence_type", code)},
                partial(self._licence_type, licence_type),
                partial(_locate_in_licence_type, licence_type),
            )
        for code, record in sorted(plan.schemes.items()):
            yield self._master_unit("scheme", code, record)
        for code, records in sorted(plan.items.items()):
            yield _Unit(
                "item",
                ("item", code),
                [r.row for r in records if r.row],
                _needs(records) - {("item", code)},
                partial(self._item, records[0]),
                _at(records[0].row),
            )
        for (code, _number), version in sorted(plan.versions.items()):
            yield _Unit(
                "item_version",
                ("item", code),
                [r.row for r in version.records() if r.row],
                _needs(version.records()) | {("item", code)},
                partial(self._item_version, version),
                partial(_locate_in_version, version),
            )
        for code, record in sorted(plan.lists.items()):
            yield self._master_unit("list", code, record)
        for (code, _number), list_version in sorted(plan.list_versions.items()):
            yield _Unit(
                "list_version",
                ("list", code),
                [r.row for r in list_version.records() if r.row],
                _needs(list_version.records()),
                partial(self._list_version, list_version),
                partial(_locate_in_list_version, list_version),
            )

    def _master_unit(self, kind: str, code: str, record: Record) -> _Unit:
        return _Unit(
            kind,
            (kind, code),
            [record.row] if record.row else [],
            _needs([record]) - {(kind, code)},
            partial(self._master, record),
            _at(record.row),
        )

    # Writers: each compares with what exists, then calls the service. ------------------

    def _master(self, record: Record) -> str:
        model, key, save = _MASTER_DATA[record.kind]
        existing = model._default_manager.filter(**{key: record.values[key]}).first()
        return _upsert(
            record,
            as_record(record.kind, existing) if existing else None,
            lambda: save(**_objects(record.values), actor=self.actor),
        )

    def _licence_type(self, licence_type: _LicenceTypePlan) -> str:
        values = licence_type.record.values
        existing = LicenceType.objects.filter(code=values["code"]).first()
        if existing is not None and [r.values for r in licence_type_records(existing)] == [
            r.values for r in licence_type.records()
        ]:
            return UNCHANGED
        save_licence_type(**values, face_fields=licence_type.face_field_specs(), actor=self.actor)
        return UPDATED if existing is not None else CREATED

    def _item(self, record: Record) -> str:
        identity = {name: record.values[name] for name in ITEM_IDENTITY}
        existing = (
            ServiceItem.objects.select_related("organisation", "division")
            .filter(code=item_code(identity))
            .first()
        )
        return _upsert(
            Record("item", identity),
            Record("item", item_identity(existing)) if existing else None,
            lambda: save_service_item(**_objects(identity), actor=self.actor),
        )

    def _item_version(self, version: _VersionPlan) -> str:
        v = version.record.values
        code, number = item_code(v), v["version"]
        existing = ItemVersion.objects.filter(item__code=code, number=number).first()
        if existing is not None:
            _check_same(
                existing.status,
                version_records(existing),
                version.records(),
                f"事项 {code} 第 {number} 版",
            )
            return UNCHANGED
        guide = {name: value for name, value in v.items() if name not in _NOT_GUIDE}
        guide["category"] = ItemCategory.objects.get(
            system=v["category_system"], code=v["category_code"]
        )
        guide["result_licence_type"] = _licence(v["result_licence_type"])
        guide["form_fields"] = [
            spec.model_dump(mode="json", exclude_defaults=True)
            for spec in parse_form_fields(version.form_field_specs(), ProblemList())
        ]
        draft = create_item_version(
            ServiceItem.objects.get(code=code),
            number=number,
            effective_from=v["effective_from"],
            change_note=v["change_note"],
            guide=guide,
            themes=Theme.objects.filter(code__in=v["themes"]),
            materials=[
                MaterialData(**{**_without_ref(m), "licence_type": _licence(m["licence_type"])})
                for m in (r.values for r in version.materials)
            ],
            availabilities=[
                AvailabilityData(
                    scope=a["scope"],
                    mode=a["mode"],
                    scheme=_scheme(a["scheme"]),
                    divisions=tuple(Division.objects.filter(code__in=a["divisions"])),
                )
                for a in (r.values for r in version.availabilities)
            ],
            actor=self.actor,
        )
        publish_item_version(draft, actor=self.actor)
        return CREATED

    def _list_version(self, list_version: _ListVersionPlan) -> str:
        v = list_version.record.values
        code, number = v["list"], v["version"]
        existing = (
            ListVersion.objects.select_related("item_list")
            .filter(item_list__code=code, number=number)
            .first()
        )
        if existing is not None:
            _check_same(
                existing.status,
                list_version_records(existing),
                list_version.records(),
                f"清单 {code} 第 {number} 版",
            )
            return UNCHANGED
        items = ServiceItem.objects.in_bulk(
            [e.values["item"] for e in list_version.entries], field_name="code"
        )
        draft = create_list_version(
            ItemList.objects.get(code=code),
            number=number,
            effective_from=v["effective_from"],
            change_note=v["change_note"],
            entries=[
                EntryData(items[e["item"]], tuple(e["modes"]), e["note"])
                for e in (r.values for r in list_version.entries)
            ],
            actor=self.actor,
        )
        publish_list_version(draft, actor=self.actor)
        return CREATED


def _upsert(record: Record, existing: Record | None, save: Callable[[], object]) -> str:
    """Skip what is already identical; otherwise save through the service."""
    if existing is not None and existing.values == record.values:
        return UNCHANGED
    save()
    return UPDATED if existing is not None else CREATED


# Columns of an `item` record that are not copied as they are onto its `ItemVersion`.
_NOT_GUIDE = {
    *ITEM_IDENTITY,
    "version",
    "effective_from",
    "change_note",
    "category_system",
    "category_code",
    "themes",
    "result_licence_type",
}


def _without_ref(values: dict[str, Any]) -> dict[str, Any]:
    """The values of a version's row less the columns naming the version."""
    return {k: v for k, v in values.items() if k not in ("item", "version")}


# Master data: the model, the column that keys it, and the service that saves it.
_MASTER_DATA: dict[str, tuple[type[models.Model], str, Callable[..., object]]] = {
    "organisation": (Organisation, "uscc", save_organisation),
    "scheme": (RegionalScheme, "code", save_regional_scheme),
    "list": (ItemList, "code", save_item_list),
}


def _objects(values: dict[str, Any]) -> dict[str, Any]:
    """Record values as a service takes them: references as model instances."""
    resolve: dict[str, Callable[[Any], Any]] = {
        "division": lambda code: Division.objects.get(code=code),
        "members": lambda codes: list(Division.objects.filter(code__in=codes)),
        "organisation": lambda uscc: Organisation.objects.get(uscc=uscc),
        "scheme": _scheme,
    }
    return {k: resolve[k](v) if k in resolve else v for k, v in values.items()}


def _licence(code: str) -> LicenceType | None:
    return LicenceType.objects.get(code=code) if code else None


def _scheme(code: str) -> RegionalScheme | None:
    return RegionalScheme.objects.get(code=code) if code else None


def _check_same(status: str, stored: list[Record], wanted: list[Record], what: str) -> None:
    """A version that exists may only be re-imported unchanged, and only once published."""
    if status != PublicationStatus.PUBLISHED:
        raise RuleViolation(
            "version_is_draft", f"{what}是未发布的草稿，请先在后台发布或删除该草稿后再导入"
        )
    differences = _differences(stored, wanted)
    if differences:
        raise RuleViolation(
            "published_version_differs",
            f"已发布版本不可修改，请新增版本号（{what}与已发布内容不同：{'、'.join(differences)}）",
        )


def _differences(stored: list[Record], wanted: list[Record]) -> list[str]:
    head, rest = stored[0], stored[1:]
    kind = KINDS[head.kind]
    names = [
        kind.by_name[name].label
        for name in head.values
        if name not in ITEM_IDENTITY and head.values[name] != wanted[0].values.get(name)
    ]
    for part in dict.fromkeys(r.kind for r in rest + wanted[1:]):
        before = [r.values for r in rest if r.kind == part]
        after = [r.values for r in wanted[1:] if r.kind == part]
        if before != after:
            names.append(KINDS[part].label)
    return names
