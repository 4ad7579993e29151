"""Calls under a grant (共享核验 and record queries), here or on the provider's node.

`verify` answers a yes/no (match/no-match) question without the underlying data; `query`
returns the granted fields of one record; `bulk` hands over a resource's records through a
bulk grant. Each checks the call against the grant first — purpose, the organisation that
holds the grant, its term, the method, the fields, the subject's kind, and that the subject
has to do with the stated case — and every call, answered or refused, is logged
(`AccessLog`: consumer, subject hashed and masked, purpose, grant, case, answer). A call
outside a grant is refused, returns nothing, and raises an alert to the data authority.

The refusal's log row must survive the refusal: it is written in its own transaction, so
these functions are never called inside one that a refusal would roll back.

A grant held from another node (`HeldGrant`) is checked here, then asked of the provider's
node with a `sharing.call` question (`sharing/exchange.py`), which checks it all again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, StaffRole
from core.actors import Actor, actor_label, user_of
from core.exceptions import RuleViolation
from core.models import Division, Organisation, division_code_prefix
from core.registry import Registry
from sharing.models import (
    AccessLog,
    DataResource,
    Grant,
    HeldGrant,
    Method,
    SharingAlert,
    SubjectKind,
)
from sharing.services import credential_hash
from sharing.sources import SOURCES, SourceUnavailable
from sharing.subjects import Subject

log = logging.getLogger(__name__)

# The federation question a call under a grant held from another node is asked with
# (answered by `sharing.exchange`).
CALL_QUERY = "sharing.call"
OPERATORS = ("equals", "within", "exists")
PERSONAL_SENSITIVITIES = ("personal", "sensitive")
# Refusals that mean someone tried to read outside a grant: they raise an alert.
ALERTING = frozenset(
    {
        "grant_unknown",
        "grant_credential_invalid",
        "grant_other_organisation",
        "grant_expired",
        "grant_revoked",
        "method_not_granted",
        "fields_not_granted",
        "subject_not_in_case",
    }
)

# Whether a case concerns a subject: `check(case_number, subject_hash)` → True / False, or
# None when the case is not on this node. The cases app registers it (floor 4 reaches
# down); with none registered, no call can name a case.
CaseCheck = Callable[[str, str], "bool | None"]
CASE_CHECKS: Registry[CaseCheck] = Registry("sharing case check")


def register_case_check(name: str, check: CaseCheck) -> None:
    CASE_CHECKS.register(name, check)


@dataclass(frozen=True)
class Question:
    """A yes/no question about one field: `equals` a value, `within` a division (the
    record's code lies inside it), or `exists` (the field is set and true)."""

    field: str
    op: str = "equals"
    value: str = ""


@dataclass
class Call:
    """One call as asked, before any check."""

    grant_number: str
    method: str
    subject: Subject | None
    purpose: str
    case_number: str = ""
    fields: list[str] = field(default_factory=list)
    question: Question | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Answer:
    """What the caller gets: for a verification `match`; for a query `found` and the
    granted fields of the record; for a bulk pull the records."""

    method: str
    grant: str
    match: bool | None = None
    found: bool | None = None
    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = None
    log_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "grant": self.grant}
        if self.match is not None:
            out["match"] = self.match
        if self.found is not None:
            out["found"] = self.found
        if self.record is not None:
            out["record"] = self.record
        if self.records is not None:
            out["records"] = self.records
        return out


# Logging and alerts --------------------------------------------------------------------------


def _question_data(call: Call) -> dict[str, Any]:
    if call.question is not None:
        # The value asked about may be a fact about the person (a division, a name): keep
        # only what was asked, not with what.
        return {"field": call.question.field, "op": call.question.op}
    return {"fields": list(call.fields)}


