"""Licences of other nodes (跨节点互认), in process: a licence sealed on the Jilin node verifies
here offline from the directory's seals, its status is asked from Jilin, and an unreachable
Jilin never makes it "valid"; and this node answers `licence.status` about its own licences
without letting the holder's code out.

Jilin is a test node holding its own node key and seal key (tests/federation/support.py);
where it must answer, `federation.services._post` — the HTTP hop — is routed to it, so the
question and the signed answer go through the real `ask()` and its checks."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import LicenceType
from core.actors import SystemActor
from core.signing import Algorithm, KeyPair, canonical_json, fingerprint, generate_key, sign
from federation import directory, keys
from federation import services as federation
from federation.directory import utc_text
from federation.models import LogEntry, NodeKey
from licences import canonical, recognition, services
from licences.identifiers import LicenceIdentifier
from licences.models import Licence, LicenceEvent
from tests import builders
from tests.federation.support import Authority, ForeignNode, node_entry

TYPE_CODE = "11100000000013338W011"
JILIN_ORG = builders.valid_uscc(7, "220100")
UNREACHABLE = "签名有效（由吉林省节点签发），状态暂无法向签发节点核实"


@dataclass
class ForeignSeal:
    """A seal of an organisation on another node: the test holds its private key."""

    organisation: str
    name: str = "长春市公安局电子印章"
    pair: KeyPair = field(default_factory=lambda: generate_key(Algorithm.SM2))
    revoked: bool = False

    @property
    def kid(self) -> str:
        return fingerprint(self.pair.public_pem)

    def entry(self) -> dict[str, str]:
        return {
            "kid": self.kid,
            "alg": self.pair.algorithm.value,
            "public_key": self.pair.public_pem.decode(),
            "organisation": self.organisation,
            "name": self.name,
            **({"status": "revoked", "revoked_at": "2026-11-01T00:00:00Z"} if self.revoked else {}),
        }

    def token(self, **overrides: Any) -> str:
        """A licence token as the issuing node's `issue_licence` makes it."""
        today = timezone.localdate()
        payload = {
            "v": 1,
            "id": str(LicenceIdentifier(TYPE_CODE, self.organisation, "2026112812345678", 1)),
            "typ": "居民户籍证明",
            "hn": "李*",
            "hc": "2201**********1234",
            "iss": self.organisation,
            "isn": "长春市公安局",
            "vf": today.isoformat(),
            "vu": (today + dt.timedelta(days=365)).isoformat(),
            "kid": self.kid,
            "alg": self.pair.algorithm.value,
            **overrides,
        }
        data = canonical_json(payload)
        return canonical.build_token(data, sign(self.pair.algorithm, self.pair.private_pem, data))


@dataclass
class Issuer:
    """Jilin answering `licence.status` as its own node would: signed with its node key."""

    node: ForeignNode
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    questions: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, url: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        question = json.loads(data["envelope"])
        assert url.endswith("/federation/v1/queries") and question["kind"] == "licence.status"
        self.questions.append(question["payload"])
        identifier = question["payload"]["identifier"]
        answer = {
            "identifier": identifier,
            "status": "unknown",
            "version": None,
            "revoked_at": None,
            "valid_until": None,
            "holder_matches": None,
            "token": None,
            **self.answers.get(identifier, {}),
        }
        body, signature = self.node.envelope(
            "licence.status.answer", {"in_reply_to": question["id"], "answer": answer}
        )
        return 200, {"answer": body, "signature": signature}


@dataclass
class World:
    authority: Authority
    local_key: NodeKey
    jilin: ForeignNode
    seal: ForeignSeal
    directory_file: Path
    serial: int = 0

    def publish(self, *extra_seals: ForeignSeal) -> None:
        local = node_entry(
            "liaoning",
            [
                {
                    "kid": self.local_key.fingerprint,
                    "alg": self.local_key.algorithm,
                    "public_key": self.local_key.public_pem,
                }
            ],
            code="LN",
        )
        local["division"] = "210000"
        jilin = self.jilin.entry(code="JL")
        jilin["seals"] = [self.seal.entry(), *(s.entry() for s in extra_seals)]
        self.serial += 1
        self.authority.write(self.directory_file, [local, jilin], serial=self.serial)
        directory.refresh()


@pytest.fixture
def world(settings, tmp_path) -> World:
    """This node (`liaoning`) and `jilin`, whose directory entry publishes one seal of 长春市公安局."""
    settings.NODE_ID = "liaoning"
    settings.NODE_DIVISION = "210000"
    authority = Authority()
    settings.FEDERATION_ANCHOR = str(authority.write_anchor(tmp_path / "anchor.pem"))
    settings.FEDERATION_DIRECTORY = str(tmp_path / "directory.json")
    world = World(
        authority,
        keys.create_key(),
        ForeignNode("jilin"),
        ForeignSeal(JILIN_ORG),
        tmp_path / "directory.json",
    )
    world.publish()
    return world


