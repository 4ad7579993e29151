"""Reads of cases: the scoped case lists, one case for a user, and what a user may do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, overload

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.utils import timezone

from accounts.agents import acting_companies, acts_for
from accounts.models import Role, StaffRole
from accounts.selectors import staff_user
from cases.models import Case, CaseEvent, CaseMaterial, CaseStep, InSelect, visible_case_ids
from cases.workflow import (
    APPLICANT,
    HANDLING,
    SYSTEM,
    action_label,
    definition_of,
    offered,
    state_label,
)
from catalog.form_schema import FieldType, parse_form_fields
from catalog.models import Material
from core.actors import Actor, SystemActor
from core.exceptions import NotFound, ProblemList, RuleViolation
from core.models import Organisation, division_code_prefix
from core.personal_data import mask_address, mask_id_number, mask_mobile, mask_name
from core.workflow import ActionSpec
from federation.directory import node_names
from licences.models import Licence, Seal
from licences.selectors import wallet


def is_applicant(case: Case, user: Actor) -> bool:
    if not isinstance(user, User):
        return False
    if case.applicant_person_id is not None:
        return case.applicant_person.user_id == user.pk  # type: ignore[union-attr]
    return acts_for(case.applicant_company, user)  # type: ignore[arg-type]


def acting_organisation(
    case: Case, spec: ActionSpec, user: Actor
) -> Organisation | Literal[False] | None:
    """Whether `user` may take `spec` on `case`: False if not; otherwise the organisation
    they act for (None for the applicant or the system)."""
    for who in spec.by:
        if who.role == SYSTEM:
            if isinstance(user, SystemActor):
                return None
        elif who.role == APPLICANT:
            if is_applicant(case, user):
                return None
        elif isinstance(user, User):
            org = case.handling_org if who.scope == HANDLING else case.receiving_org
            if staff_user(user, [who.role], [org]) is not None:
                return org
    return False


def allowed_actions(case: Case, user: Actor) -> list[ActionSpec]:
    """The actions of the case's current state that `user` may take, in definition order.

    The user's staff roles are read once for all the actions (`staff_user` would ask once
    per action a staff role may take), and the same rule applied to them in memory."""
    definition = definition_of(case)
    actions = [a for a in definition.actions_from(case.state) if offered(case, a)]
    if not isinstance(user, User):
        return [a for a in actions if acting_organisation(case, a, user) is not False]
    held = set(
        StaffRole.objects.filter(user=user).order_by().values_list("organisation_id", "role")
    )
    allowed = []
    for a in actions:
        for who in a.by:
            if who.role == APPLICANT and is_applicant(case, user):
                allowed.append(a)
                break
            if who.role not in (SYSTEM, APPLICANT):
                org_id = case.handling_org_id if who.scope == HANDLING else case.receiving_org_id
                if (org_id, who.role) in held:
                    allowed.append(a)
                    break
    return allowed


def case_queryset() -> QuerySet[Case]:
    return Case.objects.select_related(
        "item_version__item",
        "item_version__category",
        "handling_org__division",
        "receiving_org__division",
        "window__hall",
        "applicant_person",
        "applicant_company",
        "workflow",
    )


# What a row of a case listing never shows, and what costs most to read per row: the
# application form and delivery details (decrypted), the guide's long fields and lists of
# the item version (JSON), and the workflow's stored JSON (parsed once per process by its
# checksum, `core.workflow.parse_stored`).
LISTING_DEFERRED = (
    "form_data",
    "delivery_address",
    "delivery_mobile",
    "item_version__conditions",
    "item_version__legal_basis",
    "item_version__application_channels",
    "item_version__procedure_steps",
    "item_version__special_procedures",
    "item_version__result_delivery",
    "item_version__fees",
    "item_version__form_fields",
    "workflow__definition",
    "applicant_person__id_number",
    "applicant_person__mobile",
)


def listing_rows() -> QuerySet[Case]:
    """Cases as a listing's rows show them (number, item, applicant, state, organisations,
    deadlines, warning): only the tables a row reads (decision 163), without the columns
    of `LISTING_DEFERRED`."""
    return Case.objects.select_related(
        "item_version__item",
        "item_version__category",
        "workflow",
        "handling_org",
        "receiving_org",
        "applicant_person",
    ).defer(*LISTING_DEFERRED)


def cases_for(user: Actor) -> QuerySet[Case]:
    """The cases `user` may see, most urgent first (`filter_cases` without narrowing)."""
    return filter_cases(user)


def filter_cases(
    user: Actor,
    *,
    finished: bool | None = None,
    state: str = "",
    warning: str = "",
) -> QuerySet[Case]:
    """The cases `user` may see, narrowed (open or finished, a state, a warning), most
    urgent first: the overall deadline, then the deadline of the current step (a case
    waiting for acceptance has only the latter), then the oldest. A queryset, for callers
    that narrow it further; a listing pages `ScopedCases`, the same cases in the same
    order."""
    within = _narrowing(finished=finished, state=state, warning=warning)
    # The narrowing goes inside each of the scope's selects (decision 163).
    qs = case_queryset().filter(InSelect(F("pk"), visible_case_ids(user, within)))
    return qs.order_by(*URGENT_FIRST, "id")


# Most urgent first: the overall deadline, the current step's deadline, then the oldest.
URGENT_FIRST = (
    F("due_date").asc(nulls_last=True),
    F("state_due_date").asc(nulls_last=True),
    "created_at",
)
URGENT_FIRST_KEYS = ("due_date", "state_due_date", "created_at")


def _narrowing(*, finished: bool | None, state: str, warning: str) -> Q | None:
    if warning and warning not in Case.Warning.values:
        raise RuleViolation("unknown_warning", f"未知的预警级别：{warning}")
    within = Q()
    if finished is not None:
        within &= Q(closed_at__isnull=not finished)
    if state:
        within &= Q(state=state)
    if warning:
        within &= Q(warning=warning)
    return within or None


class ScopedCases:
    """The cases of `filter_cases` for a paginator, over millions of cases (decision 310):
    counted, ordered and cut to a page on the scope's union of indexed selects alone (each
    arm carries the columns of the order and the warning), so that only the page's cases
    are then read, by id, with the related rows `rows` selects. `filter_cases` itself
    reads every case of the scope by id before ordering them.

    The union is compiled once (decision 315): the count and the red and yellow tallies
    come from one pass over it (`tally`), the page from another."""

    def __init__(
        self,
        user: Actor,
        rows: QuerySet[Case],
        *,
        finished: bool | None = None,
        state: str = "",
        warning: str = "",
        roles: list[StaffRole] | None = None,
    ) -> None:
        self.user, self.rows, self.roles = user, rows, roles
        # Exactly the inbox's tiles: every open case of the scope, nothing else narrowing.
        self.open_only = finished is False and not state and not warning
        within = _narrowing(finished=finished, state=state, warning=warning)
        self.union = _Union(
            visible_case_ids(user, within, keys=(*URGENT_FIRST_KEYS, "warning"), roles=roles)
        )
        self._tally: dict[str, int] | None = None

    def tally(self) -> dict[str, int]:
        """How many cases, and how many of them are red and yellow, in one pass."""
        if self._tally is None:
            self._tally = self.union.tally()
        return self._tally

    def count(self) -> int:
        return self.tally()["count"]

    def __len__(self) -> int:
        return self.count()

    def open_totals(self) -> dict[str, int]:
        """The inbox's tiles (`scope_totals`): from this union's own tally when it holds
        the open cases unnarrowed, else in a pass of their own."""
        if self.open_only:
            tally = self.tally()
            return {"open": tally["count"], "red": tally["red"], "yellow": tally["yellow"]}
        return scope_totals(self.user, self.roles)

    @overload
    def __getitem__(self, index: int) -> Case: ...

    @overload
    def __getitem__(self, index: slice) -> list[Case]: ...

    def __getitem__(self, index: int | slice) -> Case | list[Case]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError(index)
            return found[0]
        if index.step is not None:
            raise ValueError("a page of cases has no step")
        ids = self.union.page(index.start or 0, index.stop)
        found_by_id = self.rows.in_bulk(ids)
        return [found_by_id[pk] for pk in ids if pk in found_by_id]

    def __iter__(self) -> Iterator[Case]:
        return iter(self[:])


class _Union:
    """The SQL of a `visible_case_ids` union, compiled once, and the statements run over
    it: its tally, and a page of its ids most urgent first (as `URGENT_FIRST`, then id)."""

    ORDER = "due_date ASC NULLS LAST, state_due_date ASC NULLS LAST, created_at ASC, pk ASC"
    NO_LIMIT = 2**62

    def __init__(self, scope: QuerySet[Any]) -> None:
        self.db = scope.db
        self.sql, self.params = scope.query.get_compiler(scope.db).as_sql()

    def tally(self) -> dict[str, int]:
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE warning = %s),"
                f" COUNT(*) FILTER (WHERE warning = %s) FROM ({self.sql}) AS scope",
                [Case.Warning.RED, Case.Warning.YELLOW, *self.params],
            )
            count, red, yellow = cursor.fetchone()
        return {"count": count, "red": red, "yellow": yellow}

    def page(self, start: int, stop: int | None) -> list[int]:
        limit = self.NO_LIMIT if stop is None else max(0, stop - start)
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"SELECT pk FROM ({self.sql}) AS scope ORDER BY {self.ORDER} LIMIT %s OFFSET %s",
                [*self.params, limit, start],
            )
            return [row[0] for row in cursor.fetchall()]


def scope_totals(user: Actor, roles: list[StaffRole] | None = None) -> dict[str, int]:
    """The viewer's open cases, and how many of them carry a red or a yellow warning, in
    one pass over the scope's union of indexed selects (`roles` as `visible_case_ids`).
    The warning is counted, not narrowed on: as a condition in each select, PostgreSQL
    joined the open cases of the organisation with every red case of the province."""
    scope = visible_case_ids(user, Q(closed_at__isnull=True), keys=("warning",), roles=roles)
    tally = _Union(scope).tally()
    return {"open": tally["count"], "red": tally["red"], "yellow": tally["yellow"]}


def applied_cases(user: Actor) -> QuerySet[Case]:
    """The cases `user` applied for — as the person, or as an agent of the company — newest
    first: the portal's 我的办件. A narrowing of `cases_for`, never wider: staff do not see
    their organisation's cases here."""
    if not isinstance(user, User):
        return Case.objects.none()
    mine = Case.objects.filter(
        Q(applicant_person__user=user)
        | Q(applicant_company__in=acting_companies(user).values("pk"))
    ).values("pk")
    return case_queryset().filter(pk__in=mine).order_by("-created_at", "-id")


