"""Outside systems the accounts app talks to, each behind a Protocol with a real adapter
and a local one (DESIGN.md §4.4): real-name verification (实名核验), the company registry
(企业登记信息核验) and SMS.

Settings name the class to use (`TONGBAN_ADAPTERS`); business code calls `real_name()`,
`company_registry()` or `sms()` and never asks which one it got.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import Company
from core.personal_data import mask_id_number, mask_mobile

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealNameResult:
    """The answer of a real-name check. `available` is False when the service could not
    be asked (down, timed out, answered nonsense): that is not a mismatch, and callers
    tell the applicant to try again rather than that their data are wrong."""

    matched: bool
    reason: str = ""
    available: bool = True


UNAVAILABLE = RealNameResult(False, "实名核验服务暂不可用，请稍后再试", available=False)


class RealNameService(Protocol):
    """Checks that a name and a 公民身份号码 belong to one living resident."""

    def verify(self, name: str, id_number: str) -> RealNameResult: ...


@dataclass(frozen=True)
class CompanyRecord:
    """The company registry's answer about a 统一社会信用代码. `available` is False when the
    registry could not be asked (callers ask the applicant to try again); `found` False
    when it has no such company, or not in business (吊销、注销)."""

    found: bool
    name: str = ""
    legal_representative: str = ""
    reason: str = ""
    available: bool = True


REGISTRY_UNAVAILABLE = CompanyRecord(
    False, reason="企业登记信息核验服务暂不可用，请稍后再试", available=False
)


class CompanyRegistry(Protocol):
    """The market regulator's register of legal persons (市场主体登记): who a USCC belongs
    to, and who its legal representative is."""

    def look_up(self, uscc: str, *, name: str, legal_representative: str) -> CompanyRecord: ...


class SmsGateway(Protocol):
    """Sends a short text message to a mainland mobile number."""

    def send(self, mobile: str, text: str) -> None: ...


_NAME = re.compile(r"^[\u3400-\u9fff\U00020000-\U0002ffff·]{2,30}$")


class LocalRealNameService:
    """The embedded default: accepts a well-formed Chinese name with a valid ID number whose
    birth date is not in the future. It cannot know whether the person exists."""

    def verify(self, name: str, id_number: str) -> RealNameResult:
        if not _NAME.fullmatch(name):
            return RealNameResult(False, "姓名应为2至30个汉字")
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        if born > dt.date.today():
            return RealNameResult(False, "出生日期晚于今天")
        return RealNameResult(True)


class HttpRealNameService:
    """The provincial real-name service over HTTPS: POST {name, id_number} as JSON, signed
    with HMAC-SHA256 of the body under the platform's app secret; the answer is
    {"matched": bool, "reason": str}."""

    def __init__(self) -> None:
        self.url = settings.REAL_NAME_URL
        self.app_id = settings.REAL_NAME_APP_ID
        self.secret = settings.REAL_NAME_SECRET.encode()
        self.timeout = 5.0

    def verify(self, name: str, id_number: str) -> RealNameResult:
        body = json.dumps({"name": name, "id_number": id_number}).encode()
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-App-Id": self.app_id,
                "X-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as exc:
            # HTTP errors, refused connections and timeouts are OSErrors; bad JSON a ValueError.
            return self._unavailable(id_number, type(exc).__name__)
        if not isinstance(answer, dict) or not isinstance(answer.get("matched"), bool):
            return self._unavailable(id_number, "unexpected answer")
        return RealNameResult(answer["matched"], str(answer.get("reason") or ""))

    @staticmethod
    def _unavailable(id_number: str, why: str) -> RealNameResult:
        logger.warning("real-name service unavailable for %s: %s", mask_id_number(id_number), why)
        return UNAVAILABLE


class LocalCompanyRegistry:
    """The embedded default. A company this node already knows (registered at a window, or
    the demo's) is looked up here: the legal representative must be the one on record. An
    unknown code of an enterprise (registration authority 9, 市场监管) is taken as in
    business under the name and representative given — the local adapter cannot know the
    real register; any other registration authority (机关、事业单位…) is refused."""

    def look_up(self, uscc: str, *, name: str, legal_representative: str) -> CompanyRecord:
        known = Company.objects.filter(uscc=uscc).values("name", "legal_representative").first()
        if known is not None:
            return CompanyRecord(True, known["name"], known["legal_representative"])
        if not uscc.startswith("9"):
            return CompanyRecord(False, reason="该代码不是市场监管部门登记的企业")
        if not 2 <= len(name.strip()) <= 128:
            return CompanyRecord(False, reason="企业名称应为2至128个字")
        if not _NAME.fullmatch(legal_representative.strip()):
            return CompanyRecord(False, reason="法定代表人姓名应为2至30个汉字")
        return CompanyRecord(
            True, name=name.strip(), legal_representative=legal_representative.strip()
        )


class HttpCompanyRegistry:
    """The provincial market-regulation data service over HTTPS: GET
    `<url>?uscc=<code>` with the app id and an HMAC-SHA256 of the code under the app
    secret; the answer is {"found": bool, "name": str, "legal_representative": str,
    "status": "存续" | …}. Only a company in business (存续、在业) counts as found."""

    IN_BUSINESS = ("存续", "在业", "开业")

    def __init__(self) -> None:
        self.url = settings.COMPANY_REGISTRY_URL
        self.app_id = settings.REAL_NAME_APP_ID
        self.secret = settings.REAL_NAME_SECRET.encode()
        self.timeout = 5.0

    def look_up(self, uscc: str, *, name: str, legal_representative: str) -> CompanyRecord:
        signature = hmac.new(self.secret, uscc.encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{self.url}?{urllib.parse.urlencode({'uscc': uscc})}",
            headers={
                "Accept": "application/json",
                "X-App-Id": self.app_id,
                "X-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as exc:
            logger.warning("company registry unavailable for %s: %s", uscc, type(exc).__name__)
            return REGISTRY_UNAVAILABLE
        if not isinstance(answer, dict) or not isinstance(answer.get("found"), bool):
            logger.warning("company registry answered nonsense for %s", uscc)
            return REGISTRY_UNAVAILABLE
        if not answer["found"]:
            return CompanyRecord(False, reason="企业登记信息中没有该统一社会信用代码")
        status = str(answer.get("status") or "")
        if status and status not in self.IN_BUSINESS:
            return CompanyRecord(False, reason=f"该企业登记状态为“{status}”")
        return CompanyRecord(
            True,
            name=str(answer.get("name") or ""),
            legal_representative=str(answer.get("legal_representative") or ""),
        )


class LocalSmsGateway:
    """The embedded default: writes the message to the log, with the number masked."""

    def send(self, mobile: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_mobile(mobile), text)


class HttpSmsGateway:
    """An SMS gateway over HTTPS: POST {mobile, text, sign} as JSON with a bearer key.

    Texts are sent after the change they announce has been committed; a gateway that is
    down must not turn that committed change into an error, so a failure is logged (with
    the number masked) and the in-app notification stands on its own."""

    def __init__(self) -> None:
        self.url = settings.SMS_URL
        self.key = settings.SMS_KEY
        self.sign = settings.SMS_SIGN

    def send(self, mobile: str, text: str) -> None:
        body = json.dumps({"mobile": mobile, "text": text, "sign": self.sign}).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5.0) as response:
                response.read()
        except OSError as exc:
            logger.warning("SMS to %s not sent: %s", mask_mobile(mobile), type(exc).__name__)


@cache
def _adapter(kind: str) -> object:
    return import_string(settings.TONGBAN_ADAPTERS[kind])()


def real_name() -> RealNameService:
    return _adapter("real_name")  # type: ignore[return-value]


def company_registry() -> CompanyRegistry:
    return _adapter("company_registry")  # type: ignore[return-value]


def sms() -> SmsGateway:
    return _adapter("sms")  # type: ignore[return-value]