@pytest.fixture
def issuer(world: World, monkeypatch) -> Issuer:
    issuer = Issuer(world.jilin)
    monkeypatch.setattr(federation, "_post", issuer)
    return issuer


def _identifier(token: str) -> str:
    return str(canonical.split_token(token)[1]["id"])


# Recognising another node's licence ------------------------------------------------------------


def test_a_licence_of_another_node_verifies_offline_and_its_issuer_confirms_it(world, issuer):
    token = world.seal.token()
    issuer.answers[_identifier(token)] = {"status": "valid", "version": 1}
    result = recognition.recognise(token)
    assert result.outcome == "valid" and result.code == "ok", result.reason
    assert result.signature_ok and result.status == "valid" and result.status_checked
    assert not result.local and result.node_id == "jilin" and result.node_label == "吉林省节点"
    assert result.issuer_uscc == JILIN_ORG and result.issuer_name == "长春市公安局"
    assert result.type_code == TYPE_CODE and result.licence_type_name == "居民户籍证明"
    assert result.holder_masked == "2201**********1234" and result.holder_name_masked == "李*"
    assert result.holder_matches is None and result.licence is None
    assert "吉林省节点" in result.reason
    assert issuer.questions == [{"identifier": result.identifier}]
    # The question and the signed answer are both in the federation log.
    kinds = LogEntry.objects.filter(kind__startswith="licence.status").values_list(
        "kind", "direction"
    )
    assert sorted(kinds) == [("licence.status", "out"), ("licence.status.answer", "in")]
    assert federation.verify_log().ok


def test_the_issuer_compares_the_holder_code_and_says_only_whether_it_matches(world, issuer):
    token = world.seal.token()
    identifier = _identifier(token)
    issuer.answers[identifier] = {"status": "valid", "version": 1, "holder_matches": True}
    result = recognition.recognise(token, holder_code=" 22010219900101123x ")
    assert result.valid_for_holder
    assert issuer.questions[-1] == {"identifier": identifier, "holder_code": "22010219900101123X"}
    issuer.answers[identifier]["holder_matches"] = False
    other = recognition.recognise(token, holder_code="220102199001011234")
    assert other.outcome == "valid" and other.holder_matches is False
    assert not other.valid_for_holder


def test_an_unreachable_issuer_leaves_the_status_unknown_never_valid(world):
    result = recognition.recognise(world.seal.token())  # jilin at 127.0.0.1:9 is down
    assert result.outcome == "unconfirmed" and result.code == "status_unavailable"
    assert result.reason == UNREACHABLE
    assert result.signature_ok and not result.status_checked and result.status == "unknown"
    assert result.label == "无法确认" and not result.valid_for_holder
    assert result.face["isn"] == "长春市公安局"


@pytest.mark.parametrize(
    ("answer", "outcome", "code", "words"),
    [
        (
            {"status": "revoked", "revoked_at": "2026-11-30T02:00:00Z"},
            "revoked",
            "licence_revoked",
            "撤销",
        ),
        ({"status": "superseded", "version": 1}, "revoked", "licence_superseded", "换发"),
        ({"status": "expired"}, "expired", "licence_expired", "有效期至"),
        ({"status": "unknown"}, "unconfirmed", "licence_unknown", "查无此证照"),
    ],
)
def test_the_issuers_status_decides(world, issuer, answer, outcome, code, words):
    token = world.seal.token()
    issuer.answers[_identifier(token)] = answer
    result = recognition.recognise(token)
    assert (result.outcome, result.code) == (outcome, code)
    assert words in result.reason and result.signature_ok
    assert result.status == answer["status"] and result.status_checked


def test_an_expired_token_is_expired_even_when_the_issuer_is_down(world):
    long_ago = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    result = recognition.recognise(world.seal.token(vu=long_ago))
    assert result.outcome == "expired" and result.code == "licence_expired"


def test_a_tampered_token_is_refused_and_the_issuer_is_not_asked(world, issuer):
    token = world.seal.token()
    prefix, payload, signature = token.split(".")
    raw = canonical.unb64url(payload).replace("李*".encode(), "王*".encode())
    forged = f"{prefix}.{canonical.b64url(raw)}.{signature}"
    result = recognition.recognise(forged)
    assert result.outcome == "tampered" and result.code == "signature_invalid"
    assert "签名验证失败" in result.reason and result.face == {} and not result.signature_ok
    assert result.node_label == "吉林省节点"
    claim = world.seal.token(alg=Algorithm.ED25519.value)
    assert recognition.recognise(claim).code == "algorithm_mismatch"
    assert recognition.recognise("TB1.garbage").code == "token_malformed"
    assert issuer.questions == []