def find_case_for(user: Actor, number: str) -> Case:
    """One case visible to `user`, the bare row: for a change, which locks and reads the
    case again with what it needs anyway (the API then answers with `find_case_detail`).
    404 otherwise, as `get_case_for`. No join and no ordering: the joined listing query of
    `cases_for` cost PostgreSQL more to plan than to run (decision 152)."""
    case = Case.objects.filter(InSelect(F("pk"), visible_case_ids(user, Q(number=number)))).first()
    if case is None:
        raise NotFound("case_not_found", f"办件 {number} 不存在或无权查看")
    return case


def get_case_for(user: Actor, number: str) -> Case:
    """One case visible to `user`, with its timeline and materials; 404 otherwise, so that a
    case of another organisation is indistinguishable from a missing one. The pages' read:
    `find_case_detail`'s short joins and prefetches by key (decision 316), not the twelve
    tables of `case_queryset`, whose plan cost more than the query."""
    return find_case_detail(user, number)


@dataclass(frozen=True)
class StaffScope:
    organisations: tuple[int, ...]
    roles: tuple[str, ...]


def staff_scope(user: Actor) -> StaffScope:
    if not isinstance(user, User):
        return StaffScope((), ())
    roles = list(StaffRole.objects.filter(user=user).values_list("organisation_id", "role"))
    return StaffScope(tuple(sorted({o for o, _ in roles})), tuple(sorted({r for _, r in roles})))


