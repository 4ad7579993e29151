"""Cases whose two halves live on two nodes: 异地代收代办 (received at a window of node A for
an item owned on node B) and online applications for another member's item (routed to its
owner). Both nodes hold the case under the same number; each shows the whole timeline.

- When the receiving node submits or forwards the case (`submit` / `forward`), it sends a
  `case.forwarded` envelope: the item, the applicant, the form, the materials with their
  files and paper custody, and the timeline so far. The handling node opens the case under
  the same number, received by the window of node A.
- After that, every action taken on either node travels as `case.action` with the
  materials given since the last one, and the other node applies it through the same
  engine (`services.take_remote_action`): its own clock, deadline segment and timeline.
  The handling node decides and issues the licence; the action that reports it carries
  the licence's identifier and QR token.

Envelopes are written in the transaction of the change (federation outbox), so a case is
never forwarded without its change committing, nor changed without being forwarded.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from cases.models import Case, CaseEvent, CaseMaterial, CaseStep
from cases.workflow import current_definition, parsed
from catalog.models import ItemVersion
from core.exceptions import RuleViolation
from core.models import Division, Organisation
from federation import registry, services
from federation.directory import node_names
from federation.registry import Message
from licences.models import Licence

FORWARDED = "case.forwarded"
ACTION = "case.action"
EVENT = "case.event"
STEPS_ASSIGNED = "case.step.assigned"
STEP_DONE = "case.step.done"
FORWARDING_ACTIONS = {"submit", "forward"}


# Payloads ----------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationData(_Strict):
    uscc: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=128)
    short_name: str = Field(default="", max_length=64)
    kind: str = Field(max_length=32)
    division: str = Field(min_length=6, max_length=12)


class MaterialData(_Strict):
    position: int
    name: str = Field(max_length=200)
    original_name: str = Field(default="", max_length=200)
    content_type: str = Field(default="", max_length=64)
    sha256: str = Field(default="", max_length=64)
    size: int = 0
    content: str = ""  # base64 of the file; empty for a material given as a licence
    paper_custody: str = Field(default="", max_length=200)
    licence: str = Field(default="", max_length=120)


class EventData(_Strict):
    at: str
    actor: str = Field(max_length=128)
    organisation: str = Field(default="", max_length=128)
    action: str = Field(max_length=48)
    from_state: str = Field(default="", max_length=32)
    to_state: str = Field(default="", max_length=32)
    note: str = ""
    node: str = Field(default="", max_length=32)


class ApplicantData(_Strict):
    kind: str = Field(pattern="^(person|company)$")
    name: str = Field(min_length=1, max_length=128)
    id_number: str = Field(default="", max_length=18)
    mobile: str = Field(default="", max_length=11)
    uscc: str = Field(default="", max_length=18)
    legal_representative: str = Field(default="", max_length=64)


class Forwarded(_Strict):
    number: str = Field(min_length=1, max_length=40)
    item: str = Field(min_length=1, max_length=64)
    item_version: int
    workflow: str = Field(max_length=32)
    mode: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    state: str = Field(max_length=32)
    assisted: bool = False
    applicant: ApplicantData
    receiving_org: OrganisationData
    form: dict[str, Any]
    submitted_at: str
    materials: list[MaterialData]
    events: list[EventData]


class ActionTaken(_Strict):
    number: str = Field(min_length=1, max_length=40)
    action: str = Field(max_length=48)
    from_state: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    organisation: OrganisationData | None = None
    note: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    materials: list[MaterialData] = Field(default_factory=list)


class EventShared(_Strict):
    number: str = Field(min_length=1, max_length=40)
    event: EventData
    data: dict[str, Any] = Field(default_factory=dict)


class StepData(_Strict):
    home_id: int
    order: int
    name: str = Field(max_length=64)
    organisation: OrganisationData
    status: str = Field(max_length=16)


class StepsAssigned(_Strict):
    number: str = Field(min_length=1, max_length=40)
    item: str = Field(min_length=1, max_length=64)
    item_version: int
    home_org: OrganisationData
    applicant: ApplicantData
    form: dict[str, Any]
    materials: list[MaterialData]
    steps: list[StepData]
    assigned: list[int]


class StepDone(_Strict):
    number: str = Field(min_length=1, max_length=40)
    home_id: int
    passed: bool
    note: str = ""
    actor: str = Field(max_length=128)


# Sending -------------------------------------------------------------------------------------


def _organisation_data(org: Organisation) -> dict[str, Any]:
    return {
        "uscc": org.uscc,
        "name": org.name,
        "short_name": org.short_name,
        "kind": org.kind,
        "division": org.division.code,
    }


def _pending_materials(case: Case) -> list[dict[str, Any]]:
    """Materials given on this node that the counterpart has not had yet; marked sent."""
    fresh = list(
        case.materials.filter(
            status=CaseMaterial.Status.PROVIDED, node="", exchanged_at__isnull=True
        ).select_related("requirement", "licence")
    )
    CaseMaterial.objects.filter(pk__in=[m.pk for m in fresh]).update(exchanged_at=timezone.now())
    return _material_rows(fresh)


def _material_rows(materials: list[CaseMaterial]) -> list[dict[str, Any]]:
    out = []
    for material in materials:
        content = ""
        if material.file:
            with material.file.open("rb") as handle:
                content = base64.b64encode(handle.read()).decode()
        out.append(
            {
                "position": material.requirement.position,
                "name": material.requirement.name,
                "original_name": material.original_name,
                "content_type": material.content_type,
                "sha256": material.sha256,
                "size": material.size,
                "content": content,
                "paper_custody": material.paper_custody,
                "licence": material.licence.identifier
                if material.licence
                else material.foreign_licence,
            }
        )
    return out


def _applicant_data(case: Case) -> dict[str, Any]:
    if case.applicant_person is not None:
        person = case.applicant_person
        return {
            "kind": "person",
            "name": person.name,
            "id_number": person.id_number,
            "mobile": person.mobile or "",
        }
    company = case.applicant_company
    assert company is not None
    return {
        "kind": "company",
        "name": company.name,
        "uscc": company.uscc,
        "legal_representative": company.legal_representative,
    }


def _event_row(event: CaseEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor": event.actor_label,
        "organisation": event.organisation.name if event.organisation else "",
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "note": event.note,
        "node": event.node or settings.NODE_ID,
    }


def share(case: Case, event: CaseEvent, data: dict[str, Any]) -> None:
    """Send an action just taken here to the counterpart node (called by the engine)."""
    handled_elsewhere = not case.handling_org.is_local
    if event.action in FORWARDING_ACTIONS and handled_elsewhere:
        forward(case)
        return
    if handled_elsewhere and case.submitted_at is None:
        return  # the receiving window's own steps before the case is forwarded
    services.send(
        case.counterpart_node,
        ACTION,
        {
            "number": case.number,
            "action": event.action,
            "from_state": event.from_state,
            "actor": event.actor_label,
            "organisation": _organisation_data(event.organisation) if event.organisation else None,
            "note": event.note,
            "data": _shareable(case, event.action, data),
            "materials": _pending_materials(case),
        },
    )


# The actions whose hook issues the case's licences (cases.services._issue_result_licence).
ISSUING_ACTIONS = {"approve"}


def _shareable(case: Case, action: str, data: dict[str, Any]) -> dict[str, Any]:
    """Action data as the other node understands it: materials by position, not by id, and
    the licences the action issued."""
    out: dict[str, Any] = {k: v for k, v in data.items() if isinstance(v, (str, int, bool))}
    if isinstance(data.get("materials"), list):
        positions = dict(case.item_version.materials.values_list("pk", "position"))
        out["material_positions"] = [positions[i] for i in data["materials"] if i in positions]
    issued = Licence.objects.filter(case_number=case.number, status=Licence.Status.VALID)
    if action in ISSUING_ACTIONS and case.handling_org.is_local and issued:
        out["licences"] = [
            {"identifier": lic.identifier, "type": lic.licence_type.name, "token": lic.token}
            for lic in issued.select_related("licence_type")
        ]
    return out


def share_event(case: Case, event: CaseEvent) -> None:
    """Send a timeline entry that is not a workflow action (a parcel posted, tracked)."""
    if not case.counterpart_node or (not case.handling_org.is_local and case.submitted_at is None):
        return  # a single-node case, or one not forwarded yet (the forward carries it)
    services.send(
        case.counterpart_node,
        EVENT,
        {"number": case.number, "event": _event_row(event), "data": event.data},
    )


def assign_steps(case: Case, node: str, assigned: list[CaseStep], steps: list[CaseStep]) -> None:
    """Send the steps of a joint case that organisations on `node` must do now."""
    materials = list(
        case.materials.filter(status=CaseMaterial.Status.PROVIDED).select_related(
            "requirement", "licence"
        )
    )
    services.send(
        node,
        STEPS_ASSIGNED,
        {
            "number": case.number,
            "item": case.item_version.item.code,
            "item_version": case.item_version.number,
            "home_org": _organisation_data(case.handling_org),
            "applicant": _applicant_data(case),
            "form": case.form_data or {},
            "materials": _material_rows(materials),
            "steps": [
                {
                    "home_id": s.pk,
                    "order": s.order,
                    "name": s.name,
                    "organisation": _organisation_data(s.organisation),
                    "status": s.status,
                }
                for s in steps
            ],
            "assigned": [s.pk for s in assigned],
        },
    )


def step_done(case: Case, step: CaseStep) -> None:
    """Report a step finished here back to the case's home node."""
    services.send(
        case.counterpart_node,
        STEP_DONE,
        {
            "number": case.number,
            "home_id": step.home_id,
            "passed": step.status == CaseStep.Status.DONE,
            "note": step.note,
            "actor": step.actor_label,
        },
    )


