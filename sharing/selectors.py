"""Reads of the sharing app, each in a constant number of queries: the catalog, the
requests a user may see, the data log of a person or a company, the alerts of the data
authority, and the coverage figures supervision reads (减材料 per item, 应享尽享 per
provider)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from accounts.agents import acting_companies
from accounts.models import Company, Person, Role, StaffRole
from catalog.models import ItemVersion, Material
from core.exceptions import NotFound, RuleViolation
from core.models import division_code_prefix
from core.personal_data import lookup_hash
from federation.directory import node_names
from sharing.models import (
    AccessLog,
    DataResource,
    Grant,
    HeldGrant,
    RemoteRequest,
    RemoteRequestStatus,
    SharingAlert,
    SharingClass,
    SharingRequest,
)

# Catalog -------------------------------------------------------------------------------------


def published_resources() -> QuerySet[DataResource]:
    """The sharing catalog as others see it (resources classed 不予共享 are listed too: the
    catalog says what exists and why it is not shared)."""
    return DataResource.objects.filter(published=True).select_related("provider").order_by("code")


def get_resource(code: str) -> DataResource:
    resource = published_resources().filter(code=code).first()
    if resource is None:
        raise NotFound("resource_not_found", f"没有信息资源 {code}", status=404)
    return resource


# Requests and grants ---------------------------------------------------------------------------


def requests_for(user: Any, *, state: str = "") -> QuerySet[SharingRequest]:
    rows = SharingRequest.objects.for_user(user).select_related(
        "resource__provider", "consumer", "workflow", "grant"
    )
    return rows.filter(state=state) if state else rows


def get_request_for(user: Any, number: str) -> SharingRequest:
    found = requests_for(user).filter(number=number).first()
    if found is None:
        raise NotFound("sharing_request_not_found", f"没有共享需求 {number}", status=404)
    return found


def grants_of(user: Any) -> QuerySet[Grant]:
    """The grants the user's organisations hold from this node's providers."""
    orgs = StaffRole.objects.filter(user=user).values("organisation_id")
    return Grant.objects.filter(consumer_id__in=orgs).select_related("resource__provider")


def held_grants_of(user: Any) -> QuerySet[HeldGrant]:
    """The grants the user's organisations hold from other nodes."""
    orgs = StaffRole.objects.filter(user=user).values("organisation_id")
    return HeldGrant.objects.filter(consumer_id__in=orgs).select_related("consumer")


# The data log ----------------------------------------------------------------------------------


def department_roles(user: Any, *, doing: str) -> list[StaffRole]:
    """The user's staff roles, with their organisations: requests to other nodes are a
    department's work, so a user with none is refused (403), saying what they tried."""
    roles = list(StaffRole.objects.filter(user_id=user.pk or 0).select_related("organisation"))
    if not roles:
        raise RuleViolation("action_forbidden", f"只有部门工作人员可以{doing}", status=403)
    return roles


def remote_requests_of(user: Any, *, state: str = "") -> QuerySet[RemoteRequest]:
    """What the user's organisations asked of other nodes, with the status the providers'
    nodes last told (this node's live copies), newest first, narrowed to one status; the
    page and the API alike. A status that does not exist is refused (422)."""
    if state and state not in RemoteRequestStatus.values:
        raise RuleViolation("unknown_state", f"未知的需求状态：{state}")
    orgs = {role.organisation_id for role in department_roles(user, doing="查看共享需求")}
    rows = RemoteRequest.objects.filter(consumer_id__in=orgs).select_related("consumer")
    return rows.filter(status=state) if state else rows


def data_log_of_person(person: Person) -> QuerySet[AccessLog]:
    """Every call about `person` by another organisation: who, when, purpose, case, answer
    (refused attempts too: they read nothing, and the person may see that as well)."""
    return (
        AccessLog.objects.filter(subject_hash=person.id_number_hash)
        .select_related("resource", "consumer")
        .order_by("-at", "-id")
    )


def data_log_of_companies(user: Any) -> QuerySet[AccessLog]:
    """Every call about the companies `user` is an agent of."""
    hashes = [lookup_hash(uscc) for uscc in acting_companies(user).values_list("uscc", flat=True)]
    return (
        AccessLog.objects.filter(subject_hash__in=hashes)
        .select_related("resource", "consumer")
        .order_by("-at", "-id")
    )


def companies_of(user: Any) -> list[Company]:
    return list(acting_companies(user).order_by("name"))


# Alerts -----------------------------------------------------------------------------------------


def alerts_for(user: Any) -> QuerySet[SharingAlert]:
    """The alerts a supervisor (the data authority) sees: those in divisions they watch."""
    if user is None or not getattr(user, "is_authenticated", False):
        return SharingAlert.objects.none()
    codes = StaffRole.objects.filter(user=user, role=Role.SUPERVISOR).values_list(
        "division__code", flat=True
    )
    scope = Q(pk__in=[])
    for code in codes:
        scope |= Q(division__code__startswith=division_code_prefix(code))
    return SharingAlert.objects.filter(scope).select_related("call", "provider", "division")


# Coverage figures for supervision ----------------------------------------------------------------


@dataclass(frozen=True)
class ItemCoverage:
    """减材料 of one item version: of its `materials`, how many a licence (免提交) or a
    shared resource can replace (a material both can replace counts once, in `replaced`)."""

    item_version_id: int
    item_name: str
    implementation_code: str
    materials: int
    by_licence: int
    by_sharing: int
    replaced: int

    @property
    def share(self) -> float:
        return self.replaced / self.materials if self.materials else 0.0


