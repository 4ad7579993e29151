"""State changes of seals and licences: make and revoke seals, issue, re-issue and revoke
licences, verify tokens (`licences.recognition` does the checking, here it is logged),
answer other nodes' status questions, record uses. Each runs in one transaction with its
own log row."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import Company, Person, Role
from accounts.selectors import staff_user
from catalog.form_schema import parse_form_fields, validate_form_data
from catalog.models import LicenceType
from core.actors import Actor, NodeActor, actor_label
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.personal_data import lookup_hash, mask_id_number
from core.services import record_audit
from core.signing import Algorithm, fingerprint, generate_key
from federation import directory
from federation.directory import DirectoryUnavailable
from federation.registry import Message
from licences import canonical
from licences.identifiers import LicenceIdentifier
from licences.keys import key_store
from licences.models import Licence, LicenceEvent, Seal
from licences.recognition import Recognition, StatusQuestion, licence_status, recognise

# Re-exported: cases.materials checks a licence of this library with check_token (this
# node's seals only); Verification is the result's name from before licences were
# recognised across nodes.
from licences.recognition import check_token as check_token

Verification = Recognition


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _log(
    licence: Licence | None,
    kind: str,
    *,
    actor: Actor,
    outcome: str = "",
    detail: dict[str, Any] | None = None,
) -> LicenceEvent:
    return LicenceEvent.objects.create(
        licence=licence,
        kind=kind,
        outcome=outcome,
        actor=_user(actor),
        actor_label=actor_label(actor),
        detail=detail or {},
    )


# Seals -----------------------------------------------------------------------------------------


@transaction.atomic
def create_seal(
    organisation: Organisation,
    *,
    actor: Actor,
    name: str = "",
    algorithm: Algorithm = Algorithm.SM2,
    years: int = 5,
) -> Seal:
    """Make a seal for `organisation`: a new key pair in the key store, the public half here."""
    keys = generate_key(algorithm)
    now = timezone.now()
    seal = Seal.objects.create(
        organisation=organisation,
        name=name or f"{organisation.name}电子印章",
        algorithm=algorithm.value,
        public_pem=keys.public_pem.decode(),
        fingerprint=fingerprint(keys.public_pem),
        valid_from=now,
        valid_until=now + dt.timedelta(days=365 * years),
    )
    key_store().store(seal, keys.private_pem)
    record_audit(
        actor=actor,
        action="create_seal",
        obj=seal,
        summary=f"为 {organisation.name} 制作电子印章（{algorithm.value}）",
    )
    return seal


@transaction.atomic
def revoke_seal(seal: Seal, *, reason: str, actor: Actor) -> Seal:
    """Revoke a seal: no new signature is possible; licences it signed report its status."""
    if not reason.strip():
        raise RuleViolation("reason_required", "请填写吊销原因")
    seal = Seal.objects.select_for_update().get(pk=seal.pk)
    if seal.status == Seal.Status.REVOKED:
        raise RuleViolation("seal_revoked", "该印章已吊销", status=409)
    seal.status, seal.revoked_at, seal.revocation_reason = (
        Seal.Status.REVOKED,
        timezone.now(),
        reason.strip()[:200],
    )
    seal.save(update_fields=["status", "revoked_at", "revocation_reason"])
    record_audit(actor=actor, action="revoke_seal", obj=seal, summary=f"吊销印章：{reason}")
    return seal


def _require_org_admin(actor: Actor, organisation: Organisation) -> None:
    if staff_user(actor, [Role.ORG_ADMIN], [organisation]) is None:
        raise RuleViolation(
            "action_forbidden", "只有本机构的机构管理员可以制作或吊销电子印章", status=403
        )


@transaction.atomic
def create_seal_as_staff(
    organisation: Organisation,
    *,
    actor: Actor,
    name: str = "",
    algorithm: Algorithm = Algorithm.SM2,
    years: int = 5,
) -> Seal:
    """制作新印章 from the console: only an organisation admin of `organisation`."""
    _require_org_admin(actor, organisation)
    problems = ProblemList()
    if len(name.strip()) > 100:
        problems.add("印章名称不能超过 100 个字", field="name")
    if not 1 <= years <= 10:
        problems.add("印章有效期应为 1 至 10 年", field="years")
    problems.raise_if_any("seal_invalid", "印章信息有误")
    return create_seal(
        organisation, actor=actor, name=name.strip(), algorithm=algorithm, years=years
    )


@transaction.atomic
def revoke_seal_as_staff(seal: Seal, *, reason: str, actor: Actor) -> Seal:
    """吊销 from the console: only an organisation admin of the seal's organisation."""
    _require_org_admin(actor, seal.organisation)
    return revoke_seal(seal, reason=reason, actor=actor)


