"""Postal carriers behind one Protocol (DESIGN.md §4.4), with a local adapter and a real one.

`settings.TONGBAN_ADAPTERS["carrier"]` names the class; services call `carrier()` and
never ask which one they got.

- `LocalCarrier`, the embedded default, books with S10-style tracking numbers
  (`LC12345678 5CN` without the space) and simulates progress from the booking time, one
  step every `DELIVERY_LOCAL_STEP_SECONDS`: 揽收, 运输中, 派送中, 签收.
- `HttpCarrier` speaks a generic JSON-over-HTTPS carrier API: `POST {base}/orders` books,
  `GET {base}/tracks/{number}` lists the events. See docs/delivery.md for the documents.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from core.personal_data import address_region
from delivery.models import Shipment, ShipmentStatus

logger = logging.getLogger(__name__)


class CarrierUnavailable(Exception):
    """The carrier could not be asked, or answered something we cannot use. Nothing was
    booked on our side; the message (Chinese) says what went wrong."""


@dataclass(frozen=True)
class Party:
    """One end of a shipment: a person, or a window of an organisation (`org_uscc`)."""

    name: str
    mobile: str
    address: str
    org_uscc: str = ""


@dataclass(frozen=True)
class BookingRequest:
    """What a carrier needs to pick a parcel up. `reference` is our shipment's public id,
    so a carrier can recognise a booking sent twice."""

    reference: str
    sender: Party
    recipient: Party
    contents: str


@dataclass(frozen=True)
class Booking:
    tracking_number: str
    fee: Decimal


@dataclass(frozen=True)
class CarrierEvent:
    """One tracking event. `event_id` is the carrier's own, stable across polls; `status`
    is one of `ShipmentStatus`; `signed_by` names who signed, on a delivery."""

    event_id: str
    at: dt.datetime
    status: str
    location: str = ""
    description: str = ""
    signed_by: str = ""


class Carrier(Protocol):
    """A postal carrier (快递/邮政) that books parcels and reports their progress."""

    code: str

    def book(self, request: BookingRequest) -> Booking: ...

    def track(self, tracking_number: str, *, now: dt.datetime | None = None) -> list[CarrierEvent]:
        """Every event known for `tracking_number`, oldest first. `now` is the moment the
        question is asked at: a real carrier answers with what it knows and ignores it; the
        local one uses it to decide how far its simulated parcel has got."""
        ...


def carrier() -> Carrier:
    """The carrier adapter named in the settings. Built on each call: adapters are cheap
    and read their settings when built, so a changed setting takes effect at once."""
    adapter: Carrier = import_string(settings.TONGBAN_ADAPTERS["carrier"])()
    return adapter


# UPU S10 tracking numbers ------------------------------------------------------------------

_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10 = re.compile(r"^[A-Z]{2}(\d{8})(\d)[A-Z]{2}$")


def s10_check_digit(serial: str) -> str:
    """The check digit of an 8-digit S10 serial number (UPU S10 standard)."""
    if not re.fullmatch(r"\d{8}", serial):
        raise ValueError("S10 serial numbers have 8 digits")
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return str({10: 0, 11: 5}.get(check, check))


def is_valid_s10(number: str) -> bool:
    """Whether `number` is a well-formed S10 identifier with a correct check digit."""
    match = _S10.fullmatch(number)
    return match is not None and s10_check_digit(match.group(1)) == match.group(2)


# The local carrier -------------------------------------------------------------------------

# The simulated route: after k steps from booking, the k-th of these has happened.
_LOCAL_ROUTE = (
    (ShipmentStatus.PICKED_UP, "sender", "已揽收"),
    (ShipmentStatus.IN_TRANSIT, "", "运输中，快件已发往目的地"),
    (ShipmentStatus.DELIVERING, "recipient", "派送中，投递员正在派送"),
    (ShipmentStatus.DELIVERED, "recipient", "已签收"),
)


class LocalCarrier:
    """The embedded default: books at once, free of charge (通办 postage is usually paid by
    the government), and moves the parcel one step every `DELIVERY_LOCAL_STEP_SECONDS`
    after its booking time. It keeps nothing of its own: the booking time and the
    addresses are read back from our shipment."""

    code = "local"
    prefix = "LC"
    country = "CN"

    def book(self, request: BookingRequest) -> Booking:
        while True:
            serial = f"{secrets.randbelow(10**8):08d}"
            number = f"{self.prefix}{serial}{s10_check_digit(serial)}{self.country}"
            taken = Shipment.objects.filter(carrier=self.code, tracking_number=number).exists()
            if not taken:
                return Booking(tracking_number=number, fee=Decimal("0.00"))

    def track(self, tracking_number: str, *, now: dt.datetime | None = None) -> list[CarrierEvent]:
        shipment = Shipment.objects.filter(
            carrier=self.code, tracking_number=tracking_number
        ).first()
        if shipment is None or shipment.booked_at is None:
            return []
        now = now or timezone.now()
        step = dt.timedelta(seconds=settings.DELIVERY_LOCAL_STEP_SECONDS)
        # Province and city only: the rest of an address is personal data.
        cities = {
            "sender": address_region(shipment.sender_address),
            "recipient": address_region(shipment.recipient_address),
            "": "转运中心",
        }
        events = []
        for index, (status, where, description) in enumerate(_LOCAL_ROUTE, start=1):
            at = shipment.booked_at + index * step
            if at > now:
                break
            delivered = status == ShipmentStatus.DELIVERED
            events.append(
                CarrierEvent(
                    event_id=f"{tracking_number}-{index}",
                    at=at,
                    status=status,
                    location=cities[where],
                    description=description,
                    signed_by=shipment.recipient_name if delivered else "",
                )
            )
        return events


# A carrier's JSON API ----------------------------------------------------------------------

_TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,40}$")


class HttpCarrier:
    """A carrier's JSON API over HTTPS, authenticated with an API key (`X-Api-Key`).

    `POST {base}/orders` with the booking request answers `{"tracking_number", "fee"}`;
    `GET {base}/tracks/{number}` answers `{"events": [{"id", "at", "status", "location",
    "description", "signed_by"}]}` with `status` one of our status codes. Anything else —
    refused connection, timeout, HTTP error, unusable JSON — raises `CarrierUnavailable`.
    """

    def __init__(self) -> None:
        self.code = settings.DELIVERY_HTTP_CARRIER_CODE
        self.base_url = settings.DELIVERY_HTTP_BASE_URL.rstrip("/")
        self.api_key = settings.DELIVERY_HTTP_API_KEY
        self.timeout = settings.DELIVERY_HTTP_TIMEOUT

    def book(self, request: BookingRequest) -> Booking:
        answer = self._call("POST", "/orders", asdict(request))
        if not isinstance(answer, dict):
            raise self._nonsense("下单应答不是对象")
        number = answer.get("tracking_number")
        if not isinstance(number, str) or not _TRACKING_NUMBER.fullmatch(number):
            raise self._nonsense("下单应答缺少有效的运单号")
        try:
            fee = Decimal(str(answer.get("fee", "0"))).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise self._nonsense("下单应答的资费不是数字") from None
        if not fee.is_finite() or fee < 0 or fee >= 10**6:
            raise self._nonsense("下单应答的资费无效")
        return Booking(tracking_number=number, fee=fee)

    def track(self, tracking_number: str, *, now: dt.datetime | None = None) -> list[CarrierEvent]:
        answer = self._call("GET", f"/tracks/{urllib.parse.quote(tracking_number, safe='')}")
        raw_events = answer.get("events") if isinstance(answer, dict) else None
        if not isinstance(raw_events, list):
            raise self._nonsense("轨迹应答缺少事件列表")
        events = [self._event(raw) for raw in raw_events]
        return sorted(events, key=lambda e: e.at)

    def _event(self, raw: Any) -> CarrierEvent:
        if not isinstance(raw, dict):
            raise self._nonsense("轨迹事件不是对象")
        event_id, status = raw.get("id"), raw.get("status")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 64:
            raise self._nonsense("轨迹事件缺少有效的事件标识")
        if status not in ShipmentStatus.values:
            raise self._nonsense(f"轨迹事件的状态“{status}”无法识别")
        try:
            at = dt.datetime.fromisoformat(str(raw.get("at")))
        except ValueError:
            raise self._nonsense("轨迹事件的时间格式错误") from None
        if timezone.is_naive(at):
            at = timezone.make_aware(at)  # carriers in China write Beijing time
        return CarrierEvent(
            event_id=event_id,
            at=at,
            status=status,
            location=str(raw.get("location") or ""),
            description=str(raw.get("description") or ""),
            signed_by=str(raw.get("signed_by") or ""),
        )

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        if not self.base_url:
            raise CarrierUnavailable("未配置承运方接口地址（DELIVERY_HTTP_BASE_URL）")
        url = urllib.parse.urlsplit(self.base_url)
        if url.scheme != "https" and url.hostname not in {"127.0.0.1", "localhost", "::1"}:
            # The API key and the addresses must not cross the network in clear.
            raise CarrierUnavailable("承运方接口地址必须使用 HTTPS")
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method=method,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-Api-Key": self.api_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as exc:
            logger.warning("carrier %s %s %s: HTTP %s", self.code, method, path, exc.code)
            raise CarrierUnavailable(f"承运方接口返回错误（HTTP {exc.code}），请稍后再试") from exc
        except (OSError, ValueError) as exc:
            # Refused connections and timeouts are OSErrors (URLError, TimeoutError).
            logger.warning("carrier %s %s %s: %s", self.code, method, path, type(exc).__name__)
            raise CarrierUnavailable("无法连接承运方接口，请稍后再试") from exc
        try:
            return json.loads(content)
        except ValueError:
            raise self._nonsense("应答不是 JSON") from None

    def _nonsense(self, why: str) -> CarrierUnavailable:
        logger.warning("carrier %s answered nonsense: %s", self.code, why)
        return CarrierUnavailable(f"承运方接口返回的数据无法使用：{why}")
