"""Recognising a licence wherever in the federation it was issued (跨节点互认).

A token (`TB1.…`, what the QR code holds) is checked **offline** against the seal that
signed it: one of this node's seals, or one that another node published in the federation
directory (its entry's `seals`, `published_seals` on that node). Its status then comes from
the issuer: this node's library for its own licences, and the issuing node's signed answer
to a `licence.status` query (`licence_status` there) for another node's. When the issuing
node cannot be asked, the result says that the signature holds and the status is unknown —
never that the licence is valid.

A bare licence identifier is recognised too: this node's own from its library; another
node's by asking its issuer, which sends the token back only to someone who names the
holder's code correctly (`holder_code`), so the seal signature can still be checked.

Everything here reads; `licences.services.verify_token` logs a verification, and
`licences.services.answer_licence_status` answers (and logs) another node's question.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from core.exceptions import RuleViolation
from core.models import Division
from core.personal_data import lookup_hash
from core.signing import Algorithm, SigningError, verify
from federation import directory
from federation.directory import DirectoryUnavailable, Node, PublicKey, parse_utc, utc_text
from federation.services import FederationUnavailable, ask
from licences import canonical
from licences.identifiers import ROOT, IdentifierError, parse_identifier
from licences.models import Licence, Seal
from licences.selectors import effective_status

log = logging.getLogger(__name__)

STATUS_QUERY = "licence.status"
STATUSES = ("valid", "revoked", "superseded", "expired", "unknown")
STATUS_LABELS = {
    "valid": "有效",
    "revoked": "已撤销",
    "superseded": "已换发",
    "expired": "已过期",
    "unknown": "暂无法核实",
}


@dataclass(frozen=True)
class Recognition:
    """What a verifier learns about a licence, on this node or from another.

    `outcome` is the verdict: `valid`, `unconfirmed` (the signature holds but the status
    could not be confirmed by the issuer), `tampered` (a token that parses but whose
    signature or issuer does not hold), `malformed` (not a token or identifier at all: a
    scan cut short, a typo), `revoked`, `expired` or `unknown_issuer`; `code` names the reason for machines and `reason` says it in Chinese.
    `signature_ok` is the offline seal check; `status` is what the issuer says (`valid`,
    `revoked`, `superseded`, `expired` or `unknown`) and `status_checked` whether it said
    it; `holder_matches` answers a `holder_code` asked about (None when none was). The
    face fields are the token's minimal face (holder masked), set only when it is genuine.
    """

    outcome: str
    code: str
    reason: str
    signature_ok: bool = False
    status: str = "unknown"
    status_checked: bool = False
    holder_matches: bool | None = None
    identifier: str = ""
    licence_type_name: str = ""
    type_code: str = ""
    holder_name_masked: str = ""
    holder_masked: str = ""
    issuer_uscc: str = ""
    issuer_name: str = ""
    valid_from: str | None = None
    valid_until: str | None = None
    version: int | None = None
    node_id: str = ""
    node_name: str = ""
    node_label: str = ""
    local: bool = True
    licence: Licence | None = None
    checked_at: dt.datetime = field(default_factory=timezone.now)

    OUTCOME_LABELS: ClassVar[dict[str, str]] = {
        "valid": "有效",
        "unconfirmed": "无法确认",
        "tampered": "已被篡改",
        "malformed": "格式错误",
        "revoked": "已撤销",
        "expired": "已过期",
        "unknown_issuer": "签发机构未知",
    }

    @property
    def label(self) -> str:
        return self.OUTCOME_LABELS[self.outcome]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status] if self.status_checked else STATUS_LABELS["unknown"]

    @property
    def revocation_checked(self) -> bool:
        return self.status_checked

    @property
    def valid_for_holder(self) -> bool:
        """Genuine, confirmed valid by its issuer, and held by the `holder_code` asked about:
        what a licence needs to stand in for an application material."""
        return self.outcome == "valid" and self.signature_ok and self.holder_matches is True

    @property
    def face(self) -> dict[str, Any]:
        """The token's minimal face under its token keys (empty unless genuine)."""
        if not self.signature_ok:
            return {}
        return {
            "id": self.identifier,
            "typ": self.licence_type_name,
            "hn": self.holder_name_masked,
            "hc": self.holder_masked,
            "isn": self.issuer_name,
            "vf": self.valid_from,
            "vu": self.valid_until,
        }


# Verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    payload_bytes: bytes
    payload: dict[str, Any]
    signature: bytes

    @classmethod
    def parse(cls, token: str) -> _Token:
        return cls(*canonical.split_token(token))

    @property
    def kid(self) -> str:
        return str(self.payload.get("kid", ""))

    @property
    def identifier(self) -> str:
        return str(self.payload.get("id", ""))

    def face(self) -> dict[str, Any]:
        """Recognition fields from the (verified) payload."""
        try:
            parsed = parse_identifier(self.identifier)
            type_code, version = parsed.type_code, parsed.version
        except IdentifierError:
            type_code, version = "", None
        return {
            "identifier": self.identifier,
            "licence_type_name": str(self.payload.get("typ") or ""),
            "type_code": type_code,
            "version": version,
            "holder_name_masked": str(self.payload.get("hn") or ""),
            "holder_masked": str(self.payload.get("hc") or ""),
            "issuer_uscc": str(self.payload.get("iss") or ""),
            "issuer_name": str(self.payload.get("isn") or ""),
            "valid_from": self.payload.get("vf"),
            "valid_until": self.payload.get("vu"),
            "signature_ok": True,
        }

    def expired(self, today: dt.date) -> bool:
        try:
            valid_until = self.payload.get("vu")
            return bool(valid_until) and dt.date.fromisoformat(str(valid_until)) < today
        except ValueError:  # a sealed token always has an ISO date; nothing else expires
            return False


def _malformed() -> Recognition:
    return Recognition("malformed", "token_malformed", "令牌格式错误，无法解析")


def _signature_problem(token: _Token, algorithm: str, public_pem: bytes) -> Recognition | None:
    """None when the seal signed the token; otherwise why not."""
    if token.payload.get("alg") != algorithm:
        return Recognition(
            "tampered",
            "algorithm_mismatch",
            f"令牌声称的算法 {token.payload.get('alg')} 与印章算法不符",
        )
    try:
        genuine = verify(Algorithm(algorithm), public_pem, token.payload_bytes, token.signature)
    except (SigningError, ValueError):
        genuine = False
    if not genuine:
        return Recognition(
            "tampered", "signature_invalid", "签名验证失败：内容被改动或并非该印章所签"
        )
    return None


def _holder_matches(licence: Licence | None, holder_code: str | None) -> bool | None:
    if holder_code is None:
        return None
    if licence is None:
        return False
    return hmac.compare_digest(lookup_hash(_normalised(holder_code)), licence.holder_code_hash)


def _normalised(code: str) -> str:
    return "".join(code.split()).upper()


# Division names are reference data (seeded, never renamed by the application): each
# process reads a province's name once, not on every verification (decision 153).
_DIVISION_NAMES: dict[str, str] = {}


def _node_label(division: str, fallback: str) -> str:
    """吉林省节点: the node named by its province, as people say it."""
    name = _DIVISION_NAMES.get(division)
    if name is None:
        name = Division.objects.filter(code=division).values_list("name", flat=True).first()
        if name:
            _DIVISION_NAMES[division] = name
    return f"{name}节点" if name else fallback


def _this_node() -> dict[str, Any]:
    return {
        "node_id": settings.NODE_ID,
        "node_name": settings.NODE_NAME,
        "node_label": _node_label(settings.NODE_DIVISION, settings.NODE_NAME),
        "local": True,
    }


class _Unread:
    """The licence was not read yet (None means read and not found)."""


