"""Records of the catalog as it stands in the database: every organisation of this node,
licence type (with its face fields) and scheme, every published version of this node's items with
its materials, form fields and availabilities, every list and its published versions with
their entries. `catalog.zone` answers other nodes with a part of the same records.

The importer builds the same records for what already exists, to tell an identical
re-import (skipped) from a changed published version (refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django.db import models
from django.db.models import Prefetch, QuerySet

from catalog.form_schema import parse_form_fields
from catalog.models import (
    PLATFORM_DEFINING_BODY,
    Availability,
    ItemList,
    ItemVersion,
    LicenceType,
    ListEntry,
    ListVersion,
    Material,
    PublicationStatus,
    RegionalScheme,
    ServiceItem,
)
from catalog.transfer.columns import KINDS, Record
from core.exceptions import ProblemList
from core.models import Organisation

PUBLISHED = PublicationStatus.PUBLISHED


def as_record(kind: str, obj: object, **given: Any) -> Record:
    """`obj` as a record of `kind`: each column not `given` is the attribute of that name,
    a related row written as its code, a set of them as sorted codes, no row as empty."""
    values: dict[str, Any] = {}
    for column in KINDS[kind].columns:
        value = given[column.name] if column.name in given else getattr(obj, column.name)
        if isinstance(value, models.Manager):
            value = sorted(related.code for related in value.all())
        elif isinstance(value, models.Model):
            value = cast(Any, value).code
        elif value is None and column.ref:
            value = ""
        values[column.name] = value
    return Record(kind, values)


def item_identity(item: ServiceItem) -> dict[str, str]:
    """The item-level columns of an `item` record."""
    return {
        "basic_code": item.basic_code,
        "implementation_code": item.implementation_code,
        "handling_code": item.handling_code,
        "organisation": item.organisation.uscc,
        "division": item.division.code,
    }


def licence_type_records(licence_type: LicenceType) -> list[Record]:
    """A licence type as records: the `licence_type` record, then its face fields in order."""
    ref = {"licence_type": licence_type.code}
    return [
        as_record("licence_type", licence_type),
        *(
            as_record("face_field", f, **ref)
            for f in parse_form_fields(licence_type.face_fields, ProblemList())
        ),
    ]


def version_records(version: ItemVersion) -> list[Record]:
    """An item version as records: the `item` record, then its materials, form fields and
    availabilities (these sorted by scope and mode, since their order means nothing)."""
    ref = {"item": version.item.code, "version": version.number}
    item = as_record(
        "item",
        version,
        **item_identity(version.item),
        version=version.number,
        category_system=version.category.system,
        category_code=version.category.code,
    )
    return [
        item,
        *(as_record("material", m, **ref) for m in version.materials.all()),
        *(
            as_record("form_field", f, **ref)
            for f in parse_form_fields(version.form_fields, ProblemList())
        ),
        *(
            as_record("availability", a, **ref)
            for a in sorted(version.availabilities.all(), key=lambda a: (a.scope, a.mode))
        ),
    ]


def list_version_records(version: ListVersion) -> list[Record]:
    """A list version as records: the `list_version` record, then its entries in order."""
    ref = {"list": version.item_list.code, "version": version.number}
    return [
        as_record("list_version", version, **ref),
        *(as_record("list_entry", e, **ref, item=e.item.code) for e in version.entries.all()),
    ]


def published_versions() -> QuerySet[ItemVersion]:
    """Every published item version with what its records show joined or prefetched, in
    the order a file is written."""
    return (
        ItemVersion.objects.filter(status=PUBLISHED)
        .select_related("item__organisation", "item__division", "category", "result_licence_type")
        .prefetch_related(
            "themes",
            Prefetch("materials", queryset=Material.objects.select_related("licence_type")),
            Prefetch(
                "availabilities",
                queryset=Availability.objects.select_related("scheme").prefetch_related(
                    "divisions"
                ),
            ),
        )
        .order_by("item__code", "number")
    )


def catalog_records() -> Iterator[Record]:
    """This node's catalog, in the order a file is written; a fixed number of queries.

    Organisations of other nodes and their items (the cached copy of the regional zone,
    `catalog.zone`) are left out: they are their own node's to publish, and a file that
    carried them would make them this node's own when imported again."""
    for org in Organisation.objects.filter(node="").select_related("division").order_by("uscc"):
        yield as_record("organisation", org)
    platform_types = LicenceType.objects.filter(code__startswith=PLATFORM_DEFINING_BODY)
    for licence_type in LicenceType.objects.exclude(pk__in=platform_types).order_by("code"):
        yield from licence_type_records(licence_type)
    for scheme in RegionalScheme.objects.prefetch_related("members").order_by("code"):
        yield as_record("scheme", scheme)
    for version in published_versions().filter(item__organisation__node=""):
        yield from version_records(version)
    lists = ItemList.objects.select_related("scheme").order_by("code")
    for item_list in lists:
        yield as_record("list", item_list)
    list_versions = (
        ListVersion.objects.filter(status=PUBLISHED)
        .select_related("item_list")
        .prefetch_related(Prefetch("entries", queryset=ListEntry.objects.select_related("item")))
        .order_by("item_list__code", "number")
    )
    for list_version in list_versions:
        yield from list_version_records(list_version)
