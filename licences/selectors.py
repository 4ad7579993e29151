"""Reads of seals and licences, scoped: a holder sees their own licences; staff of the
issuing organisation see what it issued; a supervisor sees everything issued in their
division."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.agents import acting_companies, acts_for
from accounts.models import Role, StaffRole
from catalog.form_schema import FieldType, parse_form_fields
from core.exceptions import NotFound, ProblemList, RuleViolation
from core.models import division_code_prefix
from core.personal_data import mask_address, mask_id_number, mask_mobile
from licences.identifiers import IdentifierError, parse_identifier
from licences.models import Licence, LicenceEvent, Seal


def key_set() -> QuerySet[Seal]:
    """Every seal of this node, active or not: verifiers need revoked ones' keys too."""
    return Seal.objects.select_related("organisation").order_by("organisation__name", "pk")


def get_seal(seal_id: int) -> Seal:
    seal = Seal.objects.select_related("organisation").filter(pk=seal_id).first()
    if seal is None:
        raise NotFound("seal_not_found", f"印章 {seal_id} 不存在")
    return seal


def _issued(user: User) -> Q:
    """What `user` sees as staff: what their organisations issued; a supervisor, what was
    issued inside their division."""
    visible = Q(pk__in=[])
    roles = list(StaffRole.objects.filter(user=user).select_related("division"))
    orgs = [r.organisation_id for r in roles if r.role != Role.SUPERVISOR]
    if orgs:
        visible |= Q(issuer_id__in=orgs)
    for role in roles:
        if role.role == Role.SUPERVISOR:
            visible |= Q(
                issuer__division__code__startswith=division_code_prefix(role.division.code)
            )
    return visible


def _visible(user: Any) -> Q:
    if not isinstance(user, User):
        return Q(pk__in=[])
    return (
        Q(holder_person__user=user)
        | Q(holder_company__in=acting_companies(user).values("pk"))
        | _issued(user)
    )


def _listing(visible: Q) -> QuerySet[Licence]:
    ids = Licence.objects.filter(visible).values("pk")
    return (
        Licence.objects.filter(pk__in=ids)
        .select_related("licence_type", "issuer", "seal__organisation")
        .order_by("-issued_at", "-pk")
    )


def licences_for(user: Any) -> QuerySet[Licence]:
    """The licences `user` may see, newest first."""
    return _listing(_visible(user))


def issued_licences_for(user: Any) -> QuerySet[Licence]:
    """The console's licence library: what `user`'s organisations issued (a supervisor:
    what was issued in their division), newest first — not the licences they hold."""
    if not isinstance(user, User):
        return Licence.objects.none()
    return _listing(_issued(user))


def get_issued_licence_for(user: Any, identifier: str) -> Licence:
    licence = issued_licences_for(user).filter(identifier=identifier.strip().upper()).first()
    if licence is None:
        raise NotFound("licence_not_found", "电子证照不存在或无权查看")
    return licence


def seals_of(organisation_ids: Iterable[int]) -> QuerySet[Seal]:
    """The seals of these organisations, active and revoked, newest first."""
    return (
        Seal.objects.filter(organisation_id__in=list(organisation_ids))
        .select_related("organisation")
        .order_by("organisation__name", "-valid_from", "-pk")
    )


def effective_status(licence: Licence, *, today: dt.date | None = None) -> tuple[str, str]:
    """The licence's status as a verifier would report it now, without the signature
    check: `valid`, `revoked` (the licence, its seal, or superseded by a newer version) or
    `expired`, with its Chinese label. Pages show it next to the stored status."""
    today = today or timezone.localdate()
    if licence.status == Licence.Status.REVOKED:
        return "revoked", "已撤销"
    if licence.status == Licence.Status.SUPERSEDED:
        return "superseded", "已换发"
    if licence.seal.status == Seal.Status.REVOKED:
        return "revoked", "已撤销（印章已吊销）"
    if licence.valid_until is not None and licence.valid_until < today:
        return "expired", "已过期"
    return "valid", "有效"


def wallet(user: Any) -> QuerySet[Licence]:
    """证照夹: the licences the user holds (as a person or as a company's agent)."""
    if not isinstance(user, User):
        return Licence.objects.none()
    return licences_for(user).filter(
        Q(holder_person__user=user) | Q(holder_company__in=acting_companies(user).values("pk"))
    )


