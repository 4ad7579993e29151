"""电子证照标识 (GB/T 36904): `1.2.156.3005.2.<类型代码>.<颁发机构代码>.<流水号>.<版本号>.<校验位>`.

The check character is ISO/IEC 7064 MOD 37,36 over the concatenation of type code, issuer
code, serial and version (reference/cn-standards.md §4.2), computed by python-stdnum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

ROOT = "1.2.156.3005.2"
_PART = re.compile(r"^[0-9A-Z]+$")


@dataclass(frozen=True)
class LicenceIdentifier:
    type_code: str
    issuer_code: str
    serial: str
    version: int

    @property
    def check(self) -> str:
        return str(mod_37_36.calc_check_digit(self._body()))

    def _body(self) -> str:
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version:03d}"

    def __str__(self) -> str:
        return (
            f"{ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}."
            f"{self.version:03d}.{self.check}"
        )


class IdentifierError(ValueError):
    """A malformed identifier; `code` says which rule it breaks."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_identifier(text: str) -> LicenceIdentifier:
    """Parse and check an identifier; raise IdentifierError naming what is wrong."""
    value = (text or "").strip().upper()
    if not value.startswith(ROOT + "."):
        raise IdentifierError("identifier_root", f"电子证照标识应以 {ROOT} 开头")
    parts = value[len(ROOT) + 1 :].split(".")
    if len(parts) != 5:
        raise IdentifierError(
            "identifier_format",
            "电子证照标识应为 根代码.类型代码.颁发机构代码.流水号.版本号.校验位",
        )
    type_code, issuer_code, serial, version, check = parts
    if not all(_PART.fullmatch(p) for p in parts):
        raise IdentifierError("identifier_format", "电子证照标识各段只能含数字和大写字母")
    if not re.fullmatch(r"\d{3}", version):
        raise IdentifierError("identifier_version", "版本号应为3位数字")
    if len(check) != 1:
        raise IdentifierError("identifier_check", "校验位应为1个字符")
    identifier = LicenceIdentifier(type_code, issuer_code, serial, int(version))
    if identifier.check != check:
        raise IdentifierError("identifier_check", "电子证照标识校验位错误")
    return identifier