def is_staff_member(user: Actor) -> bool:
    return bool(staff_scope(user).roles)


# Staff of either side of a case who may see its form in clear, stating a purpose.
REVEAL_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER)


def may_reveal_personal_data(case: Case, user: Actor) -> bool:
    """Whether `user` may ask `services.reveal_form` for the form in clear: a window clerk,
    reviewer or approver of either side of the case. Pages use it to offer the request;
    the service checks again and logs the purpose."""
    return staff_user(user, REVEAL_ROLES, [case.handling_org_id, case.receiving_org_id]) is not None


def material_reader(case: Case, user: Actor) -> User | None:
    """The staff member behind `user` if they may open the case's uploaded materials: a
    window clerk, reviewer or approver of the receiving, handling or a step organisation
    (`materials.read_material` logs each read); None otherwise. Uses prefetched steps."""
    organisations = {case.handling_org_id, case.receiving_org_id}
    organisations |= {step.organisation_id for step in case.steps.all()}
    return staff_user(user, REVEAL_ROLES, organisations - {None})


# What a viewer is shown ---------------------------------------------------------------------


def masked_form(case: Case, viewer: Actor) -> dict[str, Any]:
    """The application form as `viewer` may see it: in full for the applicant, with ID
    numbers, phones and addresses masked for everyone else (staff reveal them through
    `reveal_form`, which logs the purpose)."""
    data: dict[str, Any] = dict(case.form_data or {})
    if is_applicant(case, viewer):
        return data
    problems = ProblemList()
    for spec in parse_form_fields(case.item_version.form_fields, problems):
        value = data.get(spec.name)
        if not value:
            continue
        mask = _MASKS.get(spec.type)
        if mask is not None:
            data[spec.name] = mask(str(value))
    return data


