"""Payment gateways behind one Protocol (DESIGN.md §4.4), with a local adapter and a real one.

`settings.TONGBAN_ADAPTERS["payment"]` names the class; services call `gateway()` and never
ask which one they got. Every gateway does three things: open an order and say where the
applicant pays it, check and read a payment notice (支付结果通知) it sent, and refund.

- `LocalGateway`, the embedded default: a pay page on the node itself (/payments/local/…)
  stands in for the platform's cashier. "Paying" there builds a payment notice, signs it
  with the local gateway's own key (Ed25519, derived from the node's secret key) and
  hands the signed bytes to the node's notice handler — the same check the HTTP endpoint
  runs on the real platform's notices.
- `HttpGateway`: the province's 统一公共支付平台 over HTTPS, with SM2-SM3 signatures on
  requests, answers and notices. The assumed protocol is in docs/payments.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from core import signing

logger = logging.getLogger(__name__)


class GatewayUnavailable(Exception):
    """The gateway could not be asked, or answered something we cannot use. The message
    (Chinese) says what went wrong; nothing changed on our side."""


class NoticeRefused(Exception):
    """A payment notice that is not the gateway's (bad signature) or cannot be read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OrderRequest:
    """What the gateway needs to take a payment: our order number (echoed in its notice),
    the amount in yuan, a subject the applicant recognises, the payee organisation, where
    to send the notice and where to bring the applicant back."""

    order_number: str
    amount: str
    subject: str
    payee_uscc: str
    notify_url: str
    return_url: str


@dataclass(frozen=True)
class Order:
    """An order opened at the gateway: the page where the applicant pays it."""

    pay_url: str


@dataclass(frozen=True)
class Notice:
    """A payment notice, its signature checked: the gateway's id of the notice, our order
    number, the gateway's transaction number, the amount paid, and when."""

    notice_id: str
    order_number: str
    trade_number: str
    amount: Decimal
    paid_at: dt.datetime


@dataclass(frozen=True)
class RefundRequest:
    """A full refund of one trade. `request_number` is ours and stable for that trade: the
    gateway answers a repeated request with the refund it already made (idempotent), so
    a retry after a lost answer never refunds twice."""

    order_number: str
    trade_number: str
    amount: str
    reason: str
    request_number: str


@dataclass(frozen=True)
class StatementEntry:
    """One line of the gateway's daily statement (对账单): a payment it took or a refund
    it made, for one of our orders."""

    kind: str  # "payment" | "refund"
    order_number: str
    trade_number: str
    amount: Decimal
    at: dt.datetime
    refund_number: str = ""


class PaymentGateway(Protocol):
    """A payment gateway (支付平台) that takes payments and refunds them."""

    code: str

    def create_order(self, request: OrderRequest) -> Order: ...

    def read_notice(self, body: bytes, signature: str) -> Notice:
        """The notice in `body`, if `signature` is the gateway's over exactly these bytes;
        `NoticeRefused` ("payment_notice_bad_signature" or "payment_notice_invalid")
        otherwise."""
        ...

    def refund(self, request: RefundRequest) -> str:
        """Refund a settled payment in full; the gateway's refund number."""
        ...

    def statement(self, day: dt.date) -> list[StatementEntry]:
        """The gateway's statement (对账单) of `day` (Beijing time): every payment it took
        and every refund it made for this merchant that day."""
        ...


def gateway() -> PaymentGateway:
    """The gateway adapter named in the settings (built on each call, like the carrier)."""
    adapter: PaymentGateway = import_string(settings.TONGBAN_ADAPTERS["payment"])()
    return adapter


# What every gateway's notice looks like ------------------------------------------------------

NOTICE_FIELDS = ("notice_id", "order_number", "trade_number", "amount", "status", "paid_at")