def signing_seal(organisation: Organisation) -> Seal:
    """The organisation's active, currently valid seal (newest first)."""
    now = timezone.now()
    seal = (
        Seal.objects.filter(
            organisation=organisation,
            status=Seal.Status.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        .order_by("-valid_from")
        .first()
    )
    if seal is None:
        raise RuleViolation(
            "no_active_seal", f"{organisation.name} 没有有效的电子印章，不能签发证照"
        )
    return seal


def _sign(seal: Seal, data: bytes) -> bytes:
    if seal.status != Seal.Status.ACTIVE or seal.valid_until <= timezone.now():
        raise RuleViolation("seal_not_usable", "印章已吊销或已过期，不能用于签名")
    return key_store().sign(seal, data)


# Issuing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    name: str
    code_type: str
    code: str
    person: Person | None = None
    company: Company | None = None

    @classmethod
    def of_person(cls, person: Person) -> Holder:
        return cls(person.name, Licence.HolderCodeType.ID_NUMBER, person.id_number, person=person)

    @classmethod
    def of_company(cls, company: Company) -> Holder:
        return cls(company.name, Licence.HolderCodeType.USCC, company.uscc, company=company)


def _serial() -> str:
    return f"{timezone.localdate():%Y%m%d}{secrets.randbelow(10**8):08d}"


@transaction.atomic
def issue_licence(
    *,
    licence_type: LicenceType,
    holder: Holder,
    issuer: Organisation,
    face_data: dict[str, Any],
    case_number: str,
    actor: Actor,
    supersedes: Licence | None = None,
) -> Licence:
    """Issue a licence: identifier with check character, face data checked against the
    type's face schema, signed with the issuer's seal over the canonical form, QR token.

    Call inside the transaction of the decision it results from."""
    problems = ProblemList()
    fields = parse_form_fields(
        licence_type.face_fields, problems, prefix="face_fields", noun="照面字段"
    )
    problems.raise_if_any("licence_type_invalid", f"证照类型“{licence_type.name}”的照面定义有误")
    face = validate_form_data(fields, face_data)
    if (
        not licence_type.allow_multiple
        and supersedes is None
        and Licence.objects.filter(
            licence_type=licence_type,
            holder_code_hash=lookup_hash(holder.code),
            status=Licence.Status.VALID,
        ).exists()
    ):
        raise RuleViolation(
            "licence_exists",
            f"持证主体已持有有效的“{licence_type.name}”，应换发而非重复签发",
            status=409,
        )
    seal = signing_seal(issuer)
    today = timezone.localdate()
    version = supersedes.version + 1 if supersedes else 1
    serial = supersedes.serial if supersedes else _serial()
    identifier = LicenceIdentifier(licence_type.code, issuer.uscc, serial, version)
    valid_until = (
        today.replace(year=today.year + licence_type.valid_years)
        if licence_type.valid_years
        else None
    )
    licence = Licence(
        identifier=str(identifier),
        licence_type=licence_type,
        number=f"{issuer.division.code}{serial}",
        serial=serial,
        version=version,
        holder_name=holder.name,
        holder_code_type=holder.code_type,
        holder_code=holder.code,
        holder_code_hash=lookup_hash(holder.code),
        holder_code_masked=_mask(holder),
        holder_person=holder.person,
        holder_company=holder.company,
        face_data=face,
        issuer=issuer,
        issued_at=timezone.now().replace(microsecond=0),
        valid_from=today,
        valid_until=valid_until,
        seal=seal,
        case_number=case_number,
        supersedes=supersedes,
    )
    licence.signature = base64.b64encode(_sign(seal, canonical.canonical_bytes(licence))).decode()
    payload = canonical.canonical_json(canonical.token_payload(licence))
    licence.token = canonical.build_token(payload, _sign(seal, payload))
    licence.save()
    if supersedes is not None:
        Licence.objects.filter(pk=supersedes.pk).update(status=Licence.Status.SUPERSEDED)
        _log(
            supersedes, LicenceEvent.Kind.SUPERSEDED, actor=actor, detail={"by": licence.identifier}
        )
    _log(licence, LicenceEvent.Kind.ISSUED, actor=actor, detail={"case": case_number})
    return licence


def _mask(holder: Holder) -> str:
    if holder.code_type == Licence.HolderCodeType.ID_NUMBER:
        return mask_id_number(holder.code)
    return holder.code


@transaction.atomic
def reissue_licence(
    licence: Licence, *, face_data: dict[str, Any], case_number: str, actor: Actor
) -> Licence:
    """换发: a new version with the same serial; the old one is superseded, not deleted."""
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    if licence.status != Licence.Status.VALID:
        raise RuleViolation("licence_not_valid", "只能换发有效的证照", status=409)
    holder = Holder(
        licence.holder_name,
        licence.holder_code_type,
        licence.holder_code,
        licence.holder_person,
        licence.holder_company,
    )
    return issue_licence(
        licence_type=licence.licence_type,
        holder=holder,
        issuer=licence.issuer,
        face_data=face_data,
        case_number=case_number,
        actor=actor,
        supersedes=licence,
    )


@transaction.atomic
def revoke_licence(licence: Licence, *, reason: str, actor: Actor) -> Licence:
    """Revoke a licence; verification reports it as revoked from now on."""
    if not reason.strip():
        raise RuleViolation("reason_required", "请填写撤销原因")
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    if licence.status == Licence.Status.REVOKED:
        raise RuleViolation("licence_revoked", "该证照已撤销", status=409)
    licence.status, licence.revoked_at, licence.revocation_reason = (
        Licence.Status.REVOKED,
        timezone.now(),
        reason.strip()[:200],
    )
    licence.save(update_fields=["status", "revoked_at", "revocation_reason"])
    _log(licence, LicenceEvent.Kind.REVOKED, actor=actor, detail={"reason": reason})
    return licence


def revoke_licences_of_case(case_number: str, *, reason: str, actor: Actor) -> int:
    """Revoke every valid licence issued from a case (its decision was revoked)."""
    count = 0
    for licence in Licence.objects.filter(case_number=case_number, status=Licence.Status.VALID):
        revoke_licence(licence, reason=reason, actor=actor)
        count += 1
    return count


# Verification ----------------------------------------------------------------------------------


def verify_token(
    token: str, *, actor: Actor, channel: str, holder_code: str | None = None
) -> Recognition:
    """Verify a token (or licence identifier), whichever node issued it, and log the
    verification (who, when, outcome). The issuer may be asked over the network, so that
    happens before, not inside, the transaction that writes the log."""
    result = recognise(token, holder_code=holder_code)
    if result.outcome == "malformed":  # no token or identifier at all
        # Nothing was verified: a row per malformed string would only let anyone fill
        # the table (decision 85).
        return result
    detail: dict[str, Any] = {"channel": channel, "reason": result.reason, "code": result.code}
    if not result.local:
        detail |= {"identifier": result.identifier, "node": result.node_id}
    # One INSERT, written before the answer leaves: the holder's log of who verified their
    # licence must never lose a row, so it is neither buffered nor deferred; a single
    # statement is atomic on its own, without a transaction's BEGIN and COMMIT around it
    # (decision 153).
    _log(
        result.licence,
        LicenceEvent.Kind.VERIFIED,
        actor=actor,
        outcome=result.outcome,
        detail=detail,
    )
    return result


def answer_licence_status(message: Message, question: StatusQuestion) -> dict[str, Any]:
    """Answer another node's `licence.status` question about a licence issued here; the
    holder sees the verification among the licence's events."""
    licence, answer = licence_status(question.identifier, holder_code=question.holder_code)
    if licence is not None:
        asker = message.sender
        with suppress(DirectoryUnavailable):
            node = directory.current().node(message.sender)
            asker = node.name if node is not None else asker
        node_actor = NodeActor(message.sender, asker)
        outcome = {"superseded": "revoked"}.get(answer["status"], answer["status"])
        with transaction.atomic():
            _log(
                licence,
                LicenceEvent.Kind.VERIFIED,
                actor=node_actor,
                outcome=outcome,
                detail={
                    "channel": "federation",
                    "node": message.sender,
                    "reason": f"{asker}经节点联邦查询证照状态",
                    "holder_checked": question.holder_code is not None,
                },
            )
    return answer


def record_use(licence: Licence, *, case_number: str, actor: Actor) -> LicenceEvent:
    """The holder used the licence in place of a material in a case."""
    return _log(licence, LicenceEvent.Kind.USED, actor=actor, detail={"case": case_number})


@transaction.atomic
def revoke_licence_as_staff(licence: Licence, *, reason: str, actor: Actor) -> Licence:
    """Revocation by staff: an approver or organisation admin of the issuing organisation."""
    if staff_user(actor, [Role.APPROVER, Role.ORG_ADMIN], [licence.issuer]) is None:
        raise RuleViolation(
            "action_forbidden", "只有颁证机构的审批人员或机构管理员可以撤销证照", status=403
        )
    return revoke_licence(licence, reason=reason, actor=actor)


def record_download(licence: Licence, *, actor: Actor) -> LicenceEvent:
    return _log(licence, LicenceEvent.Kind.DOWNLOADED, actor=actor)
