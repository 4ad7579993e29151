"""Cases whose two halves live on two nodes, the receiving half: what this node does with
the envelopes of `cases/outbound.py` that other nodes send. Registered with the federation
in `CasesConfig.ready()`; each handler runs in the transaction that stores the envelope,
and every write goes through the service that owns it (the case opened by
`services.open_case`, organisations by `core.services.record_remote_organisation`,
applicants by `accounts.services`, materials by `materials.receive_material`, timeline
rows by `timeline.record_event`, actions by `engine.take_remote_action`). Raising
`RuleViolation` refuses the envelope with nothing changed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from accounts.services import node_account, register_company, register_person
from cases import bundles, joint, outbound, services, timeline
from cases.engine import PROCESS, current_definition, take_remote_action
from cases.materials import receive_material
from cases.models import Case, CaseStep
from cases.outbound import (
    ActionTaken,
    ApplicantData,
    EventShared,
    Forwarded,
    MaterialData,
    OrganisationData,
    StepDone,
    StepsAssigned,
)
from cases.results import check_result_not_held
from cases.selectors import RECEIVED_FROM_NODE
from cases.workflow import definition_code
from catalog.models import ItemVersion, Mode
from catalog.offers import MODE_CHOICES, offer_for
from core.actors import NodeActor
from core.exceptions import RuleViolation
from core.models import Organisation
from core.selectors import nearest_division
from core.services import record_remote_organisation
from federation import registry
from federation.directory import node_names
from federation.registry import Message


def node_label(node: str) -> str:
    """How a node is named on a timeline: its name in the directory."""
    return node_names().get(node, f"{node} 节点")


def _node_actor(message: Message, label: str = "") -> NodeActor:
    return NodeActor(message.sender, label or node_label(message.sender))


def _account(message: Message) -> User:
    return node_account(message.sender, actor=_node_actor(message))


def _organisation(data: OrganisationData, message: Message) -> Organisation:
    return record_remote_organisation(
        uscc=data.uscc,
        name=data.name,
        short_name=data.short_name,
        kind=data.kind,
        division_code=data.division,
        node=message.sender,
        actor=_node_actor(message),
    )


def _store_materials(case: Case, materials: list[MaterialData], message: Message) -> None:
    uploader = _account(message)
    for data in materials:
        try:
            content = base64.b64decode(data.content, validate=True) if data.content else b""
        except (binascii.Error, ValueError) as exc:
            raise RuleViolation(
                "material_content_invalid", f"材料“{data.name}”的内容无法解码"
            ) from exc
        receive_material(
            case,
            position=data.position,
            name=data.name,
            content=content,
            sha256=data.sha256,
            original_name=data.original_name,
            content_type=data.content_type,
            paper_custody=data.paper_custody,
            licence=data.licence,
            node=message.sender,
            uploader=uploader,
        )


def _register_applicant(applicant: ApplicantData, message: Message) -> tuple[Any, Any]:
    actor = _node_actor(message)
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


def _version(item: str, number: int) -> ItemVersion:
    version = (
        ItemVersion.objects.filter(item__code=item, number=number)
        .select_related("item__organisation")
        .first()
    )
    if version is None:
        raise RuleViolation(
            "item_unknown",
            f"本节点没有事项 {item} 第 {number} 版（请先同步区域通办目录）",
        )
    return version


def _on_forwarded(message: Message, payload: Forwarded) -> None:
    if Case.objects.filter(number=payload.number).exists():
        raise RuleViolation("case_exists", f"办件 {payload.number} 已存在")
    version = _version(payload.item, payload.item_version)
    if not version.item.organisation.is_local:
        raise RuleViolation(
            "item_unknown", f"本节点没有事项 {payload.item} 第 {payload.item_version} 版"
        )
    if not version.is_published:
        raise RuleViolation("item_version_not_published", "该事项版本未发布")
    if payload.mode not in {code for code, _ in MODE_CHOICES}:
        raise RuleViolation("workflow_unknown", f"未知的业务模式：{payload.mode}")
    definition = current_definition(definition_code(payload.mode))
    if definition.code != payload.workflow:
        raise RuleViolation(
            "workflow_mismatch", f"本节点没有流程 {payload.workflow} 的状态 {payload.state}"
        )
    if payload.channel not in Case.Channel.values:
        raise RuleViolation("channel_unknown", f"未知的申请渠道：{payload.channel}")
    owner = version.item.organisation
    # Applied for online on the sender's portal: received by the owner itself.
    receiving = (
        owner
        if payload.receiving_org.uscc == owner.uscc
        else _organisation(payload.receiving_org, message)
    )
    # The same 通办 rules here, on this node's own lists: an item it does not offer where
    # the applicant was served is refused, whatever the sender decided.
    place = nearest_division(payload.place) or (
        receiving.division if payload.channel == Case.Channel.WINDOW else version.item.division
    )
    offer = offer_for(version, place=place, channel=payload.channel, mode=payload.mode)
    if payload.scope and offer.scope != payload.scope:
        raise RuleViolation(
            "scope_mismatch", f"发送节点认定为{payload.scope}，本节点认定为{offer.scope}"
        )
    person, company = _register_applicant(payload.applicant, message)
    # This node's licence library is the one that knows what the applicant holds.
    check_result_not_held(version, person=person, company=company)
    delivery = services.clean_delivery(
        version,
        method=payload.delivery.get("method", ""),
        address=payload.delivery.get("address", ""),
        mobile=payload.delivery.get("mobile", ""),
        person=person,
    )
    case = services.open_case(
        number=payload.number,
        item_version=version,
        workflow=definition,
        mode=offer.mode,
        scope=offer.scope,
        place=place,
        list_version=offer.list_version,
        state=payload.state,
        form_data=payload.form,
        person=person,
        company=company,
        submitted_by=_account(message),
        receiving_org=receiving,
        handling_org=owner,
        channel=payload.channel,
        assisted=payload.assisted,
        counterpart_node=message.sender,
        submitted_at=dt.datetime.fromisoformat(payload.submitted_at),
        delivery=delivery,
    )
    for row in payload.events:
        timeline.record_event(
            case,
            actor=NodeActor(message.sender, row.actor),
            organisation=receiving if row.organisation == receiving.name else None,
            action=row.action,
            from_state=row.from_state,
            to_state=row.to_state,
            note=row.note,
            node=row.node if row.node != settings.NODE_ID else "",
            data={"organisation": row.organisation} if row.organisation else {},
            at=dt.datetime.fromisoformat(row.at),
        )
    _store_materials(case, payload.materials, message)
    days = PROCESS.parsed(definition).states[case.state].deadline_days
    if days is not None:
        case.state_due_date = PROCESS.days_after(case, timeline.today(), days).date
        case.save(update_fields=["state_due_date"])
    label = node_label(message.sender)
    timeline.record_event(
        case,
        actor=_node_actor(message),
        action=RECEIVED_FROM_NODE,
        note=f"收到{label}转来的办件，待本节点受理",
    )


def _on_action(message: Message, payload: ActionTaken) -> None:
    case = (
        Case.objects.filter(number=payload.number)
        .select_related("item_version", "workflow")
        .first()
    )
    if case is None:
        raise RuleViolation("case_unknown", f"本节点没有办件 {payload.number}")
    _store_materials(case, payload.materials, message)
    organisation = (
        _organisation(payload.organisation, message) if payload.organisation is not None else None
    )
    take_remote_action(
        case,
        payload.action,
        actor=NodeActor(message.sender, payload.actor),
        organisation=organisation,
        from_state=payload.from_state,
        note=payload.note,
        data=outbound.payload_in(case, payload.action, payload.payload),
    )
    for licence in payload.licences:
        timeline.record_event(
            case,
            actor=NodeActor(message.sender, payload.actor),
            action="issue_licence",
            organisation=organisation,
            note=(
                f"{node_label(message.sender)}签发{licence.type}，电子证照标识 {licence.identifier}"
            ),
            data={"identifier": licence.identifier, "token": licence.token},
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
    timeline.record_event(
        case,
        actor=NodeActor(message.sender, row.actor),
        action=row.action,
        note=row.note,
        node=message.sender,
        data={**payload.data, "organisation": row.organisation},
    )


def _on_steps_assigned(message: Message, payload: StepsAssigned) -> None:
    here = {s.home_id for s in payload.steps if s.home_id in payload.assigned}
    local = _local_usccs(payload)
    for wanted in payload.steps:
        if wanted.home_id in here and wanted.organisation.uscc not in local:
            raise RuleViolation("step_not_here", f"环节“{wanted.name}”的承办机构不在本节点")
    case = Case.objects.filter(number=payload.number).first()
    if case is None:
        case = _open_joint_case(message, payload)
    elif case.counterpart_node != message.sender:
        raise RuleViolation(
            "case_not_shared", f"办件 {payload.number} 不与节点 {message.sender} 协同"
        )
    for data in payload.steps:
        org = Organisation.objects.filter(uscc=data.organisation.uscc).first()
        if org is None:
            org = _organisation(data.organisation, message)
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
        actor=_node_actor(message),
        action="steps_received",
        note="本节点承办：" + "、".join(s.name for s in payload.steps if s.home_id in here),
    )


def _open_joint_case(message: Message, payload: StepsAssigned) -> Case:
    """This node does steps of another node's 多地联办 case: it holds the case too, in its
    steps-running state, so its organisations find it in their inboxes."""
    version = _version(payload.item, payload.item_version)
    workflow = current_definition(Mode.JOINT)
    running = PROCESS.parsed(workflow).tagged("steps_running")
    if not running:
        raise RuleViolation("workflow_mismatch", "本节点的联办流程没有联办环节办理中的状态")
    home = _organisation(payload.home_org, message)
    person, company = _register_applicant(payload.applicant, message)
    case = services.open_case(
        number=payload.number,
        item_version=version,
        workflow=workflow,
        mode=Mode.JOINT,
        scope=payload.scope,
        place=None,
        state=running[0],
        form_data=payload.form,
        person=person,
        company=company,
        submitted_by=_account(message),
        receiving_org=home,
        handling_org=home,
        channel=Case.Channel.API,
        counterpart_node=message.sender,
        submitted_at=timezone.now(),
    )
    _store_materials(case, payload.materials, message)
    return case


def _local_usccs(payload: StepsAssigned) -> set[str]:
    usccs = [s.organisation.uscc for s in payload.steps]
    return set(Organisation.objects.filter(uscc__in=usccs, node="").values_list("uscc", flat=True))


def _on_step_done(message: Message, payload: StepDone) -> None:
    joint.record_step_from_node(
        payload.number,
        payload.home_id,
        passed=payload.passed,
        note=payload.note,
        actor=NodeActor(message.sender, payload.actor),
    )


def _refused(receiver: str, payload: dict[str, Any], code: str, reason: str) -> None:
    """The counterpart refused what this node sent about a case: say so on its timeline,
    where the staff handling it look (the two nodes disagree until someone acts)."""
    _record_refusal(receiver, payload, code, reason)


def _record_refusal(receiver: str, payload: dict[str, Any], code: str, reason: str) -> Case | None:
    case = Case.objects.filter(number=payload.get("number", "")).first()
    if case is None:
        return None
    label = node_label(receiver)
    timeline.record_event(
        case,
        actor=NodeActor(receiver, label),
        action="refused_by_node",
        note=f"{label}未接受本节点发送的办件信息（{code}）：{reason}",
        data={"code": code},
    )
    return case


def _forward_refused(receiver: str, payload: dict[str, Any], code: str, reason: str) -> None:
    """The handling node refused the case itself on arrival: on the timeline as any
    refusal; the step of a bundle it belongs to has failed (decision 280)."""
    case = _record_refusal(receiver, payload, code, reason)
    if case is not None:
        bundles.on_step_refused(
            case, actor=NodeActor(receiver, node_label(receiver)), note=f"{reason}（{code}）"
        )


def register() -> None:
    """Called once from `CasesConfig.ready()`."""
    registry.register(outbound.FORWARDED, Forwarded, _on_forwarded)
    registry.register(outbound.ACTION, ActionTaken, _on_action)
    registry.register(outbound.EVENT, EventShared, _on_event)
    registry.register(outbound.STEPS_ASSIGNED, StepsAssigned, _on_steps_assigned)
    registry.register(outbound.STEP_DONE, StepDone, _on_step_done)
    for kind in outbound.KINDS:
        registry.on_refused(kind, _forward_refused if kind == outbound.FORWARDED else _refused)