_MASKS = {
    FieldType.ID_NUMBER: mask_id_number,
    FieldType.PHONE: mask_mobile,
    FieldType.ADDRESS: mask_address,
}


@dataclass(frozen=True)
class MaterialStatus:
    requirement: Material
    provided: CaseMaterial | None
    covered_by: str  # "", "deficiency" or "notification"


def material_checklist(case: Case) -> list[MaterialStatus]:
    """Each material the item asks for, with what was given for it (uses prefetched rows)."""
    provided = {
        m.requirement_id: m
        for m in case.materials.all()
        if m.status == CaseMaterial.Status.PROVIDED
    }
    covered: dict[int, str] = {}
    for commitment in case.commitments.all():
        for material in commitment.materials.all():
            covered[material.pk] = commitment.kind
    return [
        MaterialStatus(m, provided.get(m.pk), covered.get(m.pk, ""))
        for m in case.item_version.materials.all()
    ]


def row_applicant(case: Case, viewer: Actor) -> str:
    """The applicant's name in a listing, without a query per row: clear to the person
    themself, masked for a person seen by others, a company's name as is."""
    person = case.applicant_person
    if person is None:
        return case.applicant_name
    if isinstance(viewer, User) and person.user_id == viewer.pk:
        return case.applicant_name
    return mask_name(case.applicant_name)


def applicant_display(case: Case, viewer: Actor) -> str:
    if case.applicant_person_id is None or is_applicant(case, viewer):
        return case.applicant_name
    return mask_name(case.applicant_name)


