"""Reads of the hotline, shared by pages, the Open311 API and the rating hook, each at a
constant number of queries: tickets through the one scoping primitive
(`Ticket.objects.for_user`), the dispatch catalog in force, the deadline table, the
statistics per organisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from core.actors import Actor, user_of
from core.clock import Limit
from core.exceptions import NotFound, RuleViolation
from core.models import Division, Organisation
from hotline.models import (
    Centre,
    DeadlineRule,
    DispatchCatalogVersion,
    DispatchCategory,
    DispatchEntry,
    PublicationStatus,
    Ticket,
    TicketAssignment,
    TicketEvent,
)


def deadline_for(province: str, ticket_type: str, urgent: bool) -> Limit:
    """The limit of a ticket of `ticket_type` in `province` (its own row, else the
    national default); 接诉即办 tickets have their own, in hours."""
    rule = (
        DeadlineRule.objects.filter(
            Q(province__code=province) | Q(province__isnull=True),
            ticket_type=ticket_type,
            urgent=urgent,
        )
        .order_by(F("province").asc(nulls_last=True))
        .first()
    )
    if rule is None:
        raise RuleViolation(
            "deadline_rule_missing", f"办理时限表中没有“{ticket_type}”类诉求的时限", status=409
        )
    return Limit(rule.amount, rule.unit)


# The dispatch catalog ----------------------------------------------------------------------


def catalog_in_force(on: dt.date | None = None) -> DispatchCatalogVersion | None:
    on = on or timezone.localdate()
    return (
        DispatchCatalogVersion.objects.filter(
            status=PublicationStatus.PUBLISHED, effective_from__lte=on
        )
        .order_by("-effective_from", "-number")
        .first()
    )


def places_of(division_code: str) -> list[str]:
    """The division and the divisions above it (county, city, province) whose catalog
    entries cover a place."""
    return list(
        dict.fromkeys([division_code, division_code[:4] + "00", division_code[:2] + "0000"])
    )


def entries_for(
    version: DispatchCatalogVersion, category: DispatchCategory, division_code: str
) -> list[DispatchEntry]:
    return list(
        version.entries.filter(category=category, division__code__in=places_of(division_code))
        .select_related("lead", "division")
        .prefetch_related("co_organisers")
        .order_by("-division__code")
    )


@dataclass(frozen=True)
class DispatchOptions:
    """Whom a ticket of a category and place may be dispatched to under the catalog in
    force: the suggested lead and co-organisers (the most local entry's) and every
    organisation the catalog names for it."""

    category: DispatchCategory
    suggested_lead: Organisation | None
    suggested_co: tuple[Organisation, ...]
    allowed: tuple[Organisation, ...]


def dispatch_options(category: DispatchCategory, division_code: str) -> DispatchOptions:
    version = catalog_in_force()
    if version is None:
        raise RuleViolation("dispatch_catalog_missing", "没有生效的派单目录，不能派单", status=409)
    entries = entries_for(version, category, division_code)
    allowed: dict[int, Organisation] = {}
    for entry in entries:
        allowed.setdefault(entry.lead_id, entry.lead)
        for org in entry.co_organisers.all():
            allowed.setdefault(org.pk, org)
    first = entries[0] if entries else None
    return DispatchOptions(
        category=category,
        suggested_lead=first.lead if first else None,
        suggested_co=tuple(first.co_organisers.all()) if first else (),
        allowed=tuple(allowed.values()),
    )


def categories_in_force() -> QuerySet[DispatchCategory]:
    """The categories of the catalog in force (the Open311 services), by code."""
    version = catalog_in_force()
    if version is None:
        return DispatchCategory.objects.none()
    return DispatchCategory.objects.filter(pk__in=version.entries.values("category_id")).order_by(
        "code"
    )


def category_divisions(category: DispatchCategory) -> list[Division]:
    """The places the catalog in force covers for `category`: its entries' divisions and
    every division under them."""
    version = catalog_in_force()
    if version is None:
        return []
    codes = list(version.entries.filter(category=category).values_list("division__code", flat=True))
    if not codes:
        return []
    q = Q()
    for code in codes:
        q |= Q(code__startswith=code[:2] if code.endswith("0000") else code[:4])
    return list(Division.objects.filter(q).order_by("code"))


def centre_for(division_code: str) -> Centre:
    """The 12345 centre that serves a place: the one with the longest matching code."""
    for code in places_of(division_code):
        centre = Centre.objects.filter(division__code=code).select_related("organisation").first()
        if centre is not None:
            return centre
    raise RuleViolation(
        "no_centre_for_place", f"区划 {division_code} 没有对应的 12345 热线中心", field="division"
    )


# Tickets -----------------------------------------------------------------------------------


def ticket_queryset() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(
        "workflow", "division", "centre__organisation", "lead", "category"
    )


def tickets_for(user: Actor) -> QuerySet[Ticket]:
    """The tickets `user` may read, most urgent first (due moment, then oldest)."""
    return (
        ticket_queryset()
        .filter(pk__in=Ticket.objects.for_user(user).values("pk"))
        .order_by(
            F("due_at").asc(nulls_last=True), F("due_date").asc(nulls_last=True), "created_at"
        )
    )


def get_ticket_for(user: Actor, number: str) -> Ticket:
    """One ticket visible to `user`, with timeline, assignments and attachments; 404
    otherwise, so a ticket of another centre is indistinguishable from a missing one."""
    ticket = (
        tickets_for(user)
        .filter(number=number)
        .prefetch_related(
            Prefetch("events", queryset=TicketEvent.objects.select_related("organisation")),
            Prefetch(
                "assignments",
                queryset=TicketAssignment.objects.select_related("organisation"),
            ),
            "attachments",
        )
        .first()
    )
    if ticket is None:
        raise not_found(number)
    return ticket


def centre_tickets(user: Actor) -> QuerySet[Ticket]:
    """An agent's queue: open tickets of their centres, most urgent first."""
    from accounts.models import Role, StaffRole

    orgs = StaffRole.objects.filter(user=user_of(user), role=Role.HOTLINE_AGENT).values(
        "organisation"
    )
    return tickets_for(user).filter(centre__organisation__in=orgs, closed_at__isnull=True)


def organisation_inbox(user: Actor) -> QuerySet[Ticket]:
    """An organisation's ticket inbox: open tickets dispatched to the user's organisations
    now, by deadline."""
    from accounts.models import StaffRole
    from hotline.models import HANDLING_ROLES

    orgs = StaffRole.objects.filter(user=user_of(user), role__in=HANDLING_ROLES).values(
        "organisation"
    )
    mine = TicketAssignment.objects.filter(organisation__in=orgs, active=True).values("ticket")
    return tickets_for(user).filter(pk__in=mine, closed_at__isnull=True)


def my_tickets(user: Actor) -> QuerySet[Ticket]:
    """我的诉求: the tickets the signed-in citizen made, newest first."""
    citizen = user_of(user)
    if citizen is None:
        return Ticket.objects.none()
    return ticket_queryset().filter(caller_user=citizen).order_by("-created_at", "-id")


# Statistics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationStats:
    """Public figures of one organisation's tickets (as lead): no ticket, no caller."""

    organisation: str
    total: int
    open: int
    replied: int
    on_time: int
    overdue_open: int
    returned: int
    satisfied: int
    called_back: int

    @property
    def on_time_rate(self) -> str:
        return f"{self.on_time * 100 // self.replied}%" if self.replied else "—"

    @property
    def satisfaction_rate(self) -> str:
        return f"{self.satisfied * 100 // self.called_back}%" if self.called_back else "—"


def statistics_by_organisation() -> list[OrganisationStats]:
    """Per lead organisation: tickets, open ones, replied on time, overdue, returns and the
    callbacks' satisfaction — two aggregate queries whatever the number of tickets."""
    rows = (
        Ticket.objects.filter(lead__isnull=False)
        .values("lead_id", "lead__name")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(closed_at__isnull=True)),
            replied=Count("pk", filter=Q(replied_at__isnull=False)),
            on_time=Count(
                "pk",
                filter=Q(replied_at__isnull=False)
                & (
                    Q(due_at__isnull=False, replied_at__lte=F("due_at"))
                    | Q(due_at__isnull=True, replied_at__date__lte=F("due_date"))
                ),
            ),
            overdue_open=Count("pk", filter=Q(closed_at__isnull=True, warning="red")),
            satisfied=Count(
                "pk", filter=Q(callback_outcome__in=["satisfied", "basically_satisfied"])
            ),
            called_back=Count(
                "pk",
                filter=Q(callback_outcome__in=["satisfied", "basically_satisfied", "unsatisfied"]),
            ),
        )
        .order_by("lead__name")
    )
    returns = dict(
        TicketAssignment.objects.filter(returned_at__isnull=False)
        .values("organisation_id")
        .annotate(n=Count("pk"))
        .values_list("organisation_id", "n")
    )
    return [
        OrganisationStats(
            organisation=r["lead__name"],
            total=r["total"],
            open=r["open"],
            replied=r["replied"],
            on_time=r["on_time"],
            overdue_open=r["overdue_open"],
            returned=returns.get(r["lead_id"], 0),
            satisfied=r["satisfied"],
            called_back=r["called_back"],
        )
        for r in rows
    ]


# The rating hook (好差评; docs/hotline.md) --------------------------------------------------


@dataclass(frozen=True)
class RatedTicket:
    """What the ratings app needs to know of a rated ticket event: who served, who may rate,
    what and when. `hotline.ratings.resolve_ticket` answers it for a ticket number."""

    reference: str
    event: str
    organisation_id: int
    division: str
    service_name: str
    rater_user_id: int | None
    served_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def organisations_for_place(ticket: Ticket) -> list[Organisation]:
    """The organisations the catalog in force names for the ticket's place, any category
    (the dispatch form's choices; the service checks the category)."""
    version = catalog_in_force()
    if version is None:
        return []
    entries = version.entries.filter(division__code__in=places_of(ticket.division.code))
    ids = set(entries.values_list("lead_id", flat=True)) | set(
        entries.values_list("co_organisers", flat=True)
    )
    return list(Organisation.objects.filter(pk__in=[i for i in ids if i]).order_by("name"))


def not_found(number: str) -> NotFound:
    return NotFound("ticket_not_found", f"工单 {number} 不存在或无权查看")
