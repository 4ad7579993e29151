"""The record kinds of the catalog exchange format, their columns, and how the text of a
cell becomes a value and back.

A parsed record holds typed values (str, int, bool, date, Decimal, lists, lists of dicts),
with the defaults of empty cells filled in; the exporter builds records of the same shape
from the database. So "is this file the same as the database" is a plain comparison of
values, and writing a record gives the one canonical text of each cell.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from catalog.form_schema import FIELD_TYPE_LABELS
from catalog.models import (
    Availability,
    ItemCategory,
    ItemList,
    ItemVersion,
    LicenceType,
    ListEntry,
    ListVersion,
    Material,
    Mode,
    RegionalScheme,
    ServiceItem,
)
from catalog.services import CHANNELS, DELIVERY, MAX_VALID_YEARS
from core.models import Organisation
from core.validators import normalize_uscc


class CellError(ValueError):
    """A cell whose text is not a valid value; the message is shown to people."""


# Several values in one cell are separated by semicolons (either width) or line breaks.
_SEPARATORS = re.compile(r"[;；\n]")
_TRUE = {"true", "1", "yes", "y", "是"}
_FALSE = {"false", "0", "no", "n", "否"}


def split_cell(text: str) -> list[str]:
    """The parts of a multi-valued cell, stripped, empty parts dropped."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


@dataclass(frozen=True)
class Codec:
    """Turns a cell's text into a value (raising CellError) and a value into text."""

    parse: Callable[[str], Any]
    format: Callable[[Any], str]
    empty: Any = None


def text(max_length: int | None = None) -> Codec:
    def parse(value: str) -> str:
        if max_length is not None and len(value) > max_length:
            raise CellError(f"不能超过 {max_length} 个字符（现有 {len(value)} 个）")
        return value

    return Codec(parse, lambda v: "" if v is None else str(v), "")


def integer(maximum: int = 2_147_483_647, minimum: int = 0) -> Codec:
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d+", value):
            raise CellError(f"应为非负整数：{value}")
        number = int(value)
        if number > maximum:
            raise CellError(f"不能大于 {maximum}")
        if number < minimum:
            raise CellError(f"不能小于 {minimum}")
        return number

    return Codec(parse, lambda v: "" if v is None else str(v))


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CellError(f"应为 true 或 false（也可写 是/否）：{value}")


BOOLEAN = Codec(_parse_bool, lambda v: "" if v is None else ("true" if v else "false"))


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CellError(f"日期应写作 YYYY-MM-DD：{value}") from exc


DATE = Codec(_parse_date, lambda v: "" if v is None else v.isoformat())


def _parse_decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise CellError(f"应为数字：{value}") from exc
    if not number.is_finite():
        raise CellError(f"应为数字：{value}")
    return number


DECIMAL = Codec(_parse_decimal, lambda v: "" if v is None else str(v))


def _parse_uscc(value: str) -> str:
    try:
        return normalize_uscc(value)
    except ValidationError as exc:
        raise CellError(f"{exc.messages[0]}：{value}") from exc


USCC = Codec(_parse_uscc, lambda v: v or "", "")
# A code of something else in the file or the database; checked as a reference later.
CODE = Codec(lambda v: v, lambda v: v or "", "")
# 证照类型代码 are written in capitals (the USCC alphabet); accept lower case too.
LICENCE_CODE = Codec(lambda v: v.upper(), lambda v: v or "", "")


def slug(max_length: int) -> Codec:
    def parse(value: str) -> str:
        if not re.fullmatch(r"[-a-zA-Z0-9_]+", value):
            raise CellError(f"代码只能由英文字母、数字、连字符和下划线组成：{value}")
        return text(max_length).parse(value)

    return Codec(parse, lambda v: v or "", "")


def _lookup_choice(choices: Mapping[str, str], value: str) -> str:
    """The code for `value`, given as the code itself or as its Chinese label."""
    if value in choices:
        return value
    for code, label in choices.items():
        if value == label:
            return code
    raise CellError(f"未知的取值：{value}（可选：{'、'.join(choices)}）")


def choice(choices: Mapping[str, str]) -> Codec:
    return Codec(lambda v: _lookup_choice(choices, v), lambda v: v or "", "")


def _parse_distinct(parts: list[str]) -> list[str]:
    repeated = sorted({p for p in parts if parts.count(p) > 1})
    if repeated:
        raise CellError(f"重复的取值：{'、'.join(repeated)}")
    return parts


def choice_list(choices: Mapping[str, str]) -> Codec:
    """Several choices in one cell, order kept."""
    return Codec(
        lambda v: _parse_distinct([_lookup_choice(choices, p) for p in split_cell(v)]),
        lambda v: ";".join(v or []),
        [],
    )