def case_view(case: Case, viewer: Actor) -> dict[str, Any]:
    """Everything about a case that `viewer` may see, as plain data (API and pages alike).

    Expects a case from `get_case_for` (timeline, materials and commitments prefetched)."""
    definition = definition_of(case)
    version = case.item_version
    applicant: dict[str, Any] = {
        "kind": "person" if case.applicant_person_id else "company",
        "name": applicant_display(case, viewer),
    }
    if case.applicant_person_id:
        applicant["id_number"] = case.applicant_person.id_number_masked  # type: ignore[union-attr]
    else:
        applicant["uscc"] = case.applicant_company.uscc  # type: ignore[union-attr]
    return {
        "number": case.number,
        "item": {"code": version.item.code, "name": version.name, "version": version.number},
        "mode": case.mode,
        "mode_label": case.get_mode_display(),
        "channel": case.channel,
        "state": case.state,
        "state_label": state_label(case),
        "finished": definition.is_finished(case.state),
        "applicant": applicant,
        "assisted": case.assisted,
        "delivery": {
            "method": case.delivery_method,
            "label": case.get_delivery_method_display(),
            "address": case.delivery_address_masked,
        },
        "receiving_org": {"uscc": case.receiving_org.uscc, "name": case.receiving_org.name},
        "window": (
            {
                "id": case.window.pk,
                "hall": case.window.hall.name,
                "hall_code": case.window.hall.code,
                "number": case.window.number,
                "name": case.window.name,
            }
            if case.window
            else None
        ),
        "handling_org": {"uscc": case.handling_org.uscc, "name": case.handling_org.name},
        "form": masked_form(case, viewer),
        "materials": [
            {
                "id": s.requirement.pk,
                "name": s.requirement.name,
                "necessity": s.requirement.necessity,
                "provided": s.provided is not None,
                "covered_by": s.covered_by,
                "file": None
                if s.provided is None
                else {
                    "name": s.provided.original_name,
                    "content_type": s.provided.content_type,
                    "size": s.provided.size,
                    "sha256": s.provided.sha256,
                    "uploaded_at": s.provided.uploaded_at.isoformat(),
                    "licence": s.provided.licence.identifier if s.provided.licence else None,
                },
            }
            for s in material_checklist(case)
        ],
        "commitments": [
            {
                "id": c.pk,
                "kind": c.kind,
                "kind_label": c.get_kind_display(),
                "status": c.status,
                "due_date": c.due_date,
                "notice": c.notice,
                "materials": [m.name for m in c.materials.all()],
            }
            for c in case.commitments.all()
        ],
        "deadline": {
            "accepted_on": case.started_on,
            "due_date": case.due_date,
            "provisional": case.due_provisional,
            "unit": version.promised_limit_unit,
            "promised_limit": version.promised_limit,
            "paused_days": case.paused_days,
            "pauses": [
                {
                    "reason": p.reason,
                    "reason_label": p.get_reason_display(),
                    "detail": p.detail,
                    "started_on": p.started_on,
                    "ended_on": p.ended_on,
                    "days": p.days,
                }
                for p in case.pauses.all()
            ],
            "clock_state": case.clock_state,
            "warning": case.warning,
            "state_due_date": case.state_due_date,
        },
        "timeline": [
            {
                "at": e.at,
                "actor": e.actor_label,
                "organisation": e.organisation.name
                if e.organisation
                else e.data.get("organisation") or None,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
                "node": e.node,
            }
            for e in case.events.all()
        ],
        "allowed_actions": [
            {
                "name": a.name,
                "label": action_label(case, a),
                "note_required": a.note_required,
                "payload": a.payload,
                "grave": a.grave,
                "hint": a.hint,
            }
            for a in allowed_actions(case, viewer)
        ],
        "outcome": case.outcome,
        "submitted_at": case.submitted_at,
        "closed_at": case.closed_at,
        "outcome_note": case.outcome_note,
        "counterpart_node": case.counterpart_node,
        "steps": [
            {
                "id": step.pk,
                "order": step.order,
                "name": step.name,
                "organisation": step.organisation.name,
                "remote": not step.organisation.is_local,
                "status": step.status,
                "status_label": step.get_status_display(),
                "note": step.note,
                "finished_at": step.finished_at,
            }
            for step in case.steps.all()
        ],
        "segments": [segment.as_dict() for segment in custody_segments(case)],
    }