UNREAD = _Unread()


def _check_local(
    token: _Token,
    seal: Seal,
    *,
    holder_code: str | None,
    today: dt.date,
    licence: Licence | _Unread | None = UNREAD,
) -> Recognition:
    """A token of one of this node's seals: its signature, then its status in the library
    (`licence` when the caller has read it already, see `_local_seal_and_licence`)."""
    problem = _signature_problem(token, seal.algorithm, seal.public_pem.encode())
    if problem is not None:
        return replace(problem, **_this_node())
    if isinstance(licence, _Unread):
        licence = (
            Licence.objects.select_related("seal", "issuer", "licence_type")
            .filter(identifier=token.identifier)
            .first()
        )
    known = {
        **token.face(),
        **_this_node(),
        "licence": licence,
        "holder_matches": _holder_matches(licence, holder_code),
        "status_checked": licence is not None,
    }
    if licence is not None and licence.status == Licence.Status.REVOKED:
        revoked_on = f"{timezone.localtime(licence.revoked_at):%Y-%m-%d}"
        return Recognition(
            "revoked",
            "licence_revoked",
            f"证照已于 {revoked_on} 撤销：{licence.revocation_reason}",
            status="revoked",
            **known,
        )
    if seal.status == Seal.Status.REVOKED:
        return Recognition(
            "revoked",
            "seal_revoked",
            f"签发所用印章已于 {timezone.localtime(seal.revoked_at):%Y-%m-%d} 吊销",
            status="revoked",
            **{**known, "status_checked": True},
        )
    if licence is not None and licence.status == Licence.Status.SUPERSEDED:
        return Recognition(
            "revoked",
            "licence_superseded",
            "证照已换发新版本，本版本不再有效",
            status="superseded",
            **known,
        )
    if token.expired(today):
        return Recognition(
            "expired",
            "licence_expired",
            f"证照有效期至 {token.payload.get('vu')}",
            status="expired",
            **known,
        )
    if licence is None:
        return Recognition(
            "unconfirmed",
            "licence_unknown",
            "签名有效，但本节点证照库中没有这份证照，无法确认其状态",
            **known,
        )
    return Recognition("valid", "ok", "签名有效，证照在有效期内", status="valid", **known)


def _local_seal(kid: str) -> Seal | None:
    return Seal.objects.select_related("organisation").filter(fingerprint=kid).first()


def _local_seal_and_licence(token: _Token) -> tuple[Seal | None, Licence | _Unread | None]:
    """This node's seal of the token and the licence it names, in one query when the
    library holds the licence under that seal (every genuine token of this node): the
    licence with its seal joined. Otherwise the seal alone, and the licence is left to
    `_check_local` to read as before (decision 153)."""
    licence = (
        Licence.objects.select_related("seal__organisation", "issuer", "licence_type")
        .filter(identifier=token.identifier, seal__fingerprint=token.kid)
        .first()
    )
    if licence is not None:
        return licence.seal, licence
    return _local_seal(token.kid), UNREAD


def check_token(token: str, *, today: dt.date | None = None) -> Recognition:
    """Verify a token offline against this node's own seals, then its status in this node's
    library. A token of another node's seal is `unknown_issuer` here: `recognise` is the
    check that looks across the federation."""
    try:
        parsed = _Token.parse(token)
    except ValueError:
        return _malformed()
    seal, licence = _local_seal_and_licence(parsed)
    if seal is None:
        return Recognition("unknown_issuer", "unknown_seal", "签名印章不在本节点信任的公钥中")
    return _check_local(
        parsed, seal, holder_code=None, today=today or timezone.localdate(), licence=licence
    )


