"""Cases whose two halves live on two nodes, the sending half: the envelopes a case sends
and their schemas (which `cases/inbound.py` checks on arrival).

- When the receiving node submits or forwards the case (the action's effect
  `forward_to_handling_node`), it sends `case.forwarded`: the item, the applicant, the
  form, the materials with their files and paper custody, and the timeline so far. The
  handling node opens the case under the same number, received by the window of node A.
- After that, every action taken on either node travels as `case.action` with its payload
  and the materials given since the last one, and the other node applies it through the
  same engine (`cases.engine.take_remote_action`): its own clock, deadline segment and
  timeline. The handling node decides and issues the licence; the action that reports it
  carries the licence's identifier and QR token.
- News that is not an action (a parcel posted, tracked) travels as `case.event`; the
  steps of a 多地联办 case as `case.step.assigned` and `case.step.done`.

Envelopes are written in the transaction of the change (federation outbox), so a case is
never forwarded without its change committing, nor changed without being forwarded.
"""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from cases.models import Case, CaseEvent, CaseMaterial, CaseStep
from cases.payloads import material_fields
from cases.workflow import CASE_PAYLOADS, definition_of
from core import blobs
from core.models import Organisation
from core.process import Transition
from federation import services
from licences.models import Licence

FORWARDED = "case.forwarded"
ACTION = "case.action"
EVENT = "case.event"
STEPS_ASSIGNED = "case.step.assigned"
STEP_DONE = "case.step.done"
KINDS = (FORWARDED, ACTION, EVENT, STEPS_ASSIGNED, STEP_DONE)


# Envelope payloads ----------------------------------------------------------------------------------


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
    # Where the applicant was served (a division code) and the scope the sender decided;
    # the handling node decides again from its own lists and refuses a disagreement.
    scope: str = Field(default="", max_length=16)
    place: str = Field(default="", max_length=12)
    state: str = Field(max_length=32)
    assisted: bool = False
    applicant: ApplicantData
    receiving_org: OrganisationData
    form: dict[str, Any]
    submitted_at: str
    materials: list[MaterialData]
    events: list[EventData]


class LicenceRef(_Strict):
    identifier: str = Field(max_length=120)
    type: str = Field(default="电子证照", max_length=100)
    token: str = Field(default="", max_length=4000)


class ActionTaken(_Strict):
    number: str = Field(min_length=1, max_length=40)
    action: str = Field(max_length=48)
    from_state: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    organisation: OrganisationData | None = None
    note: str = ""
    # The action's payload, with the item's materials named by position, not by id.
    payload: dict[str, Any] = Field(default_factory=dict)
    licences: list[LicenceRef] = Field(default_factory=list)
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
    scope: str = Field(default="", max_length=16)
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
            clear = blobs.read(str(material.file.name), material.sha256)
            content = base64.b64encode(clear).decode()
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


def share(transition: Transition[Case]) -> None:
    """Send an action just taken here to the counterpart node (the engine calls it after
    every local action of a two-node case, unless the action forwarded the case)."""
    case, event = transition.process, transition.event
    if not case.handling_org.is_local and case.submitted_at is None:
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
            "payload": _payload_out(case, transition),
            "licences": _licences_issued(case, transition),
            "materials": _pending_materials(case),
        },
    )


def _payload_out(case: Case, transition: Transition[Case]) -> dict[str, Any]:
    """The action's payload as the other node understands it: materials by position."""
    payload = transition.payload
    if payload is None:
        return {}
    out: dict[str, Any] = payload.model_dump(mode="json")
    fields = material_fields(type(payload))
    if fields:
        positions = dict(case.item_version.materials.values_list("pk", "position"))
        for name in fields:
            out[name] = [positions[i] for i in out.get(name) or [] if i in positions]
    return out


def payload_in(case: Case, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A payload that came from the other node, with materials by id again (the other
    node's action has the same payload schema as ours: same definition, same code)."""
    spec = definition_of(case).any_action(action)
    data = dict(payload)
    if spec is None or spec.payload is None:
        return data
    fields = material_fields(CASE_PAYLOADS[spec.payload])
    if fields:
        ids = dict(case.item_version.materials.values_list("position", "pk"))
        for name in fields:
            data[name] = [ids[p] for p in data.get(name) or [] if p in ids]
    return data


def _licences_issued(case: Case, transition: Transition[Case]) -> list[dict[str, str]]:
    """The licences and result documents the action issued (only the handling node issues
    them; cases/results.py marks each in `transition.done`)."""
    identifiers = [d.split(":", 1)[1] for d in transition.done if d.startswith("issued:")]
    if not identifiers or not case.handling_org.is_local:
        return []
    issued = Licence.objects.filter(identifier__in=identifiers).select_related("licence_type")
    return [
        {"identifier": lic.identifier, "type": lic.licence_type.name, "token": lic.token}
        for lic in issued
    ]


def share_event(case: Case, event: CaseEvent) -> None:
    """Send a timeline entry that is not a workflow action (a parcel posted, tracked)."""
    if not case.counterpart_node or (not case.handling_org.is_local and case.submitted_at is None):
        return  # a single-node case, or one not forwarded yet (the forward carries it)
    services.send(
        case.counterpart_node,
        EVENT,
        {"number": case.number, "event": _event_row(event), "data": event.data},
    )


def send_steps(case: Case, node: str, assigned: list[CaseStep], steps: list[CaseStep]) -> None:
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
            "scope": case.scope,
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


def send_step_done(case: Case, step: CaseStep) -> None:
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
            "scope": case.scope,
            "place": case.place.code if case.place else "",
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


def forward_to_handling_node(transition: Transition[Case]) -> None:
    """Effect of submitting (online) or forwarding (at a window) a case whose item another
    node owns: hand it to that node, which then holds the handling half."""
    case = transition.process
    if case.handling_org.is_local:
        return
    forward(case)
    transition.done.add("forwarded")