# Several values in one cell: codes of something else (themes, divisions; a set, sorted
# once resolved) or texts (a choice field's options, in order).
SEVERAL = Codec(lambda v: _parse_distinct(split_cell(v)), lambda v: ";".join(v or []), [])


def structured(keys: tuple[str, ...], separator: str = "", **convert: Codec) -> Codec:
    """A list of small objects in one cell: `a|b|c;a|b|c` (the keys in order, joined by
    `separator`), or a JSON array of objects for anything the short form cannot hold."""
    widths = {":": "[:：]", "|": r"[|｜]"}  # either width of the separator

    def parse_part(part: str) -> dict[str, Any]:
        pieces = re.split(widths[separator], part, maxsplit=len(keys) - 1) if separator else [part]
        if len(pieces) != len(keys):
            raise CellError(f"“{part}”应写作 {separator.join(keys)}")
        return {
            key: convert[key].parse(piece.strip()) if key in convert else piece.strip()
            for key, piece in zip(keys, pieces, strict=True)
        }

    def parse(value: str) -> list[dict[str, Any]]:
        if value.startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError as exc:
                raise CellError(f"JSON 格式错误：{exc.msg}") from exc
            if not isinstance(items, list) or not all(
                isinstance(i, dict) and keys[0] in i for i in items
            ):
                raise CellError(f"JSON 应为对象数组，每个对象至少有 {keys[0]}")
            return items
        return [parse_part(part) for part in split_cell(value)]

    def short(item: Any) -> str | None:
        if not isinstance(item, dict) or set(item) != set(keys):
            return None
        written = separator.join(
            convert[key].format(item[key]) if key in convert else str(item[key]) for key in keys
        )
        try:
            return written if parse(written) == [item] else None
        except CellError:
            return None

    def format_(value: Any) -> str:
        parts = [short(item) for item in value or []]
        if all(part is not None for part in parts):
            return ";".join(p for p in parts if p is not None)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    return Codec(parse, format_, [])


def _parse_amount(value: str) -> str:
    if _parse_decimal(value) < 0:
        raise CellError(f"金额不能为负数：{value}")
    return value


STEPS = structured(("name",))
SPECIAL_PROCEDURES = structured(("name", "limit"), ":", limit=integer(9999))
FEES = structured(("name", "amount", "basis"), "|", amount=Codec(_parse_amount, str))


@dataclass(frozen=True)
class Column:
    """One column of a record kind. `ref` names what the value refers to (checked against
    the database and the file); `required` means the cell may not be empty."""

    name: str
    label: str
    codec: Codec
    required: bool = False
    default: Any = None
    ref: str | None = None

    def empty_value(self) -> Any:
        value = self.codec.empty if self.default is None else self.default
        return list(value) if isinstance(value, list) else value

    def parse(self, value: str) -> Any:
        return self.codec.parse(value) if value else self.empty_value()

    def format(self, value: Any) -> str:
        return self.codec.format(value)


def field_column(
    model: type[models.Model],
    field_name: str,
    *,
    name: str | None = None,
    label: str | None = None,
    codec: Codec | None = None,
    required: bool = False,
    ref: str | None = None,
) -> Column:
    """A column for a model field: label, length limit, choices and default from the model."""
    model_field = model._meta.get_field(field_name)
    assert isinstance(model_field, models.Field)
    if codec is None:
        if model_field.choices:
            codec = choice(dict(model_field.flatchoices))  # type: ignore[arg-type]
        elif isinstance(model_field, models.SlugField):
            codec = slug(model_field.max_length or 50)
        elif isinstance(model_field, models.BooleanField):
            codec = BOOLEAN
        elif isinstance(model_field, models.DateField):
            codec = DATE
        elif isinstance(model_field, models.PositiveSmallIntegerField):
            codec = integer(32767)
        elif isinstance(model_field, models.PositiveIntegerField):
            codec = integer()
        else:
            codec = text(model_field.max_length)
    default = model_field.get_default() if model_field.has_default() else None
    return Column(
        name=name or field_name,
        label=label or str(model_field.verbose_name),
        codec=codec,
        required=required,
        default=default,
        ref=ref,
    )


@dataclass(frozen=True)
class Kind:
    """A record kind: the value of the `record` column, and the columns it uses."""

    name: str
    label: str
    columns: tuple[Column, ...]
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})


def _item_ref() -> tuple[Column, Column]:
    """The two columns by which a row names the item version it belongs to."""
    return (
        Column("item", "事项编码", CODE, required=True),
        field_column(ItemVersion, "number", name="version", required=True),
    )