# The timeline entry of a case arriving from the node that received it.
RECEIVED_FROM_NODE = "received_from_node"


@dataclass(frozen=True)
class Segment:
    """A stretch of a case held by one side: the receiving window, the handling
    organisation, or the result on its way back."""

    label: str
    organisation: str
    node: str  # the node's name; empty for this node
    started_at: Any
    ended_at: Any
    due_date: Any

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def custody_segments(case: Case) -> list[Segment]:
    """Who held a 异地代收代办 or two-node case, from when to when, against which deadline
    — each side its own segment. Reads the prefetched timeline; no query."""
    if case.receiving_org_id == case.handling_org_id and not case.counterpart_node:
        return []
    names = node_names() if case.counterpart_node else {}
    definition = definition_of(case)
    events = list(case.events.all())
    first = events[0].at if events else case.created_at
    # The case left the receiving side when it left the states before submission (or, on
    # the handling node, when it arrived there).
    forwarded = next(
        (
            e.at
            for e in events
            if (
                e.to_state
                and definition.has_tag(e.from_state, "before_submission")
                and not definition.has_tag(e.to_state, "before_submission")
            )
            or e.action == RECEIVED_FROM_NODE
        ),
        None,
    )
    decided = next((e.at for e in events if definition.has_tag(e.to_state, "decided")), None)
    segments = [
        Segment(
            "收件地（身份核验、形式审查、转递）",
            case.receiving_org.name,
            names.get(case.receiving_org.node, case.receiving_org.node),
            first,
            forwarded,
            None,
        )
    ]
    if forwarded is not None:
        segments.append(
            Segment(
                "业务属地（受理、审查、决定）",
                case.handling_org.name,
                names.get(case.handling_org.node, case.handling_org.node),
                forwarded,
                decided,
                case.due_date or case.state_due_date,
            )
        )
    if decided is not None and definition.has_tag(case.state, "result_delivery"):
        segments.append(Segment("结果送达", "寄递或收件地窗口", "", decided, case.closed_at, None))
    return segments


@dataclass(frozen=True)
class CoverageRow:
    organisation: Organisation
    approved: int
    with_licence: int

    @property
    def share(self) -> float | None:
        return self.with_licence / self.approved if self.approved else None


def licence_coverage(organisations: QuerySet[Organisation] | None = None) -> list[CoverageRow]:
    """证照库入库率: of the approved cases whose result is a licence, how many have one in the
    licence library, per handling organisation (the plan's "100% 入库"); only the
    `organisations` given, if any. Two queries."""
    cases = Case.objects.filter(outcome=Case.Outcome.APPROVED, item_version__result_type="licence")
    if organisations is not None:
        cases = cases.filter(handling_org__in=organisations)
    rows = (
        cases.annotate(has_licence=Exists(Licence.objects.filter(case_number=OuterRef("number"))))
        .values("handling_org")
        .annotate(approved=Count("pk"), with_licence=Count("pk", filter=Q(has_licence=True)))
    )
    counts = {r["handling_org"]: r for r in rows}
    orgs = Organisation.objects.filter(pk__in=counts).order_by("name")
    return [CoverageRow(o, counts[o.pk]["approved"], counts[o.pk]["with_licence"]) for o in orgs]


COVERAGE_ROLES = (Role.SUPERVISOR, Role.ORG_ADMIN)