def _write_log(
    call: Call,
    *,
    consumer: Organisation | None,
    consumer_label: str,
    consumer_node: str,
    actor: Actor,
    grant: Grant | None,
    resource: DataResource | None,
    outcome: str,
    answer: dict[str, Any] | None = None,
    code: str = "",
    reason: str = "",
) -> AccessLog:
    subject = call.subject
    return AccessLog.objects.create(
        consumer=consumer,
        consumer_label=consumer_label[:160],
        consumer_node=consumer_node,
        actor_label=actor_label(actor)[:128],
        grant=grant,
        grant_number=call.grant_number[:32],
        resource=resource,
        method=call.method if call.method in Method.values else Method.VERIFY,
        subject_kind=subject.kind if subject else "",
        subject_hash=subject.hash if subject else "",
        subject_masked=subject.masked if subject else "",
        purpose=call.purpose[:300],
        case_number=call.case_number[:40],
        question=_question_data(call),
        answer=answer or {},
        outcome=outcome,
        refusal_code=code,
        refusal_reason=reason[:300],
    )


def _alert_division(resource: DataResource | None, consumer: Organisation | None) -> Division:
    if resource is not None:
        return resource.provider.division
    if consumer is not None:
        return consumer.division
    from django.conf import settings

    return Division.objects.get(code=settings.NODE_DIVISION)


def _raise_alert(
    entry: AccessLog, resource: DataResource | None, consumer: Organisation | None, message: str
) -> SharingAlert:
    """An alert to the data authority: the supervisors over the provider's division are
    told in their inbox."""
    from accounts.services import notify

    division = _alert_division(resource, consumer)
    alert = SharingAlert.objects.create(
        call=entry,
        provider=resource.provider if resource else None,
        division=division,
        code=entry.refusal_code,
        message=message[:300],
    )
    prefix = division_code_prefix(division.province_code)
    supervisors = StaffRole.objects.filter(
        role=Role.SUPERVISOR, division__code__startswith=prefix
    ).select_related("user", "division")
    told = set()
    for role in supervisors:
        if not division.code.startswith(role.division.code_prefix) or role.user_id in told:
            continue
        told.add(role.user_id)
        notify(
            role.user,
            title="数据共享越权调用告警",
            body=f"{entry.consumer_label}：{message}",
            link="/sharing/alerts/",
        )
    return alert


class Refusal(RuleViolation):
    """A call refused; it was logged (and, outside a grant, alerted) before raising."""

    log_id: int | None = None


def _refuse(
    call: Call,
    code: str,
    message: str,
    *,
    consumer: Organisation | None,
    consumer_label: str,
    consumer_node: str,
    actor: Actor,
    grant: Grant | None = None,
    resource: DataResource | None = None,
    status: int = 403,
) -> Refusal:
    with transaction.atomic():
        entry = _write_log(
            call,
            consumer=consumer,
            consumer_label=consumer_label,
            consumer_node=consumer_node,
            actor=actor,
            grant=grant,
            resource=resource,
            outcome=AccessLog.Outcome.REFUSED,
            code=code,
            reason=message,
        )
        if code in ALERTING:
            _raise_alert(entry, resource, consumer, message)
    log.info("sharing call refused: %s (%s)", code, call.grant_number)
    refusal = Refusal(code, message, status=status)
    refusal.log_id = entry.pk
    return refusal


# The checks -----------------------------------------------------------------------------------


def consumer_of(actor: Actor, wanted: Organisation | None) -> Organisation | None:
    """The organisation a signed-in staff member calls for: `wanted` if they hold a role
    there, else their first organisation (the call will be refused as someone else's)."""
    user = user_of(actor)
    if user is None:
        return wanted
    roles = list(StaffRole.objects.filter(user=user).select_related("organisation__division"))
    for role in roles:
        if wanted is not None and role.organisation_id == wanted.pk:
            return role.organisation
    return roles[0].organisation if roles else None


def _basic_problem(call: Call) -> tuple[str, str] | None:
    if not call.purpose.strip():
        return "purpose_required", "须写明本次调用的用途"
    if call.method not in Method.values:
        return "method_unknown", f"未知的共享方式：{call.method}"
    if call.method != Method.BULK and call.subject is None:
        return "subject_required", "须指明信息主体"
    if call.method == Method.VERIFY:
        if call.question is None or call.question.op not in OPERATORS:
            return "question_invalid", "核验须指明字段和方式（等于、属于区划或存在）"
    elif call.method == Method.QUERY and not call.fields:
        return "fields_required", "查询须列出所需字段"
    return None