def forward(case: Case) -> None:
    """Hand the case to the node of its handling organisation."""
    events = case.events.select_related("organisation").order_by("at", "id")
    services.send(
        case.handling_org.node,
        FORWARDED,
        {
            "number": case.number,
            "item": case.item_version.item.code,
            "item_version": case.item_version.number,
            "workflow": case.workflow.code,
            "mode": case.mode,
            "channel": case.channel,
            "state": case.state,
            "assisted": case.assisted,
            "applicant": _applicant_data(case),
            "receiving_org": _organisation_data(case.receiving_org),
            "form": case.form_data or {},
            "submitted_at": (case.submitted_at or timezone.now()).isoformat(),
            "materials": _pending_materials(case),
            "events": [_event_row(e) for e in events],
        },
    )


# Receiving ------------------------------------------------------------------------------------


def node_label(node: str) -> str:
    """How a node is named on a timeline: its name in the directory."""
    return node_names().get(node, f"{node} 节点")


def node_user(node: str) -> User:
    """The account that stands for another node in `submitted_by` / `uploaded_by`."""
    user, _ = User.objects.get_or_create(
        username=f"node-{node}", defaults={"is_active": False, "first_name": node}
    )
    return user


def _remote_organisation(data: OrganisationData, node: str) -> Organisation:
    org = Organisation.objects.filter(uscc=data.uscc).select_related("division").first()
    if org is not None:
        if org.node != node:
            raise RuleViolation(
                "organisation_not_of_sender",
                f"机构 {data.uscc} 不属于节点 {node}",
            )
        return org
    division = Division.objects.filter(code=data.division).first()
    if division is None:
        raise RuleViolation("division_unknown", f"未知的行政区划 {data.division}")
    return Organisation.objects.create(
        uscc=data.uscc,
        name=data.name,
        short_name=data.short_name,
        kind=data.kind,
        division=division,
        node=node,
    )