def test_a_seal_may_sign_only_for_its_own_organisation(world, issuer):
    liaoning_org = builders.valid_uscc(8, "210200")
    identifier = str(LicenceIdentifier(TYPE_CODE, liaoning_org, "2026112812345678", 1))
    result = recognition.recognise(world.seal.token(iss=liaoning_org, id=identifier))
    assert result.outcome == "tampered" and result.code == "issuer_mismatch"
    assert issuer.questions == []


def test_an_unknown_seal_is_refused(world, settings):
    stranger = ForeignSeal(JILIN_ORG)  # not in the directory
    result = recognition.recognise(stranger.token())
    assert result.outcome == "unknown_issuer" and result.code == "unknown_seal"
    assert "节点目录" in result.reason and not result.signature_ok
    world.publish(stranger)  # once Jilin publishes it, it verifies
    assert recognition.recognise(stranger.token()).signature_ok
    settings.FEDERATION_DIRECTORY = ""  # a node outside any federation
    alone = recognition.recognise(world.seal.token())
    assert alone.outcome == "unknown_issuer" and alone.code == "unknown_seal"


def test_an_identifier_alone_is_checked_with_the_token_the_issuer_returns(world, issuer):
    token = world.seal.token()
    identifier = _identifier(token)
    issuer.answers[identifier] = {"status": "valid", "version": 1}
    bare = recognition.recognise(identifier)
    assert bare.outcome == "unconfirmed" and bare.code == "signature_not_checked"
    assert not bare.signature_ok and bare.status == "valid" and bare.issuer_uscc == JILIN_ORG
    issuer.answers[identifier] |= {"holder_matches": True, "token": token}
    held = recognition.recognise(identifier, holder_code="220102199001011234")
    assert held.outcome == "valid" and held.signature_ok and held.valid_for_holder
    assert held.licence_type_name == "居民户籍证明"
    other = str(LicenceIdentifier(TYPE_CODE, JILIN_ORG, "2026112800000001", 1))
    issuer.answers[identifier]["token"] = world.seal.token(id=other)  # another licence's token
    mixed_up = recognition.recognise(identifier, holder_code="220102199001011234")
    assert mixed_up.code == "signature_not_checked" and not mixed_up.signature_ok
    unknown_org = str(LicenceIdentifier(TYPE_CODE, builders.valid_uscc(9, "230100"), "1", 1))
    assert recognition.recognise(unknown_org).code == "issuer_unknown"
    assert recognition.recognise("1.2.156.3005.2.X.Y.Z.001.0").code == "identifier_invalid"


# The verify page and the API ------------------------------------------------------------------


def test_the_verify_page_names_the_issuing_node_and_its_answer(client, world, issuer):
    token = world.seal.token()
    issuer.answers[_identifier(token)] = {"status": "valid", "version": 1}
    page = client.get("/verify/", {"t": token}).content.decode()
    assert "核验结果：<strong>有效</strong>" in page and "verdict-valid" in page
    assert "吉林省节点（jilin 节点）" in page
    assert "已用节点目录公布的签发节点印章公钥离线验签" in page
    assert "已向签发节点（吉林省节点）查询撤销状态：有效" in page
    assert "长春市公安局" in page and "李*" in page
    event = LicenceEvent.objects.get(kind="verified")
    assert event.licence is None and event.outcome == "valid"
    assert event.detail["node"] == "jilin" and event.detail["identifier"] == _identifier(token)


def test_the_verify_page_says_when_the_issuer_cannot_be_asked(client, world):
    page = client.get("/verify/", {"t": world.seal.token()}).content.decode()
    assert "核验结果：<strong>无法确认</strong>" in page and "verdict-valid" not in page
    assert UNREACHABLE in page and "暂无法核实" in page
    assert LicenceEvent.objects.get(kind="verified").outcome == "unconfirmed"


def test_the_api_reports_a_foreign_licence(client, world, issuer):
    token = world.seal.token()
    issuer.answers[_identifier(token)] = {"status": "revoked", "revoked_at": None}
    body = client.post(
        "/api/v1/licences/verify", {"token": token}, content_type="application/json"
    ).json()
    assert body["outcome"] == "revoked" and body["code"] == "licence_revoked"
    assert body["signature_ok"] and body["status"] == "revoked" and body["status_checked"]
    assert body["node"] == {
        "id": "jilin",
        "name": "jilin 节点",
        "label": "吉林省节点",
        "local": False,
    }
    assert body["face"]["isn"] == "长春市公安局"


# Answering other nodes about this node's licences ------------------------------------------------


FACE = [{"name": "registered_address", "label": "户籍地址", "type": "address"}]