def _grant_problem(
    call: Call,
    *,
    consumer: Organisation | None,
    holder_id: int,
    methods: list[str],
    granted: list[str],
    expires_on: Any,
    revoked: bool,
    resource_fields: list[str] | None,
    subject_kind: str,
) -> tuple[str, str] | None:
    """The checks of a call against a grant (held here or at the provider)."""
    if consumer is None or consumer.pk != holder_id:
        return "grant_other_organisation", "该授权不属于调用部门"
    if revoked:
        return "grant_revoked", "该授权已撤销"
    if expires_on < timezone.localdate():
        return "grant_expired", f"该授权已于 {expires_on} 到期"
    if call.method not in methods:
        labels = "、".join(Method(m).label for m in methods)
        return "method_not_granted", f"该授权只允许：{labels}"
    asked = [call.question.field] if call.question is not None else list(call.fields)
    if resource_fields is not None:
        outside = sorted(set(asked) - set(resource_fields))
        if outside:
            return "fields_outside_resource", f"资源没有这些信息项：{'、'.join(outside)}"
    not_granted = sorted(set(asked) - set(granted))
    if not_granted:
        return "fields_not_granted", f"未获授权的字段：{'、'.join(not_granted)}"
    if call.subject is not None and call.subject.kind != subject_kind:
        return "subject_kind_mismatch", "信息主体类型与资源不符"
    return None


def _case_problem(call: Call) -> tuple[str, str] | None:
    """A personal subject needs a case of this node that concerns them (purpose binding);
    any case named must concern the subject."""
    if call.subject is None:
        return None
    if not call.case_number:
        if call.subject.kind == SubjectKind.PERSON:
            return "case_required", "查询自然人信息须指明所办理的办件"
        return None
    verdicts = [CASE_CHECKS[name](call.case_number, call.subject.hash) for name in CASE_CHECKS]
    known = [v for v in verdicts if v is not None]
    if not known:
        return "case_unknown", f"本节点没有办件 {call.case_number}"
    if not any(known):
        return "subject_not_in_case", f"信息主体与办件 {call.case_number} 无关"
    return None


def _answer_from(
    resource: DataResource, call: Call, granted: list[str], record: dict[str, Any] | None
) -> Answer:
    if call.method == Method.VERIFY:
        assert call.question is not None
        return Answer(call.method, call.grant_number, match=_matches(call.question, record))
    return Answer(
        call.method,
        call.grant_number,
        found=record is not None,
        record={f: record.get(f) for f in call.fields if f in granted} if record else None,
    )


def _matches(question: Question, record: dict[str, Any] | None) -> bool:
    if record is None:
        return False
    value = record.get(question.field)
    if question.op == "exists":
        return bool(value)
    if value is None:
        return False
    if question.op == "within":
        return str(value).startswith(division_code_prefix(question.value.strip()))
    if isinstance(value, bool):
        return value == (question.value.strip().lower() in ("true", "1", "是"))
    return str(value).strip() == question.value.strip()


def _log_answer(answer: Answer) -> dict[str, Any]:
    if answer.match is not None:
        return {"match": answer.match}
    if answer.records is not None:
        return {"records": len(answer.records)}
    return {"found": answer.found, "fields": sorted((answer.record or {}).keys())}


# Entry: a call on this node -------------------------------------------------------------------