def _store_materials(case: Case, materials: list[MaterialData], node: str) -> None:
    requirements = {m.position: m for m in case.item_version.materials.all()}
    uploader = node_user(node)
    for data in materials:
        requirement = requirements.get(data.position)
        if requirement is None or requirement.name != data.name:
            raise RuleViolation(
                "material_unknown", f"事项版本中没有第 {data.position} 项材料“{data.name}”"
            )
        content = base64.b64decode(data.content) if data.content else b""
        if content and hashlib.sha256(content).hexdigest() != data.sha256:
            raise RuleViolation("material_digest_mismatch", f"材料“{data.name}”的摘要与内容不符")
        case.materials.filter(requirement=requirement, status=CaseMaterial.Status.PROVIDED).update(
            status=CaseMaterial.Status.SUPERSEDED
        )
        material = CaseMaterial(
            case=case,
            requirement=requirement,
            original_name=data.original_name
            or (f"电子证照 {data.licence}" if data.licence else ""),
            content_type=data.content_type,
            size=len(content),
            sha256=data.sha256,
            uploaded_by=uploader,
            paper_custody=data.paper_custody,
            node=node,
            exchanged_at=timezone.now(),
        )
        if content:
            material.file.save(data.original_name or "material", ContentFile(content), save=False)
        material.save()


