"""The application form of an item version as a small schema, and validation of answers.

A form is a list of fields; each has an identifier (`name`), a Chinese `label`, a `type`,
whether it is `required`, and type-specific limits. The same schema renders the portal
form, documents the API and validates what an applicant submits.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticError

from core.exceptions import ProblemList
from core.models import Division, division_code_prefix
from core.validators import normalize_id_number, normalize_mobile, normalize_uscc


class FieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    NUMBER = "number"
    CHOICE = "choice"
    DIVISION = "division"
    ID_NUMBER = "id_number"
    USCC = "uscc"
    PHONE = "phone"
    ADDRESS = "address"


FIELD_TYPE_LABELS = {
    FieldType.TEXT: "文本",
    FieldType.TEXTAREA: "多行文本",
    FieldType.DATE: "日期",
    FieldType.NUMBER: "数字",
    FieldType.CHOICE: "选项",
    FieldType.DIVISION: "行政区划",
    FieldType.ID_NUMBER: "公民身份号码",
    FieldType.USCC: "统一社会信用代码",
    FieldType.PHONE: "手机号码",
    FieldType.ADDRESS: "地址",
}


DATE_BOUND = r"^(today([+-]\d{1,5})?|field:[a-z][a-z0-9_]{0,47})$"
# The fields that name the applicant: filled from the applicant's own record, never typed
# (cases.services fills them and refuses another value).
APPLICANT_FIELDS = {
    "person": {"applicant_name": "name", "id_number": "id_number"},
    "company": {"company_name": "name", "uscc": "uscc"},
}


class FormField(BaseModel):
    """One field of an application form."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    label: str = Field(min_length=1, max_length=60)
    type: FieldType
    required: bool = True
    help: str = Field(default="", max_length=200)
    # Checked even when left out, so that a choice field without options is refused.
    choices: list[str] = Field(default_factory=list, validate_default=True)
    max_length: int | None = Field(default=None, ge=1, le=5000)
    min: Decimal | None = None
    max: Decimal | None = None
    # A division field's answer must lie inside this division (经营场所须在长春市内).
    within: str = ""
    # A date field's bounds: `today`, `today+N` / `today-N` (days), or `field:<name>` — another
    # date of the same form (an end not before its start).
    not_before: str = ""
    not_after: str = ""

    # Rules across attributes are checked on the attribute they concern, so that an error
    # names it (`choices`, `max`) and an import can point at the right cell.

    @field_validator("choices")
    @classmethod
    def _choices_fit_the_type(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("type")
        if kind == FieldType.CHOICE and not value:
            raise ValueError("选项类字段必须列出可选值")
        if kind is not None and kind != FieldType.CHOICE and value:
            raise ValueError("只有选项类字段可以列出可选值")
        return value

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min")
        if value is not None and low is not None and low > value:
            raise ValueError("最小值不能大于最大值")
        return value

    @field_validator("within")
    @classmethod
    def _within_for_divisions(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            return value
        if info.data.get("type") != FieldType.DIVISION:
            raise ValueError("只有行政区划字段可以限定区域")
        if not re.fullmatch(r"\d{6}(\d{3}){0,2}", value):
            raise ValueError("限定区域应为行政区划代码（6、9 或 12 位数字）")
        return value

    @field_validator("not_before", "not_after")
    @classmethod
    def _bounds_for_dates(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            return value
        if info.data.get("type") != FieldType.DATE:
            raise ValueError("只有日期字段可以限定日期范围")
        if not re.fullmatch(DATE_BOUND, value):
            raise ValueError("日期范围应为 today、today+天数、today-天数 或 field:字段名")
        return value


def parse_form_fields(
    raw: Any,
    problems: ProblemList,
    *,
    row: int | None = None,
    prefix: str = "form_fields",
    noun: str = "申请表字段",
) -> list[FormField]:
    """Parse a stored or imported list of field definitions, adding a problem per error.

    The same schema describes a licence type's face (`prefix="face_fields"`,
    `noun="照面字段"`); problems name `<prefix>[<index>].<attribute>`."""
    if not isinstance(raw, list):
        problems.add(f"{noun}应为列表", field=prefix, row=row)
        return []
    fields: list[FormField] = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        try:
            spec = FormField.model_validate(item)
        except PydanticError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.add(
                    f"{noun}定义无效：{err['msg'].removeprefix('Value error, ')}",
                    field=f"{prefix}[{index}]{'.' + where if where else ''}",
                    row=row,
                )
            continue
        if spec.name in names:
            problems.add(f"{noun}名 {spec.name} 重复", field=f"{prefix}[{index}].name", row=row)
        names.add(spec.name)
        fields.append(spec)
    types = {f.name: f.type for f in fields}
    for index, spec in enumerate(fields):
        for attribute in ("not_before", "not_after"):
            bound = getattr(spec, attribute)
            if bound and bound.startswith("field:") and types.get(bound[6:]) != FieldType.DATE:
                problems.add(
                    f"{noun} {spec.name} 的日期范围须引用本表的日期字段（{bound[6:]}）",
                    field=f"{prefix}[{index}].{attribute}",
                    row=row,
                )
    return fields


def validate_form_data(fields: list[FormField], data: dict[str, Any]) -> dict[str, Any]:
    """Check an applicant's answers against the form; return them normalised.

    Raises RuleViolation (code `form_invalid`) naming every field that is wrong."""
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    known = {f.name for f in fields}
    for name in data:
        if name not in known:
            problems.add("申请表中没有该字段", field=name)
    division_codes = {
        str(data[f.name]) for f in fields if f.type == FieldType.DIVISION and data.get(f.name)
    } | {f.within for f in fields if f.within}
    names = (
        dict(Division.objects.filter(code__in=division_codes).values_list("code", "name"))
        if division_codes
        else {}
    )
    for spec in fields:
        value = data.get(spec.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.required:
                problems.add("此项必填", field=spec.name)
            continue
        try:
            cleaned[spec.name] = _clean_value(spec, value, set(names))
        except ValidationError as exc:
            problems.add(exc.messages[0], field=spec.name)
    by_name = {f.name: f for f in fields}
    for spec in fields:
        if spec.name not in cleaned:
            continue
        reason = _out_of_bounds(spec, cleaned, by_name, names)
        if reason:
            problems.add(reason, field=spec.name)
    problems.raise_if_any("form_invalid", "申请表填写有误")
    return cleaned


def _out_of_bounds(
    spec: FormField,
    cleaned: dict[str, Any],
    fields: dict[str, FormField],
    divisions: dict[str, str],
) -> str:
    """Why an answer breaks its field's area or date bounds ("" if it does not)."""
    value = cleaned[spec.name]
    if spec.within and not str(value).startswith(division_code_prefix(spec.within)):
        return f"须在{divisions.get(spec.within, spec.within)}行政区域内"
    for bound, later in ((spec.not_before, True), (spec.not_after, False)):
        if not bound:
            continue
        limit, label = _date_bound(bound, cleaned, fields)
        if limit is None:
            continue
        day = dt.date.fromisoformat(value)
        if later and day < limit:
            return f"不能早于{label}"
        if not later and day > limit:
            return f"不能晚于{label}"
    return ""


def _date_bound(
    bound: str, cleaned: dict[str, Any], fields: dict[str, FormField]
) -> tuple[dt.date | None, str]:
    if bound.startswith("field:"):
        other = bound.split(":", 1)[1]
        if other not in cleaned:
            return None, ""
        return dt.date.fromisoformat(cleaned[other]), f"“{fields[other].label}”"
    today = timezone.localdate()
    offset = int(bound[5:] or 0)
    day = today + dt.timedelta(days=offset)
    return day, "今天" if offset == 0 else f"{day.year}年{day.month}月{day.day}日"


def _clean_value(spec: FormField, value: Any, divisions: set[str]) -> Any:
    text = str(value).strip()
    if spec.max_length and len(text) > spec.max_length:
        raise ValidationError(f"不能超过 {spec.max_length} 个字")
    match spec.type:
        case FieldType.TEXT | FieldType.TEXTAREA | FieldType.ADDRESS:
            return text
        case FieldType.DATE:
            try:
                return dt.date.fromisoformat(text).isoformat()
            except ValueError as exc:
                raise ValidationError("日期格式应为 YYYY-MM-DD") from exc
        case FieldType.NUMBER:
            try:
                number = Decimal(text)
            except InvalidOperation as exc:
                raise ValidationError("应为数字") from exc
            if spec.min is not None and number < spec.min:
                raise ValidationError(f"不能小于 {spec.min}")
            if spec.max is not None and number > spec.max:
                raise ValidationError(f"不能大于 {spec.max}")
            return str(number)
        case FieldType.CHOICE:
            if text not in spec.choices:
                raise ValidationError(f"应为以下之一：{'、'.join(spec.choices)}")
            return text
        case FieldType.DIVISION:
            if not re.fullmatch(r"\d{6}(\d{3}){0,2}", text) or text not in divisions:
                raise ValidationError("行政区划代码不存在")
            return text
        case FieldType.ID_NUMBER:
            return normalize_id_number(text)
        case FieldType.USCC:
            return normalize_uscc(text)
        case FieldType.PHONE:
            return normalize_mobile(text)
    raise ValidationError("未知的字段类型")
