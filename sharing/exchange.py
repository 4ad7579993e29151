"""Sharing between nodes (federation envelopes; the federation knows the kinds only as
strings):

- `sharing.catalog` — a question: the resources this node shares (no data, only the
  catalog), so a department of another node can ask for one;
- `sharing.request` — a department of another node asks for a resource here; the request
  runs here, on the provider's clock, with `consumer_node` set;
- `sharing.granted` — the provider's node tells (a periodic job, `send_grant_notices`) the
  consumer's node what its organisation may now ask (a `HeldGrant` there, and its copy of
  the request granted); no credential crosses: the provider knows the caller by the
  node's signature and the organisation that node vouches for;
- `sharing.request_status` — the provider's node tells the consumer's node of every other
  change of a request it filed (under review, refused with the reasons, disputed, closed,
  withdrawn): the consumer's copy (`RemoteRequest`) moves forward, once;
- `sharing.call` — a question under a grant: checked again here and logged where the data
  live, so the person sees the read in their data log on their own node;
- `sharing.alert` — the consumer's node refused a call outside a grant of this node
  before asking: logged and alerted here too.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from core.actors import NodeActor
from core.exceptions import RuleViolation
from core.models import Organisation
from core.services import record_remote_organisation
from federation import registry
from federation.registry import Message
from sharing.calls import (
    ALERT_KIND,
    CALL_QUERY,
    Call,
    Question,
    call_grant,
    record_reported_refusal,
)
from sharing.engine import STATUS_KIND
from sharing.models import (
    REMOTE_STATUS_RANK,
    DataResource,
    HeldGrant,
    RemoteRequest,
    RemoteRequestStatus,
)
from sharing.services import (
    MAX_GRANT_DAYS,
    new_number,
    refuse_secret_scene,
    submit_request,
)
from sharing.subjects import subject_of

CATALOG_QUERY = "sharing.catalog"
REQUEST_KIND = "sharing.request"
GRANTED_KIND = "sharing.granted"

log = logging.getLogger(__name__)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogQuestion(_In):
    pass


class ConsumerIn(_In):
    uscc: str = Field(max_length=18)
    name: str = Field(max_length=128)
    division: str = Field(max_length=12)


class RequestIn(_In):
    resource: str = Field(max_length=40)
    consumer: ConsumerIn
    fields: list[str] = Field(max_length=100)
    methods: list[str] = Field(max_length=3)
    purpose: str = Field(max_length=300)
    legal_basis: str = Field(max_length=300)
    scene_items: list[str] = Field(default_factory=list, max_length=100)
    valid_until: dt.date
    requested_by: str = Field(default="", max_length=128)
    reference: str = Field(default="", max_length=32)


class GrantedIn(_In):
    grant: str = Field(max_length=32)
    resource: str = Field(max_length=40)
    resource_name: str = Field(max_length=128)
    provider_name: str = Field(default="", max_length=128)
    consumer_uscc: str = Field(max_length=18)
    fields: list[str]
    field_labels: list[str] = Field(default_factory=list)
    methods: list[str]
    purpose: str = Field(max_length=300)
    material_codes: list[str] = Field(default_factory=list)
    subject_kind: str = Field(max_length=16)
    expires_on: dt.date
    request: str = Field(default="", max_length=32)
    reference: str = Field(default="", max_length=32)


class StatusIn(_In):
    """A request of an organisation of the receiving node changed state at the provider."""

    reference: str = Field(max_length=32)
    request: str = Field(max_length=32)
    state: str = Field(max_length=16)
    resource: str = Field(max_length=40)
    resource_name: str = Field(max_length=128)
    consumer_uscc: str = Field(max_length=18)
    reason: str = Field(default="", max_length=300)


class QuestionIn(_In):
    field: str = Field(max_length=64)
    op: str = Field(max_length=16)
    value: str = Field(default="", max_length=200)


class CallIn(_In):
    grant: str = Field(max_length=32)
    method: str = Field(max_length=16)
    consumer_uscc: str = Field(max_length=18)
    actor: str = Field(default="", max_length=128)
    subject_kind: str = Field(default="", max_length=16)
    subject: str = Field(default="", max_length=18)
    purpose: str = Field(default="", max_length=300)
    case_number: str = Field(default="", max_length=40)
    fields: list[str] = Field(default_factory=list, max_length=100)
    question: QuestionIn | None = None


def resource_entry(resource: DataResource) -> dict[str, Any]:
    return {
        "code": resource.code,
        "name": resource.name,
        "provider": resource.provider.name,
        "subject_kind": resource.subject_kind,
        "sharing_class": resource.sharing_class,
        "legal_basis": resource.legal_basis,
        "update_frequency": resource.update_frequency,
        "methods": resource.methods,
        "fields": [
            {k: f.get(k, "") for k in ("name", "label", "type", "sensitivity")}
            for f in resource.fields
        ],
        "material_codes": resource.material_codes,
    }


def _catalog(message: Message, payload: CatalogQuestion) -> dict[str, Any]:
    resources = (
        DataResource.objects.filter(published=True)
        .exclude(sharing_class="not_shared")
        .select_related("provider")
    )
    return {"resources": [resource_entry(r) for r in resources]}


def _request(message: Message, payload: RequestIn) -> None:
    resource = (
        DataResource.objects.filter(code=payload.resource)
        .select_related("provider__division")
        .first()
    )
    if resource is None:
        raise RuleViolation("resource_unknown", f"没有信息资源 {payload.resource}")
    actor = NodeActor(message.sender, payload.requested_by or message.sender)
    consumer = record_remote_organisation(
        uscc=payload.consumer.uscc,
        name=payload.consumer.name,
        division_code=payload.consumer.division,
        node=message.sender,
        actor=actor,
    )
    submit_request(
        resource=resource,
        consumer=consumer,
        fields=payload.fields,
        methods=payload.methods,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        valid_until=payload.valid_until,
        scene_items=payload.scene_items,
        consumer_node=message.sender,
        consumer_reference=payload.reference,
        requested_by=payload.requested_by,
        actor=actor,
    )


def _granted(message: Message, payload: GrantedIn) -> None:
    consumer = Organisation.objects.filter(uscc=payload.consumer_uscc, node="").first()
    if consumer is None:
        raise RuleViolation("organisation_unknown", f"本节点没有机构 {payload.consumer_uscc}")
    HeldGrant.objects.update_or_create(
        number=payload.grant,
        defaults={
            "provider_node": message.sender,
            "provider_name": payload.provider_name,
            "resource_code": payload.resource,
            "resource_name": payload.resource_name,
            "consumer": consumer,
            "fields": payload.fields,
            "field_labels": payload.field_labels,
            "methods": payload.methods,
            "purpose": payload.purpose,
            "material_codes": payload.material_codes,
            "subject_kind": payload.subject_kind,
            "expires_on": payload.expires_on,
        },
    )
    if payload.reference:
        advance_remote_request(
            payload.reference,
            RemoteRequestStatus.GRANTED,
            node=message.sender,
            provider_number=payload.request,
            grant_number=payload.grant,
        )


def _status(message: Message, payload: StatusIn) -> None:
    """The provider's node tells of a change of a request of an organisation of this node
    (under review, refused with the reasons, disputed, closed, withdrawn)."""
    if payload.state not in RemoteRequestStatus.values:
        raise RuleViolation("state_unknown", f"未知的共享需求状态 {payload.state}")
    advance_remote_request(
        payload.reference,
        payload.state,
        node=message.sender,
        provider_number=payload.request,
        reason=payload.reason,
    )


def advance_remote_request(
    reference: str,
    status: str,
    *,
    node: str,
    provider_number: str = "",
    grant_number: str = "",
    reason: str = "",
) -> RemoteRequest | None:
    """Move this node's copy of a request to another node to `status`, as that node told
    it — only forward (`REMOTE_STATUS_RANK`), so a notice delivered twice or after a later
    one changes nothing; each change applied is audited on the copy. A notice from another
    node than the request went to is refused; one for an unknown reference is ignored
    (None): the request was not filed from here."""
    from core.actors import SystemActor
    from core.services import record_audit

    with transaction.atomic():
        found = RemoteRequest.objects.select_for_update().filter(reference=reference).first()
        if found is None:
            return None
        if found.provider_node != node:
            raise RuleViolation("request_other_node", f"需求 {reference} 不是发给节点 {node} 的")
        rank = REMOTE_STATUS_RANK[RemoteRequestStatus(status)]
        if rank <= REMOTE_STATUS_RANK[RemoteRequestStatus(found.status)]:
            return found
        found.status = status
        found.provider_number = provider_number or found.provider_number
        found.grant_number = grant_number or found.grant_number
        found.reason = reason[:300] if reason else found.reason
        found.save()
        record_audit(
            actor=SystemActor(node),
            action="remote_request_status",
            obj=found,
            summary=f"{found.get_status_display()} {reason}"[:250],
        )
    return found


def _call(message: Message, payload: CallIn) -> dict[str, Any]:
    consumer = Organisation.objects.filter(uscc=payload.consumer_uscc, node=message.sender).first()
    subject = subject_of(payload.subject_kind, payload.subject) if payload.subject else None
    call = Call(
        grant_number=payload.grant,
        method=payload.method,
        subject=subject,
        purpose=payload.purpose,
        case_number=payload.case_number,
        fields=payload.fields,
        question=Question(**payload.question.model_dump()) if payload.question else None,
    )
    actor = NodeActor(message.sender, payload.actor or message.sender)
    answer = call_grant(
        call, actor=actor, consumer=consumer, consumer_node=message.sender, checked_case=True
    )
    return answer.as_dict()


class AlertIn(CallIn):
    code: str = Field(max_length=48)
    reason: str = Field(default="", max_length=300)


def _alert(message: Message, payload: AlertIn) -> None:
    """The consumer's node refused a call outside a grant of this node before asking:
    logged here and alerted to this node's data authority."""
    consumer = Organisation.objects.filter(uscc=payload.consumer_uscc, node=message.sender).first()
    subject = subject_of(payload.subject_kind, payload.subject) if payload.subject else None
    call = Call(
        grant_number=payload.grant,
        method=payload.method,
        subject=subject,
        purpose=payload.purpose,
        case_number=payload.case_number,
        fields=payload.fields,
        question=Question(**payload.question.model_dump()) if payload.question else None,
    )
    record_reported_refusal(
        call,
        payload.code,
        payload.reason,
        consumer=consumer,
        consumer_node=message.sender,
        actor=NodeActor(message.sender, payload.actor or message.sender),
    )


