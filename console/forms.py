"""Forms of the console: the inbox filters, one form per workflow action, revealing
personal data, 告知承诺 verification, window intake, and revoking licences and making and
revoking seals.

They collect input for one service call each; what is allowed is the services'
to decide (and they say why not, in Chinese).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from cases.engine import PROCESS
from cases.models import Case
from cases.payloads import widget_of
from cases.payment import fee_unit, listed_fees
from cases.services import DATE_WINDOWS
from cases.workflow import CASE_PAYLOADS
from core.models import Organisation
from core.process import state_choices
from core.signing import Algorithm
from core.workflow import ActionSpec
from licences.models import Licence
from payments.models import PaymentMethod
from portal.forms import ANY, FilterForm
from portal.templatetags.portal_format import time_limit

OPEN, FINISHED, EVERY = "", "finished", "all"


class InboxFilterForm(FilterForm):
    """The inbox filters: state, deadline warning, open or finished."""

    status = forms.ChoiceField(
        label="办理情况",
        choices=[(OPEN, "办理中"), (FINISHED, "已办结"), (EVERY, "全部")],
        required=False,
        error_messages={"invalid_choice": "未知的办理情况“%(value)s”，已忽略该条件。"},
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        error_messages={"invalid_choice": "未知的状态“%(value)s”，已忽略该条件。"},
    )
    warning = forms.ChoiceField(
        label="期限预警",
        choices=[ANY, *Case.Warning.choices],
        required=False,
        error_messages={"invalid_choice": "未知的预警级别“%(value)s”，已忽略该条件。"},
    )

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        field: Any = self.fields["state"]
        field.choices = [ANY, *state_choices(PROCESS)]

    @property
    def is_filtered(self) -> bool:
        values = self.valid_values()
        return bool(values.get("state") or values.get("warning") or values.get("status"))


# Acting on a case -------------------------------------------------------------------------

STEP_ROWS = 3


class StepResultForm(forms.Form):
    """The result of one 多地联办 step, recorded by its organisation."""

    passed = forms.TypedChoiceField(
        label="办理结果",
        choices=[("1", "已完成"), ("0", "未通过")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    note = forms.CharField(
        label="办理意见", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, step_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"step{step_id}")
        super().__init__(*args, **kwargs)


def _max_length(info: Any) -> int | None:
    return next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)


class ActionForm(forms.Form):
    """One workflow action: its note, and the fields of its payload schema
    (cases/payloads.py), each asked the way its `widget` says. The same schema checks the
    input in the engine, for this form and for the API alike."""

    note = forms.CharField(
        label="说明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    # 核定收费: the rows of the item's fees, for the page to group (see _add_fee_rows).
    fee_rows: list[dict[str, Any]]

    def __init__(
        self, *args: Any, action: ActionSpec, label: str, case: Case, **kwargs: Any
    ) -> None:
        self.fee_rows = []
        kwargs.setdefault("prefix", action.name)
        super().__init__(*args, **kwargs)
        self.action = action
        self.label = label
        if action.note_required:
            self.fields["note"].widget.attrs["required"] = True
        self.schema = CASE_PAYLOADS[action.payload] if action.payload else None
        for name in self.schema.model_fields if self.schema else []:
            self._add_payload_field(name, case)

    def _add_payload_field(self, name: str, case: Case) -> None:
        version = case.item_version
        assert self.schema is not None
        info = self.schema.model_fields[name]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        label, help_text = info.title or name, str(extra.get("help", ""))
        widget = widget_of(self.schema, name)
        if widget == "item_materials":
            self.fields[name] = forms.TypedMultipleChoiceField(
                label=label,
                coerce=int,
                required=False,
                choices=[(m.pk, m.name) for m in version.materials.all()],
                widget=forms.CheckboxSelectMultiple,
                help_text=help_text,
            )
        elif widget == "date":
            attrs = {"type": "date"}
            window = extra.get("window")
            if isinstance(window, str):  # the dates allowed, shown before any error
                allowed = DATE_WINDOWS[window](case)
                attrs |= {"min": allowed.earliest.isoformat(), "max": allowed.latest.isoformat()}
                help_text = f"{help_text}{allowed.hint}"
            self.fields[name] = forms.DateField(
                label=label,
                required=False,
                widget=forms.DateInput(attrs=attrs, format="%Y-%m-%d"),
                input_formats=["%Y-%m-%d"],
                error_messages={"invalid": "日期格式应为 YYYY-MM-DD"},
                help_text=help_text,
            )
        elif widget == "special_procedure":
            procedures = version.special_procedures or []
            self.fields[name] = forms.ChoiceField(
                label=label,
                required=False,
                choices=[
                    ("", "请选择"),
                    *(
                        (
                            str(p.get("name", "")),
                            f"{p.get('name', '')}（{time_limit(p.get('limit'), p.get('unit'))}）",
                        )
                        for p in procedures
                    ),
                ],
                help_text=help_text,
            )
        elif widget == "text":
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=_max_length(info),
                help_text=help_text,
            )
        elif widget == "steps":
            self._add_step_rows()
        elif widget == "item_fees":
            self._add_fee_rows(case)
        else:
            raise ValueError(f"payload field {name!r} has no known widget ({widget!r})")

    def _add_fee_rows(self, case: Case) -> None:
        """核定收费: one row per fee the item version lists — applies, quantity, amount."""
        for n, fee in enumerate(listed_fees(case.item_version), start=1):
            name, unit = str(fee.get("name", "")), fee_unit(fee)
            self.fields[f"fee{n}_apply"] = forms.BooleanField(
                label=f"{name}（{f'{unit} 元/项' if unit is not None else '无固定金额'}）",
                required=False,
            )
            self.fields[f"fee{n}_quantity"] = forms.IntegerField(
                label=f"{name} 数量",
                required=False,
                min_value=1,
                max_value=9999,
                initial=1,
                error_messages={"invalid": "数量应为整数", "min_value": "数量至少为 1"},
            )
            self.fields[f"fee{n}_amount"] = forms.DecimalField(
                label=f"{name} 核定金额（元）",
                required=False,
                min_value=Decimal("0.01"),
                max_digits=10,
                decimal_places=2,
                help_text="" if unit is None else "有固定金额的，按单价×数量计收，可不填。",
                error_messages={"invalid": "金额应为数字（元）", "min_value": "金额须大于零"},
            )
            self.fee_rows.append(
                {
                    "name": name,
                    "basis": str(fee.get("basis", "")),
                    "apply": self[f"fee{n}_apply"],
                    "quantity": self[f"fee{n}_quantity"],
                    "amount": self[f"fee{n}_amount"],
                }
            )

    def _add_step_rows(self) -> None:
        organisations = [("", "请选择")] + [
            (o.uscc, f"{o.name}{'（其他节点）' if o.node else ''}")
            for o in Organisation.objects.order_by("node", "division__code", "name")
        ]
        for n in range(1, STEP_ROWS + 1):
            self.fields[f"step{n}_order"] = forms.IntegerField(
                label=f"环节 {n} 顺序",
                required=False,
                min_value=1,
                max_value=20,
                initial=n,
                help_text="顺序相同的环节并行办理。",
            )
            self.fields[f"step{n}_name"] = forms.CharField(
                label=f"环节 {n} 名称", required=False, max_length=64
            )
            self.fields[f"step{n}_organisation"] = forms.ChoiceField(
                label=f"环节 {n} 承办机构", required=False, choices=organisations
            )

    @property
    def grave(self) -> bool:
        return self.action.grave

    def service_data(self) -> dict[str, Any]:
        """The payload of `take_action` for this action: the fields given."""
        cleaned = self.cleaned_data
        data: dict[str, Any] = {}
        if self.schema is None:
            return data
        for name in self.schema.model_fields:
            widget = widget_of(self.schema, name)
            if widget == "item_fees":
                data[name] = [
                    {
                        "fee": row["name"],
                        "quantity": cleaned.get(f"fee{n}_quantity") or 1,
                        **(
                            {"amount": str(cleaned[f"fee{n}_amount"])}
                            if cleaned.get(f"fee{n}_amount") is not None
                            else {}
                        ),
                    }
                    for n, row in enumerate(self.fee_rows, start=1)
                    if cleaned.get(f"fee{n}_apply")
                ]
            elif widget == "steps":
                data[name] = [
                    {
                        "order": cleaned.get(f"step{n}_order"),
                        "name": cleaned.get(f"step{n}_name", ""),
                        "organisation": cleaned.get(f"step{n}_organisation", ""),
                    }
                    for n in range(1, STEP_ROWS + 1)
                    if cleaned.get(f"step{n}_name") or cleaned.get(f"step{n}_organisation")
                ]
            elif cleaned.get(name) not in (None, "", []):
                value = cleaned[name]
                data[name] = list(value) if isinstance(value, list) else value
        return data


class RevealForm(forms.Form):
    """查看完整信息: staff state why they need the application form in clear."""

    purpose = forms.CharField(
        label="查看用途",
        max_length=200,
        help_text="如：核对申请人身份；联系申请人补正材料。本次查看将记入个人信息访问日志。",
        error_messages={"required": "请说明查看用途"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "reveal")
        super().__init__(*args, **kwargs)


class ShipmentForm(forms.Form):
    """寄递: book a parcel of the case's paper with the carrier."""

    purpose = forms.ChoiceField(label="寄递内容")
    contents = forms.CharField(label="内件", max_length=200, help_text="如：申请材料原件 3 份")
    recipient_name = forms.CharField(label="收件人或收件机构", max_length=64)
    recipient_mobile = forms.CharField(label="收件人手机号码", max_length=11)
    recipient_address = forms.CharField(label="收件地址", max_length=200)
    to_window = forms.BooleanField(
        label="寄往机构窗口（收件人为对方机构）", required=False, initial=True
    )
    sender_mobile = forms.CharField(label="本窗口联系手机号码", max_length=11)
    sender_address = forms.CharField(label="寄件地址", max_length=200)

    def __init__(self, *args: Any, purposes: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "shipment")
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = purposes  # type: ignore[attr-defined]