def parse_notice_body(body: bytes) -> Notice:
    """The fields of a notice document (JSON, see docs/payments.md); `NoticeRefused` with
    code `payment_notice_invalid` if anything is missing or malformed."""
    try:
        data = json.loads(body)
    except ValueError:
        raise NoticeRefused("payment_notice_invalid", "支付结果通知不是 JSON") from None
    if not isinstance(data, dict):
        raise NoticeRefused("payment_notice_invalid", "支付结果通知不是对象")
    for name in NOTICE_FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > 64:
            raise NoticeRefused("payment_notice_invalid", f"支付结果通知缺少有效的 {name}")
    if data["status"] != "paid":
        raise NoticeRefused("payment_notice_invalid", f"未知的支付状态：{data['status']}")
    try:
        amount = Decimal(data["amount"])
    except InvalidOperation:
        raise NoticeRefused("payment_notice_invalid", "支付结果通知的金额不是数字") from None
    if not amount.is_finite() or amount.as_tuple().exponent != -2:  # type: ignore[operator]
        raise NoticeRefused("payment_notice_invalid", "支付结果通知的金额须为两位小数的元")
    try:
        paid_at = dt.datetime.fromisoformat(data["paid_at"])
    except ValueError:
        raise NoticeRefused("payment_notice_invalid", "支付结果通知的时间格式错误") from None
    if timezone.is_naive(paid_at):
        paid_at = timezone.make_aware(paid_at)  # Beijing time
    return Notice(
        notice_id=data["notice_id"],
        order_number=data["order_number"],
        trade_number=data["trade_number"],
        amount=amount,
        paid_at=paid_at,
    )


def _decode_signature(signature: str) -> bytes:
    try:
        return base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise NoticeRefused("payment_notice_bad_signature", "支付结果通知的签名无法解码") from None


def _checked(
    algorithm: signing.Algorithm, public_pem: bytes, body: bytes, signature: str
) -> Notice:
    raw = _decode_signature(signature)
    try:
        valid = signing.verify(algorithm, public_pem, body, raw)
    except signing.SigningError:
        valid = False
    if not valid:
        raise NoticeRefused("payment_notice_bad_signature", "支付结果通知的签名无效，不予处理")
    return parse_notice_body(body)


def _statement_entry(row: Any) -> StatementEntry:
    """One line of a statement document; ValueError (or KeyError …) if malformed."""
    if not isinstance(row, dict) or row.get("kind") not in ("payment", "refund"):
        raise ValueError("kind")
    fields = {name: row[name] for name in ("order_number", "trade_number", "amount", "at")}
    if not all(isinstance(v, str) and v and len(v) <= 64 for v in fields.values()):
        raise ValueError("field")
    amount = Decimal(fields["amount"])
    if not amount.is_finite() or amount <= 0:
        raise ValueError("amount")
    at = dt.datetime.fromisoformat(fields["at"])
    refund_number = row.get("refund_number", "")
    if not isinstance(refund_number, str) or len(refund_number) > 64:
        raise ValueError("refund_number")
    return StatementEntry(
        kind=row["kind"],
        order_number=fields["order_number"],
        trade_number=fields["trade_number"],
        amount=amount,
        at=at if timezone.is_aware(at) else timezone.make_aware(at),
        refund_number=refund_number,
    )


# The local gateway -----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _local_key(secret: str) -> tuple[bytes, bytes]:
    """The local gateway's Ed25519 key pair, derived from the node's secret key: nothing to
    store, and a notice signed by one node's local gateway is refused by another node."""
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"tongban-local-payment-gateway"
    ).derive(secret.encode())
    key = Ed25519PrivateKey.from_private_bytes(seed)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private_pem, signing.public_pem_of(signing.Algorithm.ED25519, private_pem)


