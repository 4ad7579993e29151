"""Forms of the hotline pages: taking a call, a citizen's request online, filters, the
case look-up. Business rules stay in hotline.services; these only parse."""

from __future__ import annotations

from typing import Any

from django import forms

from core.models import Division
from hotline.models import DispatchCategory, TicketType


def _divisions() -> list[tuple[str, str]]:
    return [("", "请选择")] + [
        (d.code, f"{d.name}（{d.code}）") for d in Division.objects.order_by("code")
    ]


def _categories() -> list[tuple[str, str]]:
    return [("", "暂不分类")] + [(c.code, c.name) for c in DispatchCategory.objects.all()]


class CallForm(forms.Form):
    """接听来电: what the agent records while on the phone."""

    type = forms.ChoiceField(label="诉求类型", choices=TicketType.choices)
    urgent = forms.BooleanField(label="接诉即办（水电气暖等紧急诉求，按小时计时）", required=False)
    anonymous = forms.BooleanField(label="匿名（不登记来电人信息）", required=False)
    caller_name = forms.CharField(label="来电人姓名", max_length=64, required=False)
    caller_phone = forms.CharField(label="联系电话", max_length=20, required=False)
    division = forms.ChoiceField(label="发生地")
    address = forms.CharField(label="详细地址", max_length=200, required=False)
    title = forms.CharField(label="标题", max_length=100, required=False)
    description = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.ChoiceField(label="诉求分类", required=False)
    case_number = forms.CharField(label="关联办件编号", max_length=40, required=False)
    item = forms.CharField(label="关联事项编码", max_length=64, required=False)
    organisation = forms.CharField(
        label="被反映单位（统一社会信用代码）", max_length=18, required=False
    )
    attachment = forms.FileField(label="附件（PDF、JPEG、PNG 或 OFD）", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = _divisions()  # type: ignore[attr-defined]
        self.fields["category"].choices = _categories()  # type: ignore[attr-defined]


class RequestForm(forms.Form):
    """我要反映: a signed-in citizen's request online."""

    type = forms.ChoiceField(label="诉求类型", choices=TicketType.choices)
    division = forms.ChoiceField(label="发生地")
    address = forms.CharField(label="详细地址", max_length=200, required=False)
    description = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 5}))
    case_number = forms.CharField(label="相关办件编号（如有）", max_length=40, required=False)
    attachment = forms.FileField(label="附件（PDF、JPEG、PNG 或 OFD）", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].choices = _divisions()  # type: ignore[attr-defined]


class CaseLookupForm(forms.Form):
    """查询本人办件: the case number and the ID number the caller gives on the phone."""

    number = forms.CharField(label="办件编号", max_length=40)
    id_number = forms.CharField(label="申请人身份证件号码（或统一社会信用代码）", max_length=18)


class SearchForm(forms.Form):
    q = forms.CharField(label="检索知识库（中文词语或拼音首字母）", max_length=100, required=False)


def add_refusal(form: forms.Form, exc: Any, fields: dict[str, str] | None = None) -> None:
    """A service's refusal on the form: each problem under the field it names."""
    fields = fields or {}
    for problem in exc.problems or []:
        name = fields.get(problem.field or "", (problem.field or "").split(".")[0])
        form.add_error(name if name in form.fields else None, problem.reason)
    if not exc.problems:
        form.add_error(None, exc.message)