def _list_ref() -> tuple[Column, Column]:
    return (
        Column("list", "清单代码", CODE, required=True, ref="list"),
        field_column(ListVersion, "number", name="version", required=True),
    )


ORGANISATION = Kind(
    "organisation",
    "部门机构",
    (
        field_column(Organisation, "uscc", codec=USCC, required=True),
        field_column(Organisation, "name", required=True),
        field_column(Organisation, "short_name"),
        field_column(Organisation, "kind"),
        field_column(Organisation, "division", codec=CODE, required=True, ref="division"),
    ),
)


def _parse_valid_years(value: str) -> int:
    try:
        return integer(MAX_VALID_YEARS, minimum=1).parse(value)
    except CellError as exc:
        raise CellError(f"{exc}；应为 1 至 {MAX_VALID_YEARS} 的整数，长期有效请留空") from exc


# A licence type's validity in years; empty is 长期有效.
VALID_YEARS = Codec(_parse_valid_years, integer().format)


def _field_spec() -> tuple[Column, ...]:
    """The columns of one field of a form or of a licence face (`FormField`)."""
    return (
        Column("name", "字段名", text(48), required=True),
        Column("label", "字段标题", text(60), required=True),
        Column(
            "type",
            "字段类型",
            choice({str(k): v for k, v in FIELD_TYPE_LABELS.items()}),
            required=True,
        ),
        Column("required", "是否必填", BOOLEAN, default=True),
        Column("help", "填写说明", text(200)),
        Column("choices", "可选值", SEVERAL),
        Column("max_length", "最大长度", integer(5000)),
        Column("min", "最小值", DECIMAL),
        Column("max", "最大值", DECIMAL),
        Column("within", "限定区域", text(12)),
        Column("not_before", "不早于", text(60)),
        Column("not_after", "不晚于", text(60)),
    )


LICENCE_TYPE = Kind(
    "licence_type",
    "证照类型",
    (
        field_column(LicenceType, "code", codec=LICENCE_CODE, required=True),
        field_column(LicenceType, "name", required=True),
        field_column(LicenceType, "defining_organisation"),
        field_column(LicenceType, "holder_kind"),
        field_column(LicenceType, "issuer_kind"),
        field_column(LicenceType, "valid_years", codec=VALID_YEARS, label="有效期（年）"),
        field_column(LicenceType, "allow_multiple"),
    ),
)

# The face of a licence type, one row per field in order, like an item's `form_field` rows.
FACE_FIELD = Kind(
    "face_field",
    "照面字段",
    (Column("licence_type", "证照类型代码", LICENCE_CODE, required=True), *_field_spec()),
)

SCHEME = Kind(
    "scheme",
    "区域协作机制",
    (
        field_column(RegionalScheme, "code", required=True),
        field_column(RegionalScheme, "name", required=True),
        field_column(RegionalScheme, "members", codec=SEVERAL, required=True, ref="division"),
        field_column(RegionalScheme, "signed_at"),
        field_column(RegionalScheme, "description"),
    ),
)

# The columns of an `item` record that describe the item itself (repeated on each of its
# version rows) rather than one version.
ITEM_IDENTITY = ("basic_code", "implementation_code", "handling_code", "organisation", "division")

