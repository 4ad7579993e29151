"""A case's timeline, its announcements to the applicant, and its archive (电子档案):
the record every case service writes as it changes a case."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from accounts.agents import acting_accounts
from accounts.services import notify
from cases.models import (
    Case,
    CaseArchive,
    CaseEvent,
)
from core.actors import Actor
from core.models import Organisation
from core.personal_data import mask_name
from core.process import record_event as process_record_event


def today() -> dt.date:
    return timezone.localdate()


# Timeline, notification, archive -----------------------------------------------------------


def record_event(
    case: Case,
    *,
    actor: Actor,
    action: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    organisation: Organisation | None = None,
    data: dict[str, Any] | None = None,
    node: str = "",
    at: dt.datetime | None = None,
) -> CaseEvent:
    """Append one row to the case's timeline: a transition (the engine calls it) or news
    that is not one (a material given, a parcel posted, a row from another node)."""
    event = process_record_event(
        CaseEvent,
        {"case": case},
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        organisation=organisation,
        data=data,
        node=node,
        at=at,
    )
    assert isinstance(event, CaseEvent)
    return event


def _applicant_user_and_mobile(case: Case) -> tuple[User | None, str]:
    if case.applicant_person_id is not None:
        person = case.applicant_person
        return person.user, person.mobile  # type: ignore[union-attr, return-value]
    company = case.applicant_company
    return acting_accounts(company).first(), ""  # type: ignore[arg-type]


def announce(case: Case, title: str, body: str) -> None:
    """Tell the applicant (message box and SMS); the title names the item first, so a
    person with several cases knows which one at a glance."""
    user, mobile = _applicant_user_and_mobile(case)
    if user is not None:
        item = case.item_version.name
        suffix = f"（{case.number}）"
        head = f"{title}：{item}"
        notify(
            user,
            title=(head[: 100 - len(suffix) - 1] + "…" if len(head + suffix) > 100 else head)
            + suffix,
            body=body,
            link=f"/my/cases/{case.number}/",
            mobile=mobile,
        )


def archive(case: Case) -> CaseArchive:
    events = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor_label,
            "action": e.action,
            "from": e.from_state,
            "to": e.to_state,
            "note": e.note,
            "organisation": e.organisation.name if e.organisation else "",
        }
        for e in case.events.select_related("organisation").order_by("at", "id")
    ]
    materials = [
        {
            "requirement": m.requirement.name,
            "status": m.status,
            "sha256": m.sha256,
            "size": m.size,
            "content_type": m.content_type,
            "paper_custody": m.paper_custody,
        }
        for m in case.materials.select_related("requirement")
    ]
    record = {
        "number": case.number,
        "item": case.item_version.item.code,
        "item_version": case.item_version.number,
        "item_name": case.item_version.name,
        "workflow": f"{case.workflow.code}@{case.workflow.version}",
        "mode": case.mode,
        "state": case.state,
        "applicant": case.applicant_name,
        "receiving_org": case.receiving_org.uscc,
        "handling_org": case.handling_org.uscc,
        "form": case.form_data,
        "accepted_on": case.started_on.isoformat() if case.started_on else None,
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "paused_days": case.paused_days,
        "events": events,
        "materials": materials,
        "commitments": [
            {"kind": c.kind, "status": c.status, "due_date": str(c.due_date), "notice": c.notice}
            for c in case.commitments.all()
        ],
    }
    canonical = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
    return CaseArchive.objects.create(
        case=case, record=record, digest=hashlib.sha256(canonical).hexdigest()
    )


def applicant_label(case: Case) -> str:
    """The applicant's name as shown to parties other than the applicant."""
    return mask_name(case.applicant_name) if case.applicant_person_id else case.applicant_name