@pytest.fixture
def licence(world) -> Licence:
    org = builders.organisation("大连市公安局", "210200")
    licence_type = LicenceType.objects.create(
        code=TYPE_CODE, name="居民户籍证明", face_fields=FACE, valid_years=1, allow_multiple=True
    )
    services.create_seal(org, actor=SystemActor("test"))
    return services.issue_licence(
        licence_type=licence_type,
        holder=services.Holder.of_person(builders.person("王𠮷")),
        issuer=org,
        face_data={"registered_address": "辽宁省大连市中山区人民路1号"},
        case_number="LN-20261128-000001",
        actor=SystemActor("test"),
    )


def _ask_here(world: World, payload: dict[str, Any]) -> dict[str, Any]:
    """Jilin asks this node, through the federation's own answering path."""
    reply = federation.answer(*world.jilin.envelope("licence.status", payload))
    return json.loads(reply["answer"])["payload"]["answer"]


def test_this_node_publishes_its_seals_in_its_directory_entry_revoked_ones_marked(world, licence):
    revoked = services.create_seal(licence.issuer, actor=SystemActor("test"), name="旧章")
    services.revoke_seal(revoked, reason="更换", actor=SystemActor("test"))
    revoked.refresh_from_db()
    published = {s["kid"]: s for s in recognition.published_seals()}
    assert set(published) == {licence.seal.fingerprint, revoked.fingerprint}
    assert published[licence.seal.fingerprint] == {
        "kid": licence.seal.fingerprint,
        "alg": licence.seal.algorithm,
        "public_key": licence.seal.public_pem,
        "organisation": licence.issuer.uscc,
        "name": licence.seal.name,
        "status": "active",
        "revoked_at": "",
    }
    assert published[revoked.fingerprint]["status"] == "revoked"
    assert published[revoked.fingerprint]["revoked_at"]
    out = io.StringIO()
    call_command("federation_keys", "export", stdout=out)
    assert {s["kid"] for s in json.loads(out.getvalue())["seals"]} == set(published)


def test_a_licence_whose_seal_its_node_revoked_reads_revoked_without_asking(world, issuer):
    world.seal.revoked = True
    world.publish()
    result = recognition.recognise(world.seal.token())
    assert result.outcome == "revoked" and result.code == "seal_revoked"
    assert result.signature_ok and result.node_id == "jilin"
    assert issuer.questions == []


def test_status_answers_valid_revoked_superseded_and_unknown(world, licence):
    answer = _ask_here(world, {"identifier": licence.identifier})
    assert answer == {
        "identifier": licence.identifier,
        "status": "valid",
        "version": 1,
        "revoked_at": None,
        "valid_until": licence.valid_until.isoformat(),
        "holder_matches": None,
        "token": None,
    }
    event = LicenceEvent.objects.get(licence=licence, kind="verified")
    assert event.actor_label == "jilin 节点" and event.detail["channel"] == "federation"
    services.revoke_licence(licence, reason="决定被撤销", actor=SystemActor("test"))
    revoked = _ask_here(world, {"identifier": licence.identifier})
    licence.refresh_from_db()
    assert revoked["status"] == "revoked" and revoked["revoked_at"] == utc_text(licence.revoked_at)
    missing = str(LicenceIdentifier(TYPE_CODE, licence.issuer.uscc, "2026010100000000", 1))
    assert _ask_here(world, {"identifier": missing})["status"] == "unknown"


def test_status_answers_superseded(world, licence):
    services.reissue_licence(
        licence,
        face_data={"registered_address": "辽宁省沈阳市"},
        case_number="LN-20261128-000002",
        actor=SystemActor("test"),
    )
    assert _ask_here(world, {"identifier": licence.identifier})["status"] == "superseded"


def test_status_compares_the_holder_code_without_letting_it_out(world, licence):
    code = licence.holder_code
    matched = _ask_here(world, {"identifier": licence.identifier, "holder_code": code})
    assert matched["holder_matches"] is True and matched["token"] == licence.token
    wrong = builders.valid_id_number()
    mismatched = _ask_here(world, {"identifier": licence.identifier, "holder_code": wrong})
    assert mismatched["holder_matches"] is False and mismatched["token"] is None
    assert mismatched["status"] == "valid"
    unknown = str(LicenceIdentifier(TYPE_CODE, licence.issuer.uscc, "2026010100000000", 1))
    nobody = _ask_here(world, {"identifier": unknown, "holder_code": code})
    assert nobody["status"] == "unknown" and nobody["holder_matches"] is False
    # Nothing of the stored code travels back: the answers hold the masked token at most.
    for answer in (mismatched, nobody):
        assert code not in json.dumps(answer, ensure_ascii=False)
    assert code not in canonical.unb64url(matched["token"].split(".")[1]).decode()


def test_a_malformed_status_question_is_refused(world, licence):
    with pytest.raises(federation.Refused) as refused:
        federation.answer(
            *world.jilin.envelope("licence.status", {"identifier": licence.identifier, "x": 1})
        )
    assert refused.value.code == "payload_invalid"