ITEM = Kind(
    "item",
    "事项版本",
    (
        field_column(ServiceItem, "basic_code", required=True),
        field_column(ServiceItem, "implementation_code", required=True),
        field_column(ServiceItem, "handling_code"),
        field_column(ServiceItem, "organisation", codec=USCC, required=True, ref="organisation"),
        field_column(ServiceItem, "division", codec=CODE, required=True, ref="division"),
        field_column(ItemVersion, "number", name="version", required=True),
        field_column(ItemVersion, "effective_from", required=True),
        field_column(ItemVersion, "change_note"),
        field_column(ItemVersion, "name", required=True),
        field_column(ItemCategory, "system", name="category_system", label="事项类型编码体系"),
        field_column(
            ItemCategory, "code", name="category_code", label="事项类型代码", required=True
        ),
        field_column(ItemVersion, "handling_level", required=True),
        field_column(ItemVersion, "audience", required=True),
        field_column(ItemVersion, "themes", codec=SEVERAL, ref="theme"),
        field_column(ItemVersion, "keywords"),
        field_column(ItemVersion, "conditions", required=True),
        field_column(
            ItemVersion, "application_channels", codec=choice_list(CHANNELS), required=True
        ),
        field_column(ItemVersion, "acceptance_mode", required=True),
        field_column(ItemVersion, "procedure_steps", codec=STEPS, required=True),
        field_column(ItemVersion, "legal_limit"),
        field_column(ItemVersion, "legal_limit_unit"),
        field_column(ItemVersion, "promised_limit", required=True),
        field_column(ItemVersion, "promised_limit_unit"),
        field_column(ItemVersion, "special_procedures", codec=SPECIAL_PROCEDURES),
        field_column(ItemVersion, "result_type", required=True),
        field_column(ItemVersion, "result_name"),
        field_column(ItemVersion, "result_licence_type", codec=LICENCE_CODE, ref="licence_type"),
        field_column(ItemVersion, "held_result"),
        field_column(ItemVersion, "result_delivery", codec=choice_list(DELIVERY), required=True),
        field_column(ItemVersion, "fee_charged"),
        field_column(ItemVersion, "fees", codec=FEES),
        field_column(ItemVersion, "visits_required"),
        field_column(ItemVersion, "legal_basis", required=True),
        field_column(ItemVersion, "allows_commitment"),
        field_column(ItemVersion, "classified"),
        field_column(ItemVersion, "assurance_level"),
        field_column(ItemVersion, "location"),
        field_column(ItemVersion, "office_hours"),
        field_column(ItemVersion, "consultation_phone"),
        field_column(ItemVersion, "complaint_phone"),
    ),
)

MATERIAL = Kind(
    "material",
    "申请材料",
    (
        *_item_ref(),
        field_column(Material, "name", required=True),
        field_column(Material, "code"),
        field_column(Material, "necessity", required=True),
        field_column(Material, "source_type", required=True),
        field_column(Material, "originals"),
        field_column(Material, "copies"),
        field_column(Material, "form"),
        field_column(Material, "licence_type", codec=LICENCE_CODE, ref="licence_type"),
        field_column(Material, "commitment_allowed"),
        field_column(Material, "notes"),
    ),
)

FORM_FIELD = Kind("form_field", "申请表字段", (*_item_ref(), *_field_spec()))

AVAILABILITY = Kind(
    "availability",
    "通办范围",
    (
        *_item_ref(),
        field_column(Availability, "scope", required=True),
        field_column(Availability, "mode", required=True),
        field_column(Availability, "scheme", codec=CODE, ref="scheme"),
        field_column(Availability, "divisions", codec=SEVERAL, ref="division"),
    ),
)

LIST = Kind(
    "list",
    "事项清单",
    (
        field_column(ItemList, "code", required=True),
        field_column(ItemList, "name", required=True),
        field_column(ItemList, "scope", required=True),
        field_column(ItemList, "scheme", codec=CODE, ref="scheme"),
        field_column(ItemList, "description"),
    ),
)

LIST_VERSION = Kind(
    "list_version",
    "清单版本",
    (
        *_list_ref(),
        field_column(ListVersion, "effective_from", required=True),
        field_column(ListVersion, "change_note", required=True),
    ),
)

LIST_ENTRY = Kind(
    "list_entry",
    "清单条目",
    (
        *_list_ref(),
        Column("item", "事项编码", CODE, required=True, ref="item"),
        field_column(ListEntry, "modes", codec=choice_list(dict(Mode.choices)), required=True),
        field_column(ListEntry, "note"),
    ),
)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        ORGANISATION,
        LICENCE_TYPE,
        FACE_FIELD,
        SCHEME,
        ITEM,
        MATERIAL,
        FORM_FIELD,
        AVAILABILITY,
        LIST,
        LIST_VERSION,
        LIST_ENTRY,
    )
}


def _header() -> tuple[str, ...]:
    first = ["record", "item", "list", "licence_type", "version", "code", "uscc", "name"]
    rest = [c.name for k in KINDS.values() for c in k.columns if c.name not in first]
    return tuple(first + list(dict.fromkeys(rest)))


# Every column of the layout, in the order files are written.
HEADER = _header()


@dataclass
class Record:
    """One record: its kind, its typed values, and its row in the file it came from."""

    kind: str
    values: dict[str, Any]
    row: int | None = None

    def cells(self) -> dict[str, str]:
        """The record as cell texts, in header order, empty cells left out."""
        kind = KINDS[self.kind]
        cells = {"record": self.kind}
        for column in kind.columns:
            written = column.format(self.values.get(column.name))
            if written:
                cells[column.name] = written
        return {name: cells[name] for name in HEADER if name in cells}


def item_code(values: Mapping[str, Any]) -> str:
    """The key of an item on the platform (`ServiceItem.code`) from an `item` record."""
    return str(values.get("handling_code") or values.get("implementation_code") or "")