def call_grant(
    call: Call,
    *,
    actor: Actor,
    consumer: Organisation | None = None,
    consumer_node: str = "",
    checked_case: bool = False,
) -> Answer:
    """Answer `call` from the grant it names: a grant of this node's resources (here), or a
    grant this node's organisation holds from another node (asked there). `consumer` is
    the organisation calling — for staff, found from their roles; `consumer_node` the node
    it works on when another node asks for it (`checked_case`: that node checked the case)."""
    held = None
    grant = (
        Grant.objects.select_related("resource__provider__division", "consumer")
        .filter(number=call.grant_number)
        .first()
    )
    if grant is None and not consumer_node:
        held = HeldGrant.objects.select_related("consumer").filter(number=call.grant_number).first()
    wanted = grant.consumer if grant is not None else held.consumer if held is not None else None
    if not consumer_node:
        consumer = consumer_of(actor, wanted) if user_of(actor) is not None else consumer
    label = consumer.name if consumer is not None else actor_label(actor)
    ctx: dict[str, Any] = {
        "consumer": consumer,
        "consumer_label": label,
        "consumer_node": consumer_node,
        "actor": actor,
    }
    problem = _basic_problem(call)
    resource = grant.resource if grant is not None else None
    if problem is None and grant is None and held is None:
        problem = "grant_unknown", f"没有授权 {call.grant_number}"
    if problem is not None:
        raise _refuse(call, *problem, grant=grant, resource=resource, **ctx)
    if held is not None:
        return _call_remote(call, held, ctx)
    assert grant is not None and resource is not None
    if call.credential is not None and credential_hash(call.credential) != grant.credential_hash:
        raise _refuse(
            call,
            "grant_credential_invalid",
            "授权凭据不正确",
            grant=grant,
            resource=resource,
            **ctx,
        )
    problem = _grant_problem(
        call,
        consumer=consumer,
        holder_id=grant.consumer_id,
        methods=grant.methods,
        granted=grant.fields,
        expires_on=grant.expires_on,
        revoked=grant.revoked_at is not None,
        resource_fields=resource.field_names,
        subject_kind=resource.subject_kind,
    )
    if problem is None and consumer_node and consumer_node != grant.consumer_node:
        problem = "grant_other_organisation", "该授权不属于调用节点"
    if problem is None and not checked_case:
        problem = _case_problem(call)
    if problem is None and consumer_node and call.method != Method.VERIFY:
        personal = [
            f["name"]
            for f in resource.fields
            if f.get("sensitivity") in PERSONAL_SENSITIVITIES and f["name"] in call.fields
        ]
        if (
            (personal or call.method == Method.BULK)
            and not grant.personal_data_may_leave
            and (resource.personal or personal)
        ):
            problem = "personal_data_stays_home", "授权未允许个人信息离开本节点，只能核验"
    if problem is not None:
        raise _refuse(call, *problem, grant=grant, resource=resource, **ctx)
    return _answer_local(call, grant, resource, ctx)


def _answer_local(call: Call, grant: Grant, resource: DataResource, ctx: dict[str, Any]) -> Answer:
    source = SOURCES[resource.adapter]
    try:
        if call.method == Method.BULK:
            answer = _bulk(call, grant, resource)
        else:
            assert call.subject is not None
            answer = _answer_from(
                resource, call, grant.fields, source.lookup(resource, call.subject)
            )
    except SourceUnavailable as exc:
        with transaction.atomic():
            _write_log(
                call,
                grant=grant,
                resource=resource,
                outcome=AccessLog.Outcome.UNAVAILABLE,
                reason=str(exc),
                **ctx,
            )
        raise RuleViolation("source_unavailable", f"数据源暂不可用：{exc}", status=503) from exc
    with transaction.atomic():
        entry = _write_log(
            call,
            grant=grant,
            resource=resource,
            outcome=AccessLog.Outcome.ANSWERED,
            answer=_log_answer(answer),
            **ctx,
        )
    return Answer(**{**answer.__dict__, "log_id": entry.pk})


def _bulk(call: Call, grant: Grant, resource: DataResource) -> Answer:
    """A bulk pull: the granted fields of every record kept here for the resource."""
    from sharing.models import SharedRecord

    if resource.adapter != "records":
        raise SourceUnavailable("该资源的数据源不支持批量交换")
    rows = [
        {"subject": r.subject_masked, **{f: r.data.get(f) for f in grant.fields}}
        for r in SharedRecord.objects.filter(resource=resource).order_by("id")
    ]
    return Answer(call.method, call.grant_number, records=rows)