class VerificationForm(forms.Form):
    """核查 of a 告知承诺: the finding and what it rests on."""

    truthful = forms.TypedChoiceField(
        label="核查结论",
        choices=[("yes", "承诺属实"), ("no", "承诺不实（将撤销决定并记入信用记录）")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择核查结论"},
    )
    note = forms.CharField(
        label="核查说明",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="写明核查方式（数据共享、书面核查或实地核查）和所见事实。",
        error_messages={"required": "请填写核查说明"},
    )

    def __init__(self, *args: Any, commitment_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"verify{commitment_id}")
        super().__init__(*args, **kwargs)


# Window intake ------------------------------------------------------------------------------


class IntakeSearchForm(FilterForm):
    MINE, ALL = "mine", "all"

    received = forms.ChoiceField(
        label="范围",
        required=False,
        choices=[(MINE, "我的窗口入驻的事项"), (ALL, "全部现行事项")],
        help_text="只能在入驻该事项的窗口收件。",
    )
    q = forms.CharField(
        label="事项名称或编码",
        required=False,
        max_length=100,
        widget=forms.SearchInput,
        help_text="可输入事项名称、关键词、编码或拼音首字母。",
    )


class IntakeApplicantForm(forms.Form):
    """The window the clerk takes the case in at (among those they are assigned to), the
    applicant they apply for, and whether it is 代办帮办."""

    window = forms.TypedChoiceField(
        label="收件窗口",
        coerce=int,
        help_text="只能在入驻该事项的窗口收件。",
        error_messages={"required": "请选择收件窗口", "invalid_choice": "请选择您所在的窗口"},
    )
    kind = forms.ChoiceField(
        label="申请人类型",
        choices=[("person", "自然人"), ("company", "法人")],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择申请人类型"},
    )
    name = forms.CharField(
        label="姓名",
        required=False,
        max_length=30,
        help_text="与居民身份证一致。",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    id_number = forms.CharField(
        label="公民身份号码",
        required=False,
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    mobile = forms.CharField(
        label="手机号码",
        required=False,
        max_length=14,
        help_text="选填；留存后申请人可收到办件进度短信。",
        widget=forms.TextInput(
            attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "off"}
        ),
    )
    company_name = forms.CharField(
        label="法人名称",
        required=False,
        max_length=128,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    uscc = forms.CharField(
        label="统一社会信用代码",
        required=False,
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    legal_representative = forms.CharField(
        label="法定代表人",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    assisted = forms.BooleanField(
        label="代办帮办",
        required=False,
        help_text="为老年人、残疾人等办事不便的申请人代为填写和办理；将在办件上标注。",
    )

    PERSON_FIELDS = ("name", "id_number", "mobile")
    COMPANY_FIELDS = ("company_name", "uscc", "legal_representative")
    # Where a service's refusal about the applicant is shown, by the refusal's code prefix.
    ERROR_FIELDS = {
        "window": "window",
        "id_number": "id_number",
        "mobile": "mobile",
        "uscc": "uscc",
        "person_name_mismatch": "name",
        "real_name_mismatch": "name",
    }

    def __init__(
        self,
        *args: Any,
        audience: str,
        windows: list[tuple[Any, bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        """`windows`: the clerk's windows, each with whether it receives the item; the
        first that does is preselected."""
        kwargs.setdefault("prefix", "applicant")
        super().__init__(*args, **kwargs)
        windows = windows or []
        choice: Any = self.fields["window"]
        choice.choices = [
            (w.pk, f"{w.hall.name} {w.label}" + ("" if receives else "（未入驻本事项）"))
            for w, receives in windows
        ]
        preselected = next((w for w, receives in windows if receives), None)
        if preselected is not None or len(windows) == 1:
            self.initial.setdefault("window", (preselected or windows[0][0]).pk)
        self.windows = {w.pk: w for w, _ in windows}
        kinds: Any = self.fields["kind"]
        if audience == "person":
            kinds.choices = [("person", "自然人")]
        elif audience == "company":
            kinds.choices = [("company", "法人")]
        if len(kinds.choices) == 1:
            kind = kinds.choices[0][0]
            self.initial.setdefault("kind", kind)
            required = ("name", "id_number") if kind == "person" else self.COMPANY_FIELDS
            for name in required:
                self.fields[name].widget.attrs["required"] = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        required = {
            "person": ("name", "id_number"),
            "company": ("company_name", "uscc", "legal_representative"),
        }.get(kind or "", ())
        for name in required:
            if not cleaned.get(name):
                self.add_error(name, f"请填写{self.fields[name].label}")
        return cleaned

    def on_behalf_of(self) -> dict[str, Any]:
        """The `on_behalf_of` of `services.apply`."""
        data = self.cleaned_data
        if data["kind"] == "company":
            return {
                "kind": "company",
                "name": data["company_name"],
                "uscc": data["uscc"],
                "legal_representative": data["legal_representative"],
            }
        return {
            "kind": "person",
            "name": data["name"],
            "id_number": data["id_number"],
            "mobile": data["mobile"],
        }

    def chosen_window(self) -> Any:
        """The window chosen (a `halls.models.Window` of the clerk's)."""
        return self.windows[self.cleaned_data["window"]]

    def field_for(self, code: str) -> str | None:
        return next((f for prefix, f in self.ERROR_FIELDS.items() if code.startswith(prefix)), None)

    def person_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.PERSON_FIELDS]

    def company_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.COMPANY_FIELDS]


# Licences and seals -------------------------------------------------------------------------


class LicenceFilterForm(FilterForm):
    """The filter of the console's licence list: the stored status."""

    status = forms.ChoiceField(
        label="状态",
        choices=[ANY, *Licence.Status.choices],
        required=False,
        error_messages={"invalid_choice": "未知的状态“%(value)s”，已忽略该条件。"},
    )


class RevokeLicenceForm(forms.Form):
    """撤销电子证照: the reason, which verifiers and the holder will read."""

    reason = forms.CharField(
        label="撤销原因",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "required": True}),
        help_text="撤销原因会在核验结果中公开显示，并记入持证人可见的使用与核验记录。",
        error_messages={"required": "请填写撤销原因", "max_length": "撤销原因不能超过 200 个字"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "revoke")
        super().__init__(*args, **kwargs)


class SealForm(forms.Form):
    """制作新印章: its name, algorithm and validity."""

    name = forms.CharField(
        label="印章名称",
        required=False,
        max_length=100,
        help_text="留空则为“机构名称＋电子印章”；专用章可写全称，如“大连市公安局户籍专用章”。",
        error_messages={"max_length": "印章名称不能超过 100 个字"},
    )
    algorithm = forms.ChoiceField(
        label="签名算法",
        choices=[
            (Algorithm.SM2.value, "SM2-SM3（国密算法，推荐）"),
            (Algorithm.ED25519.value, "Ed25519"),
        ],
        initial=Algorithm.SM2.value,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择签名算法", "invalid_choice": "请选择列出的签名算法"},
    )
    years = forms.TypedChoiceField(
        label="有效期",
        choices=[(n, f"{n} 年") for n in (1, 2, 3, 5, 10)],
        coerce=int,
        initial=5,
        error_messages={"required": "请选择有效期", "invalid_choice": "请选择列出的有效期"},
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"seal-org{organisation_id}")
        super().__init__(*args, **kwargs)
        self.organisation_id = organisation_id


class RevokeSealForm(forms.Form):
    """吊销印章: the reason."""

    reason = forms.CharField(
        label="吊销原因",
        max_length=200,
        widget=forms.TextInput(attrs={"required": True}),
        help_text="如：密钥可能泄露；机构更名；印章停用。",
        error_messages={"required": "请填写吊销原因", "max_length": "吊销原因不能超过 200 个字"},
    )

    def __init__(self, *args: Any, seal_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"revoke-seal{seal_id}")
        super().__init__(*args, **kwargs)
        self.seal_id = seal_id


# Counter consultations (咨询辅导) --------------------------------------------------------------


class ConsultationForm(forms.Form):
    """A consultation at one of the clerk's windows (`halls.services.record_consultation`
    checks it again)."""

    window = forms.TypedChoiceField(
        label="接待窗口", coerce=int, error_messages={"required": "请选择接待窗口"}
    )
    item = forms.CharField(
        label="咨询事项编码",
        required=False,
        max_length=64,
        help_text="选填；可在“窗口收件”中查到事项编码。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    item_name = forms.CharField(
        label="咨询事项名称",
        required=False,
        max_length=200,
        help_text="没有事项编码时填写，如“外省事项”。",
    )
    asker_name = forms.CharField(
        label="咨询人姓名",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    asker_contact = forms.CharField(
        label="联系电话",
        required=False,
        max_length=14,
        help_text="选填；加密保存，列表中遮蔽显示。",
        widget=forms.TextInput(
            attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "off"}
        ),
    )
    question = forms.CharField(
        label="咨询内容",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写咨询内容"},
    )
    answer = forms.CharField(label="答复", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.ChoiceField(
        label="结果",
        choices=[("", "请选择")],
        error_messages={"required": "请选择咨询结果"},
    )
    case_number = forms.CharField(
        label="受理办件编号",
        required=False,
        max_length=40,
        help_text="当场受理的，填写办件编号。",
    )

    def __init__(
        self, *args: Any, windows: list[Any], outcomes: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "consultation")
        super().__init__(*args, **kwargs)
        window: Any = self.fields["window"]
        window.choices = [(w.pk, f"{w.hall.name} {w.label}") for w in windows]
        if len(windows) == 1:
            self.initial.setdefault("window", windows[0].pk)
        outcome: Any = self.fields["outcome"]
        outcome.choices = [("", "请选择"), *outcomes]
        self.windows = {w.pk: w for w in windows}

    def chosen_window(self) -> Any:
        return self.windows[self.cleaned_data["window"]]


class CounterPaymentForm(forms.Form):
    """窗口收费: how the applicant paid at the counter, and the POS slip's number."""

    method = forms.ChoiceField(
        label="收费方式",
        choices=[(PaymentMethod.CASH, "现金"), (PaymentMethod.POS, "POS 刷卡")],
        widget=forms.RadioSelect,
        initial=PaymentMethod.CASH,
    )
    reference = forms.CharField(
        label="POS 凭证号（参考号）",
        required=False,
        max_length=64,
        help_text="POS 刷卡时必填，见签购单。",
    )