def _on_forwarded(message: Message, payload: Forwarded) -> None:
    from cases import timeline

    if Case.objects.filter(number=payload.number).exists():
        raise RuleViolation("case_exists", f"办件 {payload.number} 已存在")
    version = (
        ItemVersion.objects.filter(item__code=payload.item, number=payload.item_version)
        .select_related("item__organisation")
        .first()
    )
    if version is None or not version.item.organisation.is_local:
        raise RuleViolation(
            "item_unknown", f"本节点没有事项 {payload.item} 第 {payload.item_version} 版"
        )
    if not version.is_published:
        raise RuleViolation("item_version_not_published", "该事项版本未发布")
    definition = current_definition(payload.mode)
    if definition.code != payload.workflow or payload.state not in parsed(definition).states:
        raise RuleViolation(
            "workflow_mismatch", f"本节点没有流程 {payload.workflow} 的状态 {payload.state}"
        )
    actor = node_label(message.sender)
    applicant = payload.applicant
    person, company = _register_applicant(applicant, actor)
    owner = version.item.organisation
    # Applied for online on the sender's portal: received by the owner itself.
    receiving = (
        owner
        if payload.receiving_org.uscc == owner.uscc
        else _remote_organisation(payload.receiving_org, message.sender)
    )
    submitted_at = dt.datetime.fromisoformat(payload.submitted_at)
    case = Case.objects.create(
        number=payload.number,
        item_version=version,
        workflow=definition,
        mode=payload.mode,
        channel=payload.channel,
        state=payload.state,
        applicant_person=person,
        applicant_company=company,
        applicant_name=applicant.name,
        submitted_by=node_user(message.sender),
        assisted=payload.assisted,
        receiving_org=receiving,
        handling_org=version.item.organisation,
        form_data=payload.form,
        submitted_at=submitted_at,
        counterpart_node=message.sender,
    )
    for row in payload.events:
        event = CaseEvent.objects.create(
            case=case,
            actor_label=row.actor[:128],
            organisation=receiving if row.organisation == receiving.name else None,
            action=row.action,
            from_state=row.from_state,
            to_state=row.to_state,
            note=row.note,
            node=row.node if row.node != settings.NODE_ID else "",
            data={"organisation": row.organisation} if row.organisation else {},
        )
        CaseEvent.objects.filter(pk=event.pk).update(at=dt.datetime.fromisoformat(row.at))
    _store_materials(case, payload.materials, message.sender)
    days = parsed(definition).states[case.state].deadline_days
    if days is not None:
        from cases import deadlines

        case.state_due_date = deadlines.days_after(case, timeline.today(), days).date
        case.save(update_fields=["state_due_date"])
    timeline.record_event(
        case,
        actor=actor,
        action="received_from_node",
        note=f"收到{actor}转来的办件，待本节点受理",
    )


def _on_action(message: Message, payload: ActionTaken) -> None:
    from cases import timeline
    from cases.services import take_remote_action

    case = Case.objects.filter(number=payload.number).select_related("item_version").first()
    if case is None:
        raise RuleViolation("case_unknown", f"本节点没有办件 {payload.number}")
    _store_materials(case, payload.materials, message.sender)
    data = dict(payload.data)
    positions = data.pop("material_positions", None)
    if positions is not None:
        ids = dict(case.item_version.materials.values_list("position", "pk"))
        data["materials"] = [ids[p] for p in positions if p in ids]
    organisation = (
        _remote_organisation(payload.organisation, message.sender)
        if payload.organisation is not None
        else None
    )
    take_remote_action(
        case,
        payload.action,
        node=message.sender,
        actor_label=payload.actor,
        organisation=organisation,
        from_state=payload.from_state,
        note=payload.note,
        data=data,
    )
    for licence in payload.data.get("licences") or []:
        timeline.record_event(
            case,
            actor=payload.actor,
            action="issue_licence",
            organisation=organisation,
            note=(
                f"{node_label(message.sender)}签发{licence.get('type', '电子证照')}，"
                f"电子证照标识 {licence.get('identifier', '')}"
            ),
            data={"identifier": licence.get("identifier", ""), "token": licence.get("token", "")},
            node=message.sender,
        )


def _on_event(message: Message, payload: EventShared) -> None:
    # From the counterpart, or from a node doing one of the case's 多地联办 steps.
    case = (
        Case.objects.filter(number=payload.number)
        .filter(Q(counterpart_node=message.sender) | Q(steps__organisation__node=message.sender))
        .distinct()
        .first()
    )
    if case is None:
        raise RuleViolation(
            "case_unknown", f"本节点没有与 {message.sender} 协同的办件 {payload.number}"
        )
    row = payload.event
    CaseEvent.objects.create(
        case=case,
        actor_label=row.actor[:128],
        action=row.action,
        note=row.note,
        node=message.sender,
        data={**payload.data, "organisation": row.organisation},
    )


def _register_applicant(applicant: ApplicantData, actor: str) -> tuple[Any, Any]:
    from accounts.services import register_company, register_person

    if applicant.kind == "person":
        person = register_person(
            name=applicant.name,
            id_number=applicant.id_number,
            mobile=applicant.mobile,
            actor=actor,
            verify_real_name=False,  # the node that received the case checked the identity
        )
        return person, None
    company = register_company(
        uscc=applicant.uscc,
        name=applicant.name,
        legal_representative=applicant.legal_representative,
        actor=actor,
    )
    return None, company