class LocalGateway:
    """The embedded default: the applicant pays on the node's own local pay page. It keeps
    nothing of its own; its notices are signed with its key, so the node checks them as it
    checks the real platform's."""

    code = "local"
    algorithm = signing.Algorithm.ED25519

    def create_order(self, request: OrderRequest) -> Order:
        query = urllib.parse.urlencode({"return": request.return_url})
        return Order(pay_url=f"/payments/local/{urllib.parse.quote(request.order_number)}/?{query}")

    def read_notice(self, body: bytes, signature: str) -> Notice:
        _, public_pem = _local_key(settings.SECRET_KEY)
        return _checked(self.algorithm, public_pem, body, signature)

    def refund(self, request: RefundRequest) -> str:
        """Refund from the local ledger; a repeated request number gets the same refund."""
        from payments.models import LocalTrade

        done = LocalTrade.objects.filter(request_number=request.request_number).first()
        if done is not None:
            return done.refund_number
        trade = LocalTrade.objects.create(
            kind=LocalTrade.Kind.REFUND,
            order_number=request.order_number,
            trade_number=request.trade_number,
            amount=Decimal(request.amount),
            request_number=request.request_number,
            refund_number="LR" + uuid.uuid4().hex[:20].upper(),
        )
        return trade.refund_number

    def statement(self, day: dt.date) -> list[StatementEntry]:
        from payments.models import LocalTrade

        return [
            StatementEntry(
                kind=t.kind,
                order_number=t.order_number,
                trade_number=t.trade_number,
                amount=t.amount,
                at=t.at,
                refund_number=t.refund_number,
            )
            for t in LocalTrade.objects.filter(at__date=day)
        ]

    def has_taken(self, order_number: str) -> bool:
        """Whether the local cashier already took the money for the order: like the real
        platform's cashier, it takes an order's money once."""
        from payments.models import LocalTrade

        return LocalTrade.objects.filter(
            kind=LocalTrade.Kind.PAYMENT, order_number=order_number
        ).exists()

    def take_payment(self, order_number: str, amount: str) -> tuple[bytes, str]:
        """The applicant pays at the local cashier: the money is taken (a line of the
        local ledger, whatever the node then says of the notice — as on the real
        platform), and the signed notice is returned to be posted to the node."""
        from payments.models import LocalTrade

        trade_number = "LT" + uuid.uuid4().hex[:20].upper()
        LocalTrade.objects.create(
            kind=LocalTrade.Kind.PAYMENT,
            order_number=order_number,
            trade_number=trade_number,
            amount=Decimal(amount),
        )
        return self.notice_for(order_number, amount, trade_number=trade_number)

    def notice_for(
        self, order_number: str, amount: str, *, trade_number: str = ""
    ) -> tuple[bytes, str]:
        """The signed notice the local cashier sends once "paid": the body and its
        signature (base64), as the real platform would post them."""
        private_pem, _ = _local_key(settings.SECRET_KEY)
        document = {
            "notice_id": "LN" + uuid.uuid4().hex[:20].upper(),
            "order_number": order_number,
            "trade_number": trade_number or "LT" + uuid.uuid4().hex[:20].upper(),
            "amount": amount,
            "status": "paid",
            "paid_at": timezone.now().isoformat(timespec="seconds"),
        }
        body = signing.canonical_json(document)
        signature = signing.sign(self.algorithm, private_pem, body)
        return body, base64.b64encode(signature).decode()


# The province's unified public payment platform ---------------------------------------------


