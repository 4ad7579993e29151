"""Every change of the sharing catalog and its requests: registering a resource (never a
classified one), a department's records for the local adapter, asking for data (需求清单),
the effects of the request workflow (the answer date, the refusal, the grant), revoking a
grant. Calls under a grant are in `sharing/calls.py`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.actors import Actor, SystemActor, actor_label
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.process import Transition
from core.services import record_audit
from sharing import engine
from sharing.models import (
    DataResource,
    Grant,
    Method,
    SharedRecord,
    SharingClass,
    SharingDeadline,
    SharingRequest,
    resource_problems,
    secret_items,
    secret_scene_message,
)
from sharing.payloads import ApprovalIn
from sharing.subjects import Subject

log = logging.getLogger(__name__)

# How long a grant may run at most (a request names its own term within it).
MAX_GRANT_DAYS = 3 * 366


# The catalog -------------------------------------------------------------------------------


@transaction.atomic
def register_resource(
    *,
    code: str,
    name: str,
    provider: Organisation,
    subject_kind: str,
    fields: list[dict[str, Any]],
    sharing_class: str,
    update_frequency: str,
    methods: list[str],
    adapter: str,
    legal_basis: str = "",
    summary: str = "",
    material_codes: list[str] | None = None,
    adapter_config: dict[str, Any] | None = None,
    classified: bool = False,
    actor: Actor,
) -> DataResource:
    """Put a resource into the sharing catalog (or update it, by code). A classified
    resource is refused outright: state secrets never enter the catalog."""
    if classified:
        raise RuleViolation("resource_classified", "涉密信息资源不得纳入共享目录", status=422)
    resource = DataResource.objects.filter(code=code).first() or DataResource(code=code)
    resource.name, resource.provider, resource.summary = name, provider, summary
    resource.subject_kind, resource.fields = subject_kind, fields
    resource.sharing_class, resource.legal_basis = sharing_class, legal_basis
    resource.update_frequency, resource.methods = update_frequency, methods
    resource.material_codes = material_codes or []
    resource.adapter, resource.adapter_config = adapter, adapter_config or {}
    problems = resource_problems(resource)
    if not code.strip():
        problems.setdefault("code", []).append("资源代码不能为空")
    if problems:
        found = ProblemList()
        for field, messages in problems.items():
            for message in messages:
                found.add(message, field=field)
        found.raise_if_any("resource_invalid", "信息资源登记有误")
    resource.save()
    record_audit(actor=actor, action="register_resource", obj=resource, summary=resource.name)
    return resource


@transaction.atomic
def put_record(
    resource: DataResource, *, subject: Subject, data: dict[str, Any], actor: Actor
) -> SharedRecord:
    """Keep (or replace) a department's record about `subject` for the local adapter;
    only the resource's own fields are kept."""
    if subject.kind != resource.subject_kind:
        raise RuleViolation("subject_kind_mismatch", "信息主体类型与资源不符")
    unknown = sorted(set(data) - set(resource.field_names))
    if unknown:
        raise RuleViolation("fields_outside_resource", f"资源没有这些信息项：{'、'.join(unknown)}")
    record, _ = SharedRecord.objects.update_or_create(
        resource=resource,
        subject_hash=subject.hash,
        defaults={"subject_masked": subject.masked, "data": data},
    )
    record_audit(
        actor=actor, action="put_record", obj=record, summary=f"{resource.code} {subject.masked}"
    )
    return record


# Requests (需求清单) ------------------------------------------------------------------------


def deadline_for(resource: DataResource) -> SharingDeadline:
    """The province's own limits for the resource's class, else the default row."""
    province = resource.provider.division.province_code
    rows = SharingDeadline.objects.filter(sharing_class=resource.sharing_class).select_related(
        "province"
    )
    own = next((r for r in rows if r.province is not None and r.province.code == province), None)
    default = next((r for r in rows if r.province is None), None)
    found = own or default
    if found is None:
        raise RuleViolation("sharing_deadline_missing", "未配置该共享类型的办理时限")
    return found


def new_number(prefix: str) -> str:
    return f"{prefix}{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