def recognise(
    text: str, *, holder_code: str | None = None, today: dt.date | None = None
) -> Recognition:
    """Recognise a licence from its token (`TB1.…`) or identifier (`1.2.156.3005.2.…`),
    whichever node issued it: signature offline, then status from the issuer.

    `holder_code` (an ID number or 统一社会信用代码) is compared by the issuer, which
    answers only whether it matches (`holder_matches`). A caller that needs the licence in
    place of a material wants `result.valid_for_holder`."""
    today = today or timezone.localdate()
    value = "".join((text or "").split())
    if value.startswith(ROOT + "."):
        return _recognise_identifier(value, holder_code=holder_code, today=today)
    try:
        token = _Token.parse(value)
    except ValueError:
        return _malformed()
    seal, licence = _local_seal_and_licence(token)
    if seal is not None:
        return _check_local(token, seal, holder_code=holder_code, today=today, licence=licence)
    return _recognise_foreign(token, holder_code=holder_code, today=today)


def _directory_seal(kid: str) -> tuple[Node, PublicKey] | Recognition:
    if not directory.is_federated():
        return Recognition("unknown_issuer", "unknown_seal", "签名印章不在本节点信任的公钥中")
    try:
        found = directory.current().seal(kid)
    except DirectoryUnavailable as exc:
        return Recognition(
            "unknown_issuer",
            "directory_unavailable",
            f"签名印章不是本节点的，而本节点暂时无法查阅节点目录（{exc}），无法识别",
        )
    if found is None or found[0].id == settings.NODE_ID:
        return Recognition(
            "unknown_issuer", "unknown_seal", "签名印章既不是本节点的，也不在节点目录公布的印章中"
        )
    return found


def _issuer_code(identifier: str) -> str:
    try:
        return parse_identifier(identifier).issuer_code
    except IdentifierError:
        return ""


def _foreign_node(node: Node) -> dict[str, Any]:
    return {
        "node_id": node.id,
        "node_name": node.name,
        "node_label": _node_label(node.division, node.name),
        "local": False,
    }


@dataclass(frozen=True)
class _Answer:
    """The issuing node's signed answer to `licence.status`, or why there is none."""

    status: str = "unknown"
    answered: bool = False
    version: int | None = None
    revoked_at: str | None = None
    valid_until: str | None = None
    holder_matches: bool | None = None
    token: str | None = None
    problem: str = ""


def _ask_issuer(node: Node, identifier: str, holder_code: str | None) -> _Answer:
    question: dict[str, Any] = {"identifier": identifier}
    if holder_code is not None:
        question["holder_code"] = _normalised(holder_code)
    try:
        answer = ask(node.id, STATUS_QUERY, question)
    except (FederationUnavailable, DirectoryUnavailable) as exc:
        log.info("licence status of %s: %s did not answer: %s", identifier, node.id, exc)
        return _Answer()
    except RuleViolation as exc:
        log.warning("licence status of %s: asking %s failed: %s", identifier, node.id, exc)
        return _Answer(problem=exc.message)
    if (
        not isinstance(answer, dict)
        or answer.get("identifier") != identifier
        or answer.get("status") not in STATUSES
    ):
        log.warning("licence status of %s: unusable answer from %s", identifier, node.id)
        return _Answer(problem="签发节点的答复无法识别")
    version, matches, token = (
        answer.get("version"),
        answer.get("holder_matches"),
        answer.get("token"),
    )
    return _Answer(
        status=answer["status"],
        answered=True,
        version=version if isinstance(version, int) else None,
        revoked_at=_utc_or_none(answer.get("revoked_at")),
        valid_until=_date_or_none(answer.get("valid_until")),
        holder_matches=matches if isinstance(matches, bool) and holder_code is not None else None,
        token=token if isinstance(token, str) else None,
    )