def ask_catalog(node: str) -> list[dict[str, Any]]:
    """The sharing catalog of another node (raises FederationUnavailable if it is down)."""
    from federation.services import ask

    answer = ask(node, CATALOG_QUERY, {})
    return list(answer.get("resources", []))


def send_request(
    *,
    node: str,
    resource_code: str,
    consumer: Organisation,
    fields: list[str],
    methods: list[str],
    purpose: str,
    legal_basis: str,
    valid_until: dt.date,
    scene_items: list[str] | None = None,
    requested_by: str = "",
    reference: str = "",
) -> None:
    """Ask the provider on `node` for a resource, for an organisation of this node. The
    request is checked there (and refused there with its reason if it is wrong)."""
    from federation.services import send

    if not purpose.strip() or not legal_basis.strip():
        raise RuleViolation(
            "purpose_required" if not purpose.strip() else "legal_basis_required",
            "须写明用途" if not purpose.strip() else "须写明申请共享的依据",
        )
    payload = RequestIn(
        resource=resource_code,
        consumer=ConsumerIn(
            uscc=consumer.uscc, name=consumer.name, division=consumer.division.code
        ),
        fields=fields,
        methods=methods,
        purpose=purpose,
        legal_basis=legal_basis,
        scene_items=scene_items or [],
        valid_until=valid_until,
        requested_by=requested_by,
        reference=reference,
    )
    send(node, REQUEST_KIND, payload.model_dump(mode="json"))