class HttpGateway:
    """The province's 统一公共支付平台 (unified public payment platform) over HTTPS.

    Every request body is JSON signed with the node's merchant key (SM2-SM3, base64 in
    `X-Signature`, merchant id in `X-Merchant-Id`); every answer and every notice is signed
    by the platform's key, which we check before reading a field. `POST {base}/orders`
    opens an order and answers `{"order_number", "pay_url"}`; `POST {base}/refunds`
    answers `{"order_number", "refund_number", "status": "refunded"}`."""

    algorithm = signing.Algorithm.SM2

    def __init__(self) -> None:
        self.code = settings.PAYMENTS_HTTP_GATEWAY_CODE
        self.base_url = settings.PAYMENTS_HTTP_BASE_URL.rstrip("/")
        self.merchant_id = settings.PAYMENTS_HTTP_MERCHANT_ID
        self.timeout = settings.PAYMENTS_HTTP_TIMEOUT
        self.merchant_key_file = settings.PAYMENTS_HTTP_MERCHANT_KEY_FILE
        self.platform_key_file = settings.PAYMENTS_HTTP_PLATFORM_KEY_FILE

    def create_order(self, request: OrderRequest) -> Order:
        answer = self._call("/orders", asdict(request))
        pay_url = answer.get("pay_url")
        if answer.get("order_number") != request.order_number:
            raise self._nonsense("下单应答的订单号与请求不符")
        if not isinstance(pay_url, str) or not pay_url.startswith("https://"):
            raise self._nonsense("下单应答缺少有效的支付页地址")
        return Order(pay_url=pay_url)

    def read_notice(self, body: bytes, signature: str) -> Notice:
        return _checked(self.algorithm, self._platform_key(), body, signature)

    def refund(self, request: RefundRequest) -> str:
        answer = self._call("/refunds", asdict(request))
        number = answer.get("refund_number")
        if answer.get("order_number") != request.order_number or answer.get("status") != "refunded":
            raise self._nonsense("退款应答与请求不符或未退款")
        if not isinstance(number, str) or not number or len(number) > 64:
            raise self._nonsense("退款应答缺少有效的退款单号")
        return number

    def statement(self, day: dt.date) -> list[StatementEntry]:
        answer = self._call("/statements", {"date": day.isoformat()})
        rows = answer.get("entries")
        if answer.get("date") != day.isoformat() or not isinstance(rows, list):
            raise self._nonsense("对账单应答的日期不符或缺少明细")
        entries = []
        for row in rows:
            try:
                entry = _statement_entry(row)
            except (KeyError, TypeError, ValueError, InvalidOperation):
                raise self._nonsense("对账单明细格式错误") from None
            entries.append(entry)
        return entries

    def _platform_key(self) -> bytes:
        try:
            return Path(self.platform_key_file).read_bytes()
        except OSError as exc:
            raise GatewayUnavailable(
                "未配置支付平台公钥（PAYMENTS_HTTP_PLATFORM_KEY_FILE）"
            ) from exc

    def _call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.base_url:
            raise GatewayUnavailable("未配置支付平台接口地址（PAYMENTS_HTTP_BASE_URL）")
        url = urllib.parse.urlsplit(self.base_url)
        if url.scheme != "https" and url.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise GatewayUnavailable("支付平台接口地址必须使用 HTTPS")
        try:
            merchant_key = Path(self.merchant_key_file).read_bytes()
        except OSError as exc:
            raise GatewayUnavailable(
                "未配置商户签名私钥（PAYMENTS_HTTP_MERCHANT_KEY_FILE）"
            ) from exc
        platform_key = self._platform_key()
        body = signing.canonical_json(payload)
        try:
            signature = signing.sign(self.algorithm, merchant_key, body)
        except signing.SigningError as exc:
            raise GatewayUnavailable("商户签名私钥无法使用") from exc
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method="POST",
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-Merchant-Id": self.merchant_id,
                "X-Signature": base64.b64encode(signature).decode(),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content = response.read()
                answer_signature = response.headers.get("X-Signature", "")
        except urllib.error.HTTPError as exc:
            logger.warning("payment gateway %s %s: HTTP %s", self.code, path, exc.code)
            raise GatewayUnavailable(f"支付平台返回错误（HTTP {exc.code}），请稍后再试") from exc
        except (OSError, ValueError) as exc:
            logger.warning("payment gateway %s %s: %s", self.code, path, type(exc).__name__)
            raise GatewayUnavailable("无法连接支付平台，请稍后再试") from exc
        try:
            raw_signature = base64.b64decode(answer_signature, validate=True)
            valid = signing.verify(self.algorithm, platform_key, content, raw_signature)
        except (binascii.Error, ValueError, signing.SigningError):
            valid = False
        if not valid:
            raise self._nonsense("应答签名无效")
        try:
            answer = json.loads(content)
        except ValueError:
            raise self._nonsense("应答不是 JSON") from None
        if not isinstance(answer, dict):
            raise self._nonsense("应答不是对象")
        return answer

    def _nonsense(self, why: str) -> GatewayUnavailable:
        logger.warning("payment gateway %s answered nonsense: %s", self.code, why)
        return GatewayUnavailable(f"支付平台返回的数据无法使用：{why}")