def get_wallet_licence(user: Any, identifier: str) -> Licence:
    """One licence of the user's own wallet; 404 for anyone else's, staff included."""
    licence = wallet(user).filter(identifier=identifier.strip().upper()).first()
    if licence is None:
        raise NotFound("licence_not_found", "电子证照不存在或无权查看")
    return licence


def get_licence_for(user: Any, identifier: str) -> Licence:
    """A licence visible to `user`; a malformed identifier is refused with the rule it breaks
    (422), an unknown or invisible one answers 404."""
    try:
        parse_identifier(identifier)
    except IdentifierError as exc:
        raise RuleViolation(exc.code, str(exc)) from exc
    licence = licences_for(user).filter(identifier=identifier.strip().upper()).first()
    if licence is None:
        raise NotFound("licence_not_found", "电子证照不存在或无权查看")
    return licence


def is_holder(licence: Licence, user: Any) -> bool:
    if not isinstance(user, User):
        return False
    if licence.holder_person_id is not None:
        return licence.holder_person.user_id == user.pk  # type: ignore[union-attr]
    return acts_for(licence.holder_company, user)  # type: ignore[arg-type]


# Face fields that carry personal data, and how they are shown to anyone but the holder.
_FACE_MASKS = {
    FieldType.ID_NUMBER: mask_id_number,
    FieldType.PHONE: mask_mobile,
    FieldType.ADDRESS: mask_address,
}


def face_for(licence: Licence, viewer: Any) -> dict[str, Any]:
    """The licence face as `viewer` may see it (decision 82): in full for the holder; ID
    numbers, phones and addresses masked for everyone else, issuing staff included — as
    the case API masks an application form. Only the holder reads the signed canonical
    form, which carries them in clear."""
    face: dict[str, Any] = dict(licence.face_data or {})
    if is_holder(licence, viewer):
        return face
    for spec in parse_form_fields(licence.licence_type.face_fields, ProblemList()):
        mask = _FACE_MASKS.get(spec.type)
        if mask is not None and face.get(spec.name):
            face[spec.name] = mask(str(face[spec.name]))
    return face


def canonical_for(user: Any, identifier: str) -> Licence:
    """The licence whose canonical bytes `user` may read: only its holder's (decision 82).
    Staff who may see the licence get 403 `canonical_holder_only`; the masked face and the
    signature are in the licence detail."""
    licence = get_licence_for(user, identifier)
    if not is_holder(licence, user):
        raise RuleViolation(
            "canonical_holder_only",
            "签名所覆盖的规范化内容含持证主体的完整身份信息，仅持证人本人可以获取",
            status=403,
        )
    return licence


def events_of(licence: Licence) -> QuerySet[LicenceEvent]:
    """Every issue, verification, use and download of a licence (the holder sees them all)."""
    return licence.events.order_by("-at", "-pk")


def licence_row(licence: Licence) -> dict[str, Any]:
    return {
        "identifier": licence.identifier,
        "type": {"code": licence.licence_type.code, "name": licence.licence_type.name},
        "number": licence.number,
        "holder_name": licence.holder_name,
        "holder_code": licence.holder_code_masked,
        "issuer": {"uscc": licence.issuer.uscc, "name": licence.issuer.name},
        "issued_at": licence.issued_at,
        "valid_from": licence.valid_from,
        "valid_until": licence.valid_until,
        "status": licence.status,
        "status_label": licence.get_status_display(),
    }


def licence_view(licence: Licence, verify_url: str, viewer: Any) -> dict[str, Any]:
    """A licence for its holder or the issuing staff: the holder code masked, the face as
    `face_for` shows it to `viewer` (the canonical bytes carry both in clear, for the
    holder only)."""
    return {
        **licence_row(licence),
        "version": licence.version,
        "face": face_for(licence, viewer),
        "seal": {
            "id": licence.seal.pk,
            "name": licence.seal.name,
            "algorithm": licence.seal.algorithm,
            "fingerprint": licence.seal.fingerprint,
            "status": licence.seal.status,
        },
        "signature": licence.signature,
        "token": licence.token,
        "verify_url": verify_url,
        "case_number": licence.case_number,
        "revoked_at": licence.revoked_at,
        "revocation_reason": licence.revocation_reason,
        "events": [
            {
                "at": e.at,
                "kind": e.kind,
                "kind_label": e.get_kind_display(),
                "outcome": e.outcome,
                "actor": e.actor_label,
                "detail": e.detail,
            }
            for e in events_of(licence)
        ],
    }