def remote_catalog(node: str) -> list[dict[str, Any]]:
    """The sharing catalog of another node for a department of this node to choose from:
    an unknown node or this node itself is refused (`node_unknown`), a node that cannot be
    reached is said so (`source_unavailable`, 503)."""
    from django.conf import settings

    from federation.directory import current, is_federated
    from federation.services import FederationUnavailable

    if not is_federated() or node == settings.NODE_ID or current().node(node) is None:
        raise RuleViolation("node_unknown", f"联邦目录中没有节点 {node}", status=404)
    try:
        return ask_catalog(node)
    except FederationUnavailable as exc:
        raise RuleViolation(
            "source_unavailable", f"暂时联系不上节点 {node}，请稍后再试", status=503
        ) from exc


def file_remote_request(
    *,
    node: str,
    resource_code: str,
    consumer: Organisation,
    fields: list[str],
    methods: list[str],
    purpose: str,
    legal_basis: str,
    valid_until: dt.date,
    scene_items: list[str] | None = None,
    actor: Any,
) -> RemoteRequest:
    """A department of this node asks the provider on `node` for a resource: checked here
    first against the provider's catalog as that node answers it now (the resource is in
    it, the fields and methods are its own, purpose and legal basis are written, the term
    is in the future, no scene item is secret), then kept here as a `RemoteRequest` (the
    live copy the provider's notices update), sent through the federation outbox and
    audited, in one transaction. The provider checks it again and runs it on its own
    clock."""
    from core.actors import actor_label
    from core.services import record_audit

    purpose, legal_basis = purpose.strip(), legal_basis.strip()
    if not purpose:
        raise RuleViolation("purpose_required", "须写明用途", status=422)
    if not legal_basis:
        raise RuleViolation("legal_basis_required", "须写明申请共享的依据", status=422)
    if not fields:
        raise RuleViolation("fields_required", "请至少选择一个信息项", status=422)
    if not methods:
        raise RuleViolation("methods_required", "请至少选择一种共享方式", status=422)
    today = timezone.localdate()
    if valid_until <= today or (valid_until - today).days > MAX_GRANT_DAYS:
        raise RuleViolation("valid_until_invalid", "使用期限须在今天之后、三年之内", status=422)
    entry = next((r for r in remote_catalog(node) if r.get("code") == resource_code), None)
    if entry is None:
        raise RuleViolation(
            "resource_unknown", f"节点 {node} 的共享目录中没有信息资源 {resource_code}", status=404
        )
    known = {f.get("name") for f in entry.get("fields", [])}
    outside = sorted(set(fields) - known)
    if outside:
        raise RuleViolation(
            "fields_outside_resource", f"资源没有这些信息项：{'、'.join(outside)}", status=422
        )
    not_offered = sorted(set(methods) - set(entry.get("methods", [])))
    if not_offered:
        raise RuleViolation(
            "method_not_offered", f"资源不提供这些共享方式：{'、'.join(not_offered)}", status=422
        )
    refuse_secret_scene(scene_items or [])
    fields, methods = list(dict.fromkeys(fields)), list(dict.fromkeys(methods))
    with transaction.atomic():
        remote = RemoteRequest.objects.create(
            reference=new_number("WQ"),
            provider_node=node,
            provider_name=str(entry.get("provider", ""))[:128],
            resource_code=resource_code,
            resource_name=str(entry.get("name", ""))[:128],
            consumer=consumer,
            requested_by_label=actor_label(actor)[:128],
            fields=fields,
            field_labels=[
                next(
                    (
                        str(f.get("label") or n)
                        for f in entry.get("fields", [])
                        if f.get("name") == n
                    ),
                    n,
                )
                for n in fields
            ],
            methods=methods,
            purpose=purpose[:300],
            legal_basis=legal_basis[:300],
            scene_items=scene_items or [],
            valid_until=valid_until,
        )
        send_request(
            node=node,
            resource_code=resource_code,
            consumer=consumer,
            fields=fields,
            methods=methods,
            purpose=purpose,
            legal_basis=legal_basis,
            valid_until=valid_until,
            scene_items=scene_items,
            requested_by=actor_label(actor),
            reference=remote.reference,
        )
        record_audit(
            actor=actor,
            action="send_sharing_request",
            obj=remote,
            summary=f"{node} {resource_code} {'、'.join(fields)}",
        )
    return remote


