"""Validators for the national identifiers the platform accepts.

Checksums come from python-stdnum (GB 11643 resident ID, GB 32100 USCC); we only add the
platform's rules on top: Chinese messages, stable codes, the 15-digit upgrade.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import (
    ValidationError as StdnumError,
)

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")
# 6 digits (GB/T 2260: province, city, county); 9 for a 乡镇/街道 and 12 for a 村/社区
# (the statistical codes that extend the county's).
_DIVISION = re.compile(r"^([0-9]{6}|[0-9]{9}|[0-9]{12})$")


def ascii_identifier(value: str | None) -> str:
    """`value` as the platform stores identifiers: NFKC-normalised (full-width digits and
    letters become ASCII), upper-cased, spaces removed. What is still not ASCII after that
    (Arabic-Indic digits, ideographs…) is left in, for the format check to refuse.

    Python's `\\d` and `int()` accept any Unicode digit, so without this step
    `２３０１０２…` passes the checksum and misses the uniqueness check on the keyed hash.
    Every identifier enters through the normalisers below, so this is the one place."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s", "", text).upper()


def stored_identifier_is_ascii(value: str) -> bool:
    """Whether a stored identifier is plain ASCII (the data check of `check_identifiers`)."""
    return value.isascii() and value == value.strip()


def normalize_id_number(value: str) -> str:
    """Return the 18-character 公民身份号码 for `value`, or raise ValidationError.

    A 15-digit legacy number (no century, no check character) is upgraded: "19" goes after
    the 6-digit address code and the check character is computed (GB 11643).
    """
    raw = ascii_identifier(value)
    if re.fullmatch(r"[0-9]{15}", raw):
        first17 = raw[:6] + "19" + raw[6:]
        # stdnum computes the check over all but the last character of what it is given.
        raw = first17 + ric.calc_check_digit(first17 + "0")
    if not re.fullmatch(r"[0-9]{17}[0-9X]", raw):
        raise ValidationError(
            "公民身份号码应为18位（最后一位可为X），或15位旧号码", code="id_number_format"
        )
    try:
        ric.validate(raw)
    except InvalidChecksum as exc:
        raise ValidationError("公民身份号码校验位错误", code="id_number_checksum") from exc
    except InvalidComponent as exc:
        raise ValidationError(
            "公民身份号码的出生日期或地址码无效", code="id_number_component"
        ) from exc
    except StdnumError as exc:
        raise ValidationError("公民身份号码格式错误", code="id_number_format") from exc
    return raw


def validate_id_number(value: str) -> None:
    normalize_id_number(value)


def normalize_uscc(value: str) -> str:
    """Return the 18-character 统一社会信用代码 for `value`, or raise ValidationError."""
    raw = ascii_identifier(value)
    if not raw.isascii():
        raise ValidationError(
            "统一社会信用代码应为18位，由数字和大写字母组成（不含 I、O、Z、S、V）",
            code="uscc_format",
        )
    try:
        return str(uscc.validate(raw))
    except InvalidChecksum as exc:
        raise ValidationError("统一社会信用代码校验位错误", code="uscc_checksum") from exc
    except (InvalidLength, InvalidFormat, InvalidComponent) as exc:
        raise ValidationError(
            "统一社会信用代码应为18位，由数字和大写字母组成（不含 I、O、Z、S、V）",
            code="uscc_format",
        ) from exc
    except StdnumError as exc:
        raise ValidationError("统一社会信用代码无效", code="uscc_format") from exc


def validate_uscc(value: str) -> None:
    normalize_uscc(value)


def normalize_mobile(value: str) -> str:
    """Return the 11-digit mainland mobile number (an optional +86 is dropped)."""
    raw = ascii_identifier(value).replace("-", "")
    match = _MOBILE.fullmatch(raw)
    if not match:
        raise ValidationError("手机号码应为11位，以1开头，第二位为3至9", code="mobile_format")
    return match.group(1)


def validate_mobile(value: str) -> None:
    normalize_mobile(value)


def validate_division_code_format(value: str) -> None:
    if not _DIVISION.fullmatch(value or ""):
        raise ValidationError(
            "行政区划代码应为6位数字（乡镇、街道9位，村、社区12位）", code="division_format"
        )
