"""`manage.py check_identifiers`: list stored identifiers that are not plain ASCII.

Before the validators normalised input with NFKC (decision 80), a full-width
`２３０１０２…` could be stored beside the ASCII `230102…` of the same person. This data
check finds such rows so that an operator can merge or correct them; it changes nothing.
It reads every row and decrypts the encrypted columns, so it is a command run on demand,
not a system check run at every start.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from core.validators import stored_identifier_is_ascii

# (model, field, what it is): every column that holds an ID number, USCC or mobile number.
IDENTIFIER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("accounts.Person", "id_number", "公民身份号码"),
    ("accounts.Person", "mobile", "手机号码"),
    ("accounts.Company", "uscc", "统一社会信用代码"),
    ("core.Organisation", "uscc", "统一社会信用代码"),
    ("licences.Licence", "holder_code", "持证主体代码"),
    ("delivery.Shipment", "sender_mobile", "寄件人手机号码"),
    ("delivery.Shipment", "recipient_mobile", "收件人手机号码"),
    ("delivery.Shipment", "sender_org_uscc", "寄件机构统一社会信用代码"),
    ("delivery.Shipment", "recipient_org_uscc", "收件机构统一社会信用代码"),
)


def non_ascii_identifiers() -> list[tuple[str, int, str]]:
    """(model label, primary key, column description) of every stored identifier that is
    not plain ASCII. The values themselves are never returned: they are personal data."""
    found = []
    for label, field, noun in IDENTIFIER_COLUMNS:
        model = apps.get_model(label)
        for pk, value in model.objects.values_list("pk", field).iterator():
            if value and not stored_identifier_is_ascii(str(value)):
                found.append((label, pk, f"{field}（{noun}）"))
    return found


class Command(BaseCommand):
    help = "列出存储的非 ASCII 身份号码、统一社会信用代码和手机号码（只读检查）。"

    def handle(self, *args: Any, **options: Any) -> None:
        found = non_ascii_identifiers()
        for label, pk, column in found:
            self.stdout.write(f"{label} #{pk}: {column} 含非 ASCII 字符")
        if found:
            raise CommandError(f"发现 {len(found)} 个非 ASCII 标识号码，请核对并更正。")
        self.stdout.write("所有存储的标识号码均为 ASCII。")