def _on_steps_assigned(message: Message, payload: StepsAssigned) -> None:
    from cases import timeline

    here = {s.home_id for s in payload.steps if s.home_id in payload.assigned}
    local = _local_usccs(payload)
    for wanted in payload.steps:
        if wanted.home_id in here and wanted.organisation.uscc not in local:
            raise RuleViolation("step_not_here", f"环节“{wanted.name}”的承办机构不在本节点")
    case = Case.objects.filter(number=payload.number).first()
    if case is None:
        version = ItemVersion.objects.filter(
            item__code=payload.item, number=payload.item_version
        ).first()
        if version is None:
            raise RuleViolation(
                "item_unknown",
                f"本节点没有事项 {payload.item} 第 {payload.item_version} 版（请先同步区域通办目录）",
            )
        home = _remote_organisation(payload.home_org, message.sender)
        person, company = _register_applicant(payload.applicant, node_label(message.sender))
        case = Case.objects.create(
            number=payload.number,
            item_version=version,
            workflow=current_definition("joint"),
            mode="joint",
            channel=Case.Channel.API,
            state="joint_steps",
            applicant_person=person,
            applicant_company=company,
            applicant_name=payload.applicant.name,
            submitted_by=node_user(message.sender),
            receiving_org=home,
            handling_org=home,
            form_data=payload.form,
            submitted_at=timezone.now(),
            counterpart_node=message.sender,
        )
        _store_materials(case, payload.materials, message.sender)
    elif case.counterpart_node != message.sender:
        raise RuleViolation(
            "case_not_shared", f"办件 {payload.number} 不与节点 {message.sender} 协同"
        )
    for data in payload.steps:
        org = Organisation.objects.filter(uscc=data.organisation.uscc).first()
        if org is None:
            org = _remote_organisation(data.organisation, message.sender)
        step, _ = CaseStep.objects.get_or_create(
            case=case,
            home_id=data.home_id,
            defaults={"order": data.order, "name": data.name, "organisation": org},
        )
        if data.home_id in here and step.status == CaseStep.Status.WAITING:
            step.status, step.started_at = CaseStep.Status.ACTIVE, timezone.now()
            step.save(update_fields=["status", "started_at"])
    timeline.record_event(
        case,
        actor=node_label(message.sender),
        action="steps_received",
        note="本节点承办：" + "、".join(s.name for s in payload.steps if s.home_id in here),
    )


def _local_usccs(payload: StepsAssigned) -> set[str]:
    usccs = [s.organisation.uscc for s in payload.steps]
    return set(Organisation.objects.filter(uscc__in=usccs, node="").values_list("uscc", flat=True))


def _on_step_done(message: Message, payload: StepDone) -> None:
    from cases import joint

    step = (
        CaseStep.objects.select_related("case", "organisation")
        .filter(case__number=payload.number, pk=payload.home_id)
        .first()
    )
    if step is None or step.organisation.node != message.sender:
        raise RuleViolation(
            "step_unknown", f"办件 {payload.number} 没有节点 {message.sender} 承办的该环节"
        )
    if step.status != CaseStep.Status.ACTIVE:
        raise RuleViolation("step_not_active", f"环节“{step.name}”当前{step.get_status_display()}")
    joint.finish(
        step,
        passed=payload.passed,
        note=payload.note,
        actor_label=payload.actor,
        actor=payload.actor,
        node=message.sender,
    )
    joint.advance(step.case)


def _refused(receiver: str, payload: dict[str, Any], code: str, reason: str) -> None:
    """The counterpart refused what this node sent about a case: say so on its timeline,
    where the staff handling it look (the two nodes disagree until someone acts)."""
    from cases import timeline

    case = Case.objects.filter(number=payload.get("number", "")).first()
    if case is None:
        return
    timeline.record_event(
        case,
        actor=node_label(receiver),
        action="refused_by_node",
        note=f"{node_label(receiver)}未接受本节点发送的办件信息（{code}）：{reason}",
        data={"code": code},
    )


def register() -> None:
    registry.register(FORWARDED, Forwarded, _on_forwarded)
    registry.register(ACTION, ActionTaken, _on_action)
    registry.register(EVENT, EventShared, _on_event)
    registry.register(STEPS_ASSIGNED, StepsAssigned, _on_steps_assigned)
    registry.register(STEP_DONE, StepDone, _on_step_done)
    for kind in (FORWARDED, ACTION, EVENT, STEPS_ASSIGNED, STEP_DONE):
        registry.on_refused(kind, _refused)