def _call_remote(call: Call, held: HeldGrant, ctx: dict[str, Any]) -> Answer:
    """A grant held from another node: checked here, then asked of the provider's node,
    which checks it again and logs the read where the data live."""
    from federation.services import FederationUnavailable, ask

    problem = _grant_problem(
        call,
        consumer=ctx["consumer"],
        holder_id=held.consumer_id,
        methods=held.methods,
        granted=held.fields,
        expires_on=held.expires_on,
        revoked=False,
        resource_fields=None,
        subject_kind=held.subject_kind,
    ) or _case_problem(call)
    if problem is not None:
        refusal = _refuse(call, *problem, **ctx)
        if refusal.code in ALERTING:
            _report_to_provider(call, held, ctx, refusal)
        raise refusal
    try:
        reply = ask(held.provider_node, CALL_QUERY, call_payload(call, held, ctx["consumer"]))
    except FederationUnavailable as exc:
        with transaction.atomic():
            _write_log(
                call,
                grant=None,
                resource=None,
                outcome=AccessLog.Outcome.UNAVAILABLE,
                reason=str(exc),
                **ctx,
            )
        raise RuleViolation("source_unavailable", "数据提供方节点暂不可用", status=503) from exc
    except RuleViolation as exc:
        with transaction.atomic():
            _write_log(
                call,
                grant=None,
                resource=None,
                outcome=AccessLog.Outcome.REFUSED,
                code=exc.code,
                reason=exc.message,
                **ctx,
            )
        raise
    answer = Answer(
        call.method,
        call.grant_number,
        match=reply.get("match"),
        found=reply.get("found"),
        record=reply.get("record"),
        records=reply.get("records"),
    )
    with transaction.atomic():
        entry = _write_log(
            call,
            grant=None,
            resource=None,
            outcome=AccessLog.Outcome.ANSWERED,
            answer=_log_answer(answer),
            **ctx,
        )
    return Answer(**{**answer.__dict__, "log_id": entry.pk})


# The envelope that tells the provider's node of an attempt outside a grant it gave, refused
# on the consumer's node before asking: logged and alerted there too (`sharing.exchange`).
ALERT_KIND = "sharing.alert"


def _report_to_provider(
    call: Call, held: HeldGrant, ctx: dict[str, Any], refusal: RuleViolation
) -> None:
    """The provider's data authority hears of an attempt outside its grant, and the person
    sees it in their data log where their data live (queued in the outbox; a directory
    that cannot be read leaves it logged here only)."""
    from federation.services import send

    payload = {
        **call_payload(call, held, ctx["consumer"]),
        "code": refusal.code,
        "reason": refusal.message[:300],
    }
    payload["actor"] = actor_label(ctx["actor"])[:128]
    try:
        with transaction.atomic():
            send(held.provider_node, ALERT_KIND, payload)
    except RuleViolation as exc:
        log.warning("alert for %s not sent to %s: %s", held.number, held.provider_node, exc.code)


def record_reported_refusal(
    call: Call,
    code: str,
    reason: str,
    *,
    consumer: Organisation | None,
    consumer_node: str,
    actor: Actor,
) -> AccessLog:
    """An attempt outside a grant of this node that the consumer's node refused and
    reported: logged here (the person's data log) and alerted to the provider's data
    authority, like a refusal here. Only refusals that alert are recorded."""
    if code not in ALERTING:
        raise RuleViolation("alert_code_unknown", f"不是越权调用的拒绝代码：{code}")
    grant = (
        Grant.objects.select_related("resource__provider__division", "consumer")
        .filter(number=call.grant_number, consumer_node=consumer_node)
        .first()
    )
    from federation.directory import node_names

    where = node_names().get(consumer_node) or f"{consumer_node} 节点"
    refusal = _refuse(
        call,
        code,
        f"{reason}（{where}已拒绝）"[:300],
        consumer=consumer,
        consumer_label=consumer.name if consumer is not None else consumer_node,
        consumer_node=consumer_node,
        actor=actor,
        grant=grant,
        resource=grant.resource if grant is not None else None,
    )
    assert refusal.log_id is not None
    return AccessLog.objects.get(pk=refusal.log_id)


def call_payload(call: Call, held: HeldGrant, consumer: Organisation | None) -> dict[str, Any]:
    """The `sharing.call` question for `call` under a grant held from another node."""
    question = call.question
    return {
        "grant": held.number,
        "method": call.method,
        "consumer_uscc": consumer.uscc if consumer is not None else "",
        "subject_kind": call.subject.kind if call.subject else "",
        "subject": call.subject.code if call.subject else "",
        "purpose": call.purpose,
        "case_number": call.case_number,
        "fields": list(call.fields),
        "question": (
            {"field": question.field, "op": question.op, "value": question.value}
            if question is not None
            else None
        ),
    }