def shareable_material_codes() -> set[str]:
    """Material codes a published, shareable resource can replace."""
    codes: set[str] = set()
    for row in (
        DataResource.objects.filter(published=True)
        .exclude(sharing_class=SharingClass.NOT_SHARED)
        .values_list("material_codes", flat=True)
    ):
        codes.update(row)
    return codes


def item_coverage(versions: QuerySet[ItemVersion] | None = None) -> list[ItemCoverage]:
    """Per item version (default: every published one), how many of its materials are
    replaced by licences or by sharing (never those of a secret item). Two or three
    queries whatever the number of items."""
    codes = shareable_material_codes()
    rows = versions if versions is not None else ItemVersion.objects.filter(status="published")
    materials = Material.objects.filter(version__in=rows).values(
        "version_id", "code", "licence_type_id", "version__classified"
    )
    names = {
        v["pk"]: (v["name"], v["item__implementation_code"])
        for v in rows.values("pk", "name", "item__implementation_code")
    }
    counts: dict[int, list[int]] = {pk: [0, 0, 0, 0] for pk in names}
    for m in materials:
        c = counts.setdefault(m["version_id"], [0, 0, 0, 0])
        licence = m["licence_type_id"] is not None
        sharing = bool(m["code"]) and m["code"] in codes and not m["version__classified"]
        c[0] += 1
        c[1] += licence
        c[2] += sharing
        c[3] += licence or sharing
    return [
        ItemCoverage(pk, names[pk][0], names[pk][1], *counts[pk])
        for pk in sorted(names, key=lambda k: names[k][1])
    ]


@dataclass(frozen=True)
class ProviderTimeliness:
    """应享尽享 of one providing organisation: of the requests it answered (or should have
    answered by `as_of`), how many within their deadline."""

    provider_id: int
    provider_name: str
    due: int
    answered: int
    answered_in_time: int

    @property
    def share(self) -> float:
        return self.answered_in_time / self.due if self.due else 1.0


def provider_timeliness(as_of: dt.date | None = None) -> list[ProviderTimeliness]:
    """Per provider, the share of its requests answered within their deadline. A request
    counts once it is answered or its due date has passed (`as_of`, default today);
    withdrawn requests do not count. One query."""
    as_of = as_of or timezone.localdate()
    counted = Q(answered_on__isnull=False) | Q(due_date__lt=as_of)
    rows = (
        SharingRequest.objects.exclude(outcome="withdrawn")
        .filter(counted)
        .values("resource__provider_id", "resource__provider__name")
        .annotate(
            due=Count("pk"),
            answered=Count("pk", filter=Q(answered_on__isnull=False)),
            in_time=Count("pk", filter=Q(answered_on__lte=F("due_date"))),
        )
        .order_by("resource__provider__name")
    )
    return [
        ProviderTimeliness(
            r["resource__provider_id"],
            r["resource__provider__name"],
            r["due"],
            r["answered"],
            r["in_time"],
        )
        for r in rows
    ]


# What a consuming organisation can obtain by sharing --------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A material `consumer` can obtain under a grant instead of asking the applicant: the
    grant (held here or from another node), what it reads and from whom."""

    material_code: str
    grant: str
    resource_name: str
    provider_name: str
    node: str
    subject_kind: str
    fields: tuple[str, ...]
    methods: tuple[str, ...]
    field_labels: tuple[str, ...]
    verify_field: str

    @property
    def personal(self) -> bool:
        return self.subject_kind == "person"

    @property
    def method(self) -> str:
        return "query" if "query" in self.methods else "verify"


def offers_for(
    consumer_id: int, codes: set[str], *, today: dt.date | None = None
) -> dict[str, Offer]:
    """By material code, the grant `consumer_id` can obtain that material with: a grant
    of this node's resources or one held from another node, in force today, allowing a
    verification or a query. Two queries."""
    today = today or timezone.localdate()
    offers: dict[str, Offer] = {}
    if not codes:
        return offers
    grants = Grant.objects.filter(
        consumer_id=consumer_id, revoked_at__isnull=True, expires_on__gte=today
    ).select_related("resource__provider")
    for grant in grants:
        resource = grant.resource
        methods = tuple(m for m in grant.methods if m in ("verify", "query"))
        if not methods or resource.sharing_class == SharingClass.NOT_SHARED:
            continue
        for code in set(resource.material_codes) & codes:
            offers.setdefault(
                code,
                Offer(
                    code,
                    grant.number,
                    resource.name,
                    resource.provider.name,
                    "",
                    resource.subject_kind,
                    tuple(grant.fields),
                    methods,
                    tuple(resource.field_label(f) for f in grant.fields),
                    str(resource.adapter_config.get("verify_field") or grant.fields[0]),
                ),
            )
    held_grants = list(HeldGrant.objects.filter(consumer_id=consumer_id, expires_on__gte=today))
    names = node_names() if held_grants else {}
    for held in held_grants:
        methods = tuple(m for m in held.methods if m in ("verify", "query"))
        if not methods:
            continue
        for code in set(held.material_codes) & codes:
            offers.setdefault(
                code,
                Offer(
                    code,
                    held.number,
                    held.resource_name,
                    provider_label(held.provider_name, held.provider_node, names),
                    held.provider_node,
                    held.subject_kind,
                    tuple(held.fields),
                    methods,
                    tuple(held.field_labels or held.fields),
                    held.fields[0],
                ),
            )
    return offers


def provider_label(provider_name: str, node: str, names: dict[str, str]) -> str:
    """A provider of another node as pages name it: the organisation and the node's name
    from the directory (`names`: `federation.directory.node_names()`), never a bare id."""
    where = names.get(node) or (f"{node} 节点" if node else "")
    if not provider_name:
        return where
    return f"{provider_name}（{where}）" if where else provider_name