def _utc_or_none(value: Any) -> str | None:
    try:
        return utc_text(parse_utc(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _date_or_none(value: Any) -> str | None:
    try:
        return dt.date.fromisoformat(value).isoformat() if isinstance(value, str) else None
    except ValueError:
        return None


def _recognise_foreign(
    token: _Token,
    *,
    holder_code: str | None,
    today: dt.date,
    answer: _Answer | None = None,
) -> Recognition:
    """A token of another node's seal: the seal from the directory, the signature checked
    offline, then the status asked from the node that published the seal."""
    found = _directory_seal(token.kid)
    if isinstance(found, Recognition):
        return found
    node, key = found
    where = _foreign_node(node)
    problem = _signature_problem(token, key.algorithm.value, key.public_pem)
    if problem is not None:
        return replace(problem, **where)
    if key.organisation and not (
        token.payload.get("iss") == key.organisation
        and _issuer_code(token.identifier) == key.organisation
    ):
        return Recognition(
            "tampered",
            "issuer_mismatch",
            "令牌中的颁证机构与签名印章所属机构不符：该印章无权为此机构签发证照",
            **where,
        )
    if key.status == "revoked":
        return Recognition(
            "revoked",
            "seal_revoked",
            f"签发该证照的电子印章已于 {key.revoked_at or '此前'} 被吊销（{where['node_label']}公布）",
            **{**token.face(), **where},
        )
    if answer is None:
        answer = _ask_issuer(node, token.identifier, holder_code)
    return _foreign_verdict(token.face(), answer, where, expired=token.expired(today))


def _foreign_verdict(
    face: dict[str, Any], answer: _Answer, where: dict[str, Any], *, expired: bool
) -> Recognition:
    label = where["node_label"]
    signed = (
        f"签名有效（由{label}签发）"
        if face.get("signature_ok")
        else f"仅凭电子证照标识查询，未核验电子印章签名（{label}）"
    )
    known = {
        **face,
        **where,
        "status": answer.status,
        "status_checked": answer.answered,
        "holder_matches": answer.holder_matches,
    }
    if answer.version is not None:
        known["version"] = answer.version
    if answer.status == "revoked":
        when = (
            f"于 {timezone.localtime(parse_utc(answer.revoked_at)):%Y-%m-%d} "
            if answer.revoked_at
            else ""
        )
        return Recognition(
            "revoked", "licence_revoked", f"据签发节点（{label}）答复，证照已{when}撤销", **known
        )
    if answer.status == "superseded":
        return Recognition(
            "revoked",
            "licence_superseded",
            f"据签发节点（{label}）答复，证照已换发新版本，本版本不再有效",
            **known,
        )
    if expired or answer.status == "expired":
        until = face.get("valid_until") or answer.valid_until
        return Recognition(
            "expired", "licence_expired", f"证照有效期至 {until}", **{**known, "status": "expired"}
        )
    if not answer.answered:
        reason = f"{signed}，状态暂无法向签发节点核实"
        return Recognition(
            "unconfirmed",
            "status_unavailable",
            f"{reason}：{answer.problem}" if answer.problem else reason,
            **known,
        )
    if answer.status == "unknown":
        return Recognition(
            "unconfirmed", "licence_unknown", f"{signed}，但签发节点查无此证照", **known
        )
    if not face.get("signature_ok"):
        return Recognition(
            "unconfirmed",
            "signature_not_checked",
            f"签发节点（{label}）答复证照有效，但仅凭电子证照标识无法核验电子印章签名，"
            "请核验证照二维码",
            **known,
        )
    return Recognition("valid", "ok", f"{signed}，签发节点答复证照有效、在有效期内", **known)


def _issuing_node(issuer_uscc: str) -> Node | None:
    """The node whose directory entry publishes seals of the organisation."""
    if not directory.is_federated():
        return None
    try:
        nodes = directory.current().nodes.values()
    except DirectoryUnavailable:
        return None
    return next(
        (
            node
            for node in nodes
            if node.id != settings.NODE_ID
            and any(seal.organisation == issuer_uscc for seal in node.seals)
        ),
        None,
    )


def _recognise_identifier(text: str, *, holder_code: str | None, today: dt.date) -> Recognition:
    try:
        parsed = parse_identifier(text)
    except IdentifierError as exc:
        return Recognition("malformed", "identifier_invalid", f"电子证照标识有误：{exc}")
    identifier = str(parsed)
    licence = Licence.objects.filter(identifier=identifier).only("token").first()
    if licence is not None:
        return recognise(licence.token, holder_code=holder_code, today=today)
    node = _issuing_node(parsed.issuer_code)
    if node is None:
        return Recognition(
            "unknown_issuer",
            "issuer_unknown",
            "本节点证照库中没有该证照，节点目录中也没有其颁发机构公布的电子印章",
            identifier=identifier,
            type_code=parsed.type_code,
            issuer_uscc=parsed.issuer_code,
            version=parsed.version,
        )
    answer = _ask_issuer(node, identifier, holder_code)
    if answer.token:
        try:
            token: _Token | None = _Token.parse(answer.token)
        except ValueError:
            token = None
        # Only the licence asked about, sealed on the node that answered, stands for it.
        if token is not None and token.identifier == identifier:
            found = _directory_seal(token.kid)
            if not isinstance(found, Recognition) and found[0].id == node.id:
                return _recognise_foreign(
                    token, holder_code=holder_code, today=today, answer=answer
                )
        answer = replace(answer, token=None)
    face = {
        "identifier": identifier,
        "type_code": parsed.type_code,
        "issuer_uscc": parsed.issuer_code,
        "version": parsed.version,
        "valid_until": answer.valid_until,
    }
    return _foreign_verdict(face, answer, _foreign_node(node), expired=False)


# Answering other nodes ------------------------------------------------------------------------


class StatusQuestion(BaseModel):
    """`licence.status`: another node asks about a licence this node issued."""

    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=1, max_length=120)
    holder_code: str | None = Field(default=None, min_length=1, max_length=32)


def licence_status(
    identifier: str, *, holder_code: str | None = None, today: dt.date | None = None
) -> tuple[Licence | None, dict[str, Any]]:
    """This node's answer about one of its licences: status (`valid`, `revoked`,
    `superseded`, `expired`, or `unknown` for an identifier it never issued), version,
    revocation time, validity, and whether `holder_code` is the holder's. The holder's code
    never leaves: only the boolean does, and the token (the QR code's minimal face, holder
    masked) only to an asker who named the holder correctly."""
    licence = (
        Licence.objects.select_related("seal").filter(identifier=identifier.strip().upper()).first()
    )
    matches = _holder_matches(licence, holder_code)
    if licence is None:
        return None, {
            "identifier": identifier,
            "status": "unknown",
            "version": None,
            "revoked_at": None,
            "valid_until": None,
            "holder_matches": matches,
            "token": None,
        }
    status, _ = effective_status(licence, today=today)
    revoked_at = licence.revoked_at
    if revoked_at is None and status == "revoked":
        revoked_at = licence.seal.revoked_at
    return licence, {
        "identifier": identifier,
        "status": status,
        "version": licence.version,
        "revoked_at": utc_text(revoked_at) if revoked_at else None,
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "holder_matches": matches,
        "token": licence.token if matches else None,
    }


def published_seals() -> list[dict[str, str]]:
    """The seals this node publishes in its directory entry, so that its licences verify
    offline on every other node: every seal that ever signed (an expired seal's licences
    stay genuine), a revoked one marked so, with when."""
    seals = Seal.objects.select_related("organisation").order_by(
        "organisation__uscc", "valid_from", "pk"
    )
    return [
        {
            "kid": seal.fingerprint,
            "alg": seal.algorithm,
            "public_key": seal.public_pem,
            "organisation": seal.organisation.uscc,
            "name": seal.name,
            "status": "revoked" if seal.status == Seal.Status.REVOKED else "active",
            "revoked_at": utc_text(seal.revoked_at) if seal.revoked_at else "",
        }
        for seal in seals
    ]