def _request_refused(receiver: str, payload: dict[str, Any], code: str, reason: str) -> None:
    """The provider's node refused a request this node sent (its checks failed): the copy
    here says so, with the provider's code and reason."""
    reference = str(payload.get("reference") or "")
    if reference:
        advance_remote_request(
            reference, RemoteRequestStatus.REJECTED, node=receiver, reason=f"{reason}（{code}）"
        )


def send_grant_notices(*, limit: int = 100) -> int:
    """Announce every grant for an organisation of another node that was not yet announced
    (`sharing.granted`, through the outbox), each in its own transaction; a directory that
    cannot be read leaves them for the next round. Returns how many were queued."""
    from federation.directory import is_federated
    from federation.services import send
    from sharing.models import Grant

    if not is_federated():
        return 0
    sent = 0
    pending = Grant.objects.filter(notice_sent_at__isnull=True).exclude(consumer_node="")
    for grant in pending.select_related("resource__provider", "consumer", "request")[:limit]:
        payload = GrantedIn(
            grant=grant.number,
            resource=grant.resource.code,
            resource_name=grant.resource.name,
            provider_name=grant.resource.provider.name,
            consumer_uscc=grant.consumer.uscc,
            fields=grant.fields,
            field_labels=[grant.resource.field_label(f) for f in grant.fields],
            methods=grant.methods,
            purpose=grant.purpose,
            material_codes=grant.resource.material_codes,
            subject_kind=grant.resource.subject_kind,
            expires_on=grant.expires_on,
            request=grant.request.number,
            reference=grant.request.consumer_reference,
        ).model_dump(mode="json")
        try:
            with transaction.atomic():
                send(grant.consumer_node, GRANTED_KIND, payload)
                Grant.objects.filter(pk=grant.pk).update(notice_sent_at=timezone.now())
        except RuleViolation as exc:
            log.warning("grant notice %s not sent: %s", grant.number, exc.code)
            continue
        sent += 1
    return sent


def register() -> None:
    registry.register_query(CATALOG_QUERY, CatalogQuestion, _catalog)
    registry.register(REQUEST_KIND, RequestIn, _request)
    registry.on_refused(REQUEST_KIND, _request_refused)
    registry.register(STATUS_KIND, StatusIn, _status)
    registry.register(GRANTED_KIND, GrantedIn, _granted)
    registry.register_query(CALL_QUERY, CallIn, _call)
    registry.register(ALERT_KIND, AlertIn, _alert)