def may_see_licence_coverage(user: Actor) -> bool:
    """Supervisors and organisation admins read the coverage of their scope; nobody else."""
    return (
        isinstance(user, User)
        and StaffRole.objects.filter(user=user, role__in=COVERAGE_ROLES).exists()
    )


def licence_coverage_for(user: Actor) -> list[CoverageRow]:
    """`licence_coverage` in `user`'s scope: a supervisor, every organisation inside their
    division; an organisation admin, their own organisation (listed even without a case)."""
    if not isinstance(user, User):
        return []
    roles = list(
        StaffRole.objects.filter(user=user, role__in=COVERAGE_ROLES).select_related(
            "division", "organisation"
        )
    )
    scope = Q(pk__in=[])
    own: dict[int, Organisation] = {}
    for role in roles:
        if role.role == Role.SUPERVISOR:
            scope |= Q(division__code__startswith=division_code_prefix(role.division.code))
        else:
            scope |= Q(pk=role.organisation_id)
            own[role.organisation_id] = role.organisation
    if not roles:
        return []
    rows = licence_coverage(Organisation.objects.filter(scope))
    listed = {row.organisation.pk for row in rows}
    rows += [CoverageRow(org, 0, 0) for pk, org in own.items() if pk not in listed]
    return sorted(rows, key=lambda row: row.organisation.name)


def licences_offered(case: Case, user: Actor) -> dict[int, list[Licence]]:
    """免提交 on the materials step: for each material of the case's item that a licence
    type can replace, the licences of that type in `user`'s wallet that belong to the
    case's applicant and would verify as valid today. `materials.use_licence` verifies the
    chosen one again. Three queries, whatever the number of licences."""
    wanted = {
        m.pk: m.licence_type_id for m in case.item_version.materials.all() if m.licence_type_id
    }
    if not wanted or not isinstance(user, User):
        return {}
    if case.applicant_person_id is not None:
        holder = Q(holder_person_id=case.applicant_person_id)
    else:
        holder = Q(holder_company_id=case.applicant_company_id)
    today = timezone.localdate()
    found: dict[int, list[Licence]] = {}
    for licence in wallet(user).filter(
        holder,
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        licence_type_id__in=set(wanted.values()),
        status=Licence.Status.VALID,
        seal__status=Seal.Status.ACTIVE,
    ):
        found.setdefault(licence.licence_type_id, []).append(licence)
    return {pk: found[type_id] for pk, type_id in wanted.items() if type_id in found}


# What `case_view` reads of a case, beyond the case row and the few joined tables.
DETAIL_PREFETCHES: tuple[str | Prefetch, ...] = (
    "item_version__category",
    # The item's materials: the checklist reads them for the view and again for the page.
    "item_version__materials",
    "window__hall",
    "applicant_person",
    "applicant_company",
    Prefetch("events", queryset=CaseEvent.objects.select_related("organisation")),
    Prefetch("materials", queryset=CaseMaterial.objects.select_related("requirement", "licence")),
    "pauses",
    Prefetch("steps", queryset=CaseStep.objects.select_related("organisation")),
    "commitments__materials",
    "supplement_requests__materials",
)


def find_case_detail(user: Actor, number: str) -> Case:
    """One case visible to `user` with all that `case_view` shows (the API's answer); 404
    otherwise, as `get_case_for`.

    The case row joins only its item version, item, organisations and workflow; the rest
    comes by short prefetches by key. The twelve-table join of `case_queryset` cost
    PostgreSQL 10–40 ms to plan for a 0.5 ms execution, a plan per request (decision 152)."""
    case = (
        Case.objects.select_related(
            "item_version__item", "handling_org", "receiving_org", "workflow"
        )
        .filter(InSelect(F("pk"), visible_case_ids(user, Q(number=number))))
        .first()
    )
    if case is None:
        raise NotFound("case_not_found", f"办件 {number} 不存在或无权查看")
    prefetch_related_objects([case], *DETAIL_PREFETCHES)
    return case