@transaction.atomic
def submit_request(
    *,
    resource: DataResource,
    consumer: Organisation,
    fields: list[str],
    methods: list[str],
    purpose: str,
    legal_basis: str,
    valid_until: dt.date,
    scene_items: list[str] | None = None,
    consumer_node: str = "",
    consumer_reference: str = "",
    requested_by: str = "",
    actor: Actor,
) -> SharingRequest:
    """需求清单: `consumer` asks for `fields` of `resource` by `methods`, for `purpose`
    in the items of `scene_items`, on `legal_basis`, until `valid_until`. Everything is
    checked first and every problem named; a resource classed 不予共享 cannot be asked for
    at all. The request then waits for the provider's review, on the clock."""
    problems = ProblemList()
    codes: list[str] = []

    def refuse(code: str, message: str, field: str) -> None:
        codes.append(code)
        problems.add(message, field=field)

    if not purpose.strip():
        refuse("purpose_required", "须写明使用数据的用途", "purpose")
    if not legal_basis.strip():
        refuse("legal_basis_required", "须写明申请共享的依据", "legal_basis")
    if not fields:
        refuse("fields_required", "须列出申请的信息项", "fields")
    outside = sorted(set(fields) - set(resource.field_names))
    if outside:
        refuse("fields_outside_resource", f"资源没有这些信息项：{'、'.join(outside)}", "fields")
    bad_methods = sorted(set(methods) - set(resource.methods)) if methods else []
    if not methods:
        refuse("methods_required", "须选择共享方式", "methods")
    elif bad_methods:
        labels = "、".join(Method(m).label if m in Method.values else m for m in bad_methods)
        refuse("method_not_offered", f"该资源不提供这种共享方式：{labels}", "methods")
    today = timezone.localdate()
    if valid_until <= today or (valid_until - today).days > MAX_GRANT_DAYS:
        refuse("valid_until_invalid", "使用期限须在今天之后、三年之内", "valid_until")
    if resource.sharing_class == SharingClass.NOT_SHARED:
        refuse("resource_not_shared", f"该资源不予共享（依据：{resource.legal_basis}）", "resource")
    if not resource.published:
        refuse("resource_not_published", "该资源尚未发布", "resource")
    if consumer.pk == resource.provider_id:
        refuse("consumer_is_provider", "提供部门无需申请本部门的数据", "consumer")
    secret = secret_items(scene_items or [])
    if secret:
        refuse("item_classified", secret_scene_message(secret), "scene_items")
    if problems:
        code = codes[0] if len(set(codes)) == 1 else "sharing_request_invalid"
        raise RuleViolation(code, problems.problems[0].reason, problems=problems.problems)
    deadline = deadline_for(resource)
    request = SharingRequest.objects.create(
        number=new_number("XQ"),
        workflow=engine.current_definition(),
        state="new",
        resource=resource,
        consumer=consumer,
        consumer_node=consumer_node,
        consumer_reference=consumer_reference,
        requested_by_label=(requested_by or actor_label(actor))[:128],
        fields=list(dict.fromkeys(fields)),
        methods=list(dict.fromkeys(methods)),
        purpose=purpose.strip()[:300],
        scene_items=scene_items or [],
        legal_basis=legal_basis.strip()[:300],
        valid_until=valid_until,
        limit_days=deadline.total,
    )
    engine.PROCESS.record_event(request, actor=actor, action="create", to_state="new")
    return engine.take_action(request, "submit", actor=SystemActor("共享需求"))


def refuse_secret_scene(scene_items: list[str]) -> None:
    """Refuse (`item_classified`, 422) a scene naming an item marked secret."""
    secret = secret_items(scene_items)
    if secret:
        raise RuleViolation(
            "item_classified", secret_scene_message(secret), status=422, field="scene_items"
        )


def record_answer(t: Transition[SharingRequest]) -> None:
    """Effect: the provider answered today (the figure 应享尽享 counts)."""
    t.process.answered_on = t.today
    t.changed.add("answered_on")


def record_refusal(t: Transition[SharingRequest]) -> None:
    """Effect: the refusal's reasons, kept on the request."""
    t.process.refusal_reason = t.note
    t.changed.add("refusal_reason")


def _credential() -> tuple[str, str, str]:
    raw = "tbg_" + secrets.token_urlsafe(32)
    return raw, raw[:12], hashlib.sha256(raw.encode()).hexdigest()


def credential_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_grant(t: Transition[SharingRequest]) -> None:
    """Effect: the grant an approval yields — the requested fields (or fewer) until the
    requested day (or earlier), with a new credential shown once, never stored in
    clear."""
    request = t.process
    # An item of the scene may have been marked secret since the request was made.
    refuse_secret_scene(list(request.scene_items))
    approval = t.payload if isinstance(t.payload, ApprovalIn) else ApprovalIn()
    fields = approval.fields if approval.fields is not None else list(request.fields)
    extra = sorted(set(fields) - set(request.fields))
    if extra or not fields:
        raise RuleViolation(
            "grant_fields_invalid",
            "授权字段须为所申请字段的一部分" + (f"：{'、'.join(extra)}" if extra else ""),
        )
    expires_on = approval.expires_on or request.valid_until
    if expires_on > request.valid_until or expires_on <= t.today:
        raise RuleViolation("grant_expiry_invalid", "授权有效期须在今天之后、不晚于申请期限")
    raw, prefix, digest = _credential()
    grant = Grant.objects.create(
        number=new_number("SQ"),
        request=request,
        resource=request.resource,
        consumer=request.consumer,
        consumer_node=request.consumer_node,
        fields=fields,
        methods=list(request.methods),
        purpose=request.purpose,
        scene_items=list(request.scene_items),
        personal_data_may_leave=approval.personal_data_may_leave,
        expires_on=expires_on,
        credential_prefix=prefix,
        credential_hash=digest,
    )
    t.event_data.update({"grant": grant.number, "fields": fields, "expires_on": str(expires_on)})
    t.done.add("granted")
    # Shown once to whoever approved, to hand to the consumer: the returned request
    # carries it (`issued_credential`), the database only its hash. A consumer of another
    # node needs none (its node's signature stands for it): nothing to hand over.
    if not request.consumer_node:
        request.issued_credential = raw  # type: ignore[attr-defined]


@transaction.atomic
def reset_credential(grant: Grant, *, actor: Actor) -> str:
    """A new credential for `grant` (the old stops working); returned once."""
    raw, prefix, digest = _credential()
    grant.credential_prefix, grant.credential_hash = prefix, digest
    grant.save(update_fields=["credential_prefix", "credential_hash"])
    record_audit(actor=actor, action="reset_grant_credential", obj=grant, summary=grant.number)
    return raw


@transaction.atomic
def revoke_grant(grant: Grant, *, reason: str, actor: Actor) -> Grant:
    """End a grant before its term (the provider or the data authority)."""
    if not reason.strip():
        raise RuleViolation("reason_required", "须写明撤销理由", field="reason")
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        record_audit(actor=actor, action="revoke_grant", obj=grant, summary=reason[:200])
    return grant


EFFECTS = {
    "record_answer": record_answer,
    "record_refusal": record_refusal,
    "issue_grant": issue_grant,
}
