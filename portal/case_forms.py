"""Forms of applying and of a case's pages, shared by the portal and the window console.

They only collect what a person typed or chose and hand it to a `cases.services` function;
every rule (what a valid answer is, which material may be missing, until when) is checked
there, and its problems are put back on the form with `portal.forms.add_problems`. So the
application form generated from an item version's fields accepts any text, marks the
required ones for the browser, and lets `catalog.form_schema` say what is wrong.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest

from cases.materials import add_material
from cases.materials import use_foreign_licence as use_foreign_licence_service
from cases.models import Case
from catalog.form_schema import FieldType, FormField
from catalog.models import ItemVersion, Material
from core.actors import Actor
from core.exceptions import RuleViolation
from core.models import Division
from federation.directory import is_federated

UPLOAD_ACCEPT = ".pdf,.jpg,.jpeg,.png,.ofd,application/pdf,image/jpeg,image/png"
UPLOAD_HINT = "PDF、JPEG、PNG 或 OFD 文件，单个不超过 {mb} MB。"


def upload_hint() -> str:
    return UPLOAD_HINT.format(mb=settings.CASE_UPLOAD_MAX_BYTES // (1024 * 1024))


def _division_choices() -> list[tuple[str, Any]]:
    """Every division as select choices, grouped by province (the province first)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for division in Division.objects.order_by("code"):
        province = division.province_code
        if division.code == province:
            names[province] = division.name
            groups.setdefault(province, []).insert(0, (division.code, f"{division.name}（全省）"))
        else:
            groups.setdefault(province, []).append((division.code, division.name))
    return [("", "请选择"), *((names.get(code, code), options) for code, options in groups.items())]


def _widget(spec: FormField, *, own_data: bool, divisions: list[tuple[str, Any]]) -> forms.Widget:
    """The input that fits a field type. `own_data`: the person typing is the applicant,
    so the browser may offer their saved phone number and address (WCAG 1.3.5)."""
    attrs: dict[str, Any] = {}
    if spec.required:
        attrs["required"] = True
    if spec.max_length:
        attrs["maxlength"] = spec.max_length
    match spec.type:
        case FieldType.TEXTAREA:
            return forms.Textarea(attrs={**attrs, "rows": 4})
        case FieldType.DATE:
            return forms.DateInput(attrs={**attrs, "type": "date"}, format="%Y-%m-%d")
        case FieldType.NUMBER:
            if spec.min is not None:
                attrs["min"] = str(spec.min)
            if spec.max is not None:
                attrs["max"] = str(spec.max)
            return forms.NumberInput(attrs={**attrs, "step": "any"})
        case FieldType.CHOICE:
            return forms.Select(
                attrs=attrs, choices=[("", "请选择"), *((c, c) for c in spec.choices)]
            )
        case FieldType.DIVISION:
            return forms.Select(attrs=attrs, choices=divisions)
        case FieldType.ID_NUMBER:
            return forms.TextInput(
                attrs={**attrs, "maxlength": 18, "autocomplete": "off", "spellcheck": "false"}
            )
        case FieldType.USCC:
            return forms.TextInput(
                attrs={
                    **attrs,
                    "maxlength": 18,
                    "autocomplete": "off",
                    "spellcheck": "false",
                    "autocapitalize": "characters",
                }
            )
        case FieldType.PHONE:
            return forms.TextInput(
                attrs={
                    **attrs,
                    "type": "tel",
                    "inputmode": "numeric",
                    "maxlength": 14,
                    "autocomplete": "tel" if own_data else "off",
                }
            )
        case FieldType.ADDRESS:
            return forms.TextInput(
                attrs={**attrs, "autocomplete": "street-address" if own_data else "off"}
            )
    return forms.TextInput(attrs=attrs)


class ApplicationForm(forms.Form):
    """The application form (申请表) of an item version, generated from its fields.

    Every field is optional here: `cases.services.start_case` validates the answers against
    the version's schema and names each wrong field; `required` only lets the browser and
    a screen reader say which must be filled in."""

    def __init__(
        self,
        *args: Any,
        fields: list[FormField],
        own_data: bool = True,
        fixed: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", "form")
        super().__init__(*args, **kwargs)
        self.specs = fields
        fixed = fixed or {}
        divisions = _division_choices() if any(f.type == FieldType.DIVISION for f in fields) else []
        for spec in fields:
            self.fields[spec.name] = forms.CharField(
                label=spec.label,
                required=False,
                help_text="取自申请人的实名信息，不可修改。" if spec.name in fixed else spec.help,
                widget=_widget(spec, own_data=own_data, divisions=divisions),
                disabled=spec.name in fixed,
                initial=fixed.get(spec.name),
            )

    def answers(self) -> dict[str, str]:
        """What was typed, for the service to validate (empty answers left out)."""
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items() if value not in ("", None)}


class ApplicantForm(forms.Form):
    """Whom a portal user applies for (themself, or a company they are an agent of), and
    where they live: the place decides whether the case is 跨省、区域、省内通办 or local."""

    applicant = forms.ChoiceField(label="申请人", widget=forms.RadioSelect)
    place = forms.ChoiceField(
        label="常住地",
        help_text="您目前居住（企业为经营所在地）的县（市、区）。据此确定适用跨省通办、区域通办、省内通办或本地办理。",
        error_messages={
            "required": "请选择常住地",
            "invalid_choice": "请选择列出的行政区划",
        },
    )

    def __init__(
        self, *args: Any, choices: list[tuple[str, str]], place: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["applicant"]
        field.choices = choices
        field.error_messages["required"] = "请选择申请人"
        field.error_messages["invalid_choice"] = "请选择列出的申请人"
        if len(choices) == 1:
            self.initial.setdefault("applicant", choices[0][0])
        where: Any = self.fields["place"]
        where.choices = _division_choices()
        self.initial.setdefault("place", place)

    def chosen_place(self) -> Division:
        return Division.objects.get(code=self.cleaned_data["place"])


class DeliveryForm(forms.Form):
    """送达方式: how the result reaches the applicant — among the ways the item offers — and,
    for post, where to. The service checks it again (`cases.services.clean_delivery`)."""

    # Not required: a form posted without it (an old page, a script) gets the item's
    # default way (`clean_delivery`).
    delivery_method = forms.ChoiceField(label="送达方式", widget=forms.RadioSelect, required=False)
    delivery_address = forms.CharField(
        label="邮寄地址",
        required=False,
        max_length=200,
        help_text="选择邮寄送达时必填：省、市、区县及详细地址。加密保存，仅用于寄送办理结果。",
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    delivery_mobile = forms.CharField(
        label="收件人手机号码",
        required=False,
        max_length=20,
        help_text="选择邮寄送达时填写；不填则使用申请人实名登记的手机号码。",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args: Any, version: ItemVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = [m for m in version.result_delivery or [] if m in Case.DeliveryMethod.values]
        choices = [(m, Case.DeliveryMethod(m).label) for m in offered] or [
            (Case.DeliveryMethod.ELECTRONIC, Case.DeliveryMethod.ELECTRONIC.label)
        ]
        field: Any = self.fields["delivery_method"]
        field.choices = choices
        field.error_messages["invalid_choice"] = "请选择事项提供的送达方式"
        self.initial.setdefault("delivery_method", choices[0][0])

    def delivery(self) -> dict[str, str]:
        """The `delivery` of `services.apply`."""
        data = self.cleaned_data
        return {
            "method": data["delivery_method"],
            "address": data.get("delivery_address", ""),
            "mobile": data.get("delivery_mobile", ""),
        }


class MaterialUploadForm(forms.Form):
    """One optional file per material; for the window, a note of where its paper is kept."""

    def __init__(
        self, *args: Any, materials: list[Material], paper_custody: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.materials = materials
        self.paper_custody = paper_custody
        for material in materials:
            self.fields[f"material_{material.pk}"] = forms.FileField(
                label=f"上传“{material.name}”",
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
                error_messages={"invalid": "上传的不是文件", "empty": "文件为空"},
            )
            if paper_custody:
                self.fields[f"custody_{material.pk}"] = forms.CharField(
                    label=f"“{material.name}”纸质材料保管情况",
                    required=False,
                    max_length=200,
                    help_text="如：原件已核验退还；复印件 1 份存窗口档案柜。",
                )

    def rows(self) -> list[tuple[Material, forms.BoundField, forms.BoundField | None]]:
        return [
            (
                m,
                self[f"material_{m.pk}"],
                self[f"custody_{m.pk}"] if self.paper_custody else None,
            )
            for m in self.materials
        ]

    def upload(self, case: Case, actor: Actor) -> int:
        """Hand each chosen file to `cases.materials.add_material`; a refused file gets its
        reason on its field. Files are independent: one refused file does not undo the
        others. A refusal of the whole request (not allowed here: 403, not in this state:
        409) is raised."""
        uploaded = 0
        for material, upload, custody in self.files_chosen():
            content = upload.read(settings.CASE_UPLOAD_MAX_BYTES + 1)
            try:
                add_material(
                    case,
                    material,
                    content=content,
                    name=upload.name or "",
                    actor=actor,
                    paper_custody=custody,
                )
            except RuleViolation as exc:
                if exc.status in {401, 403, 409}:
                    raise
                self.add_error(f"material_{material.pk}", exc.message)
            else:
                uploaded += 1
        return uploaded

    def files_chosen(self) -> list[tuple[Material, Any, str]]:
        """(material, uploaded file, custody note) for each file chosen."""
        data = getattr(self, "cleaned_data", {})
        chosen = []
        for material in self.materials:
            upload = data.get(f"material_{material.pk}")
            if upload:
                chosen.append((material, upload, data.get(f"custody_{material.pk}", "") or ""))
        return chosen


class ForeignLicenceForm(forms.Form):
    """免提交 with a licence another province issued: its QR content or identifier."""

    material = forms.TypedChoiceField(label="代替的材料", coerce=int)
    token = forms.CharField(
        label="电子证照二维码内容或电子证照标识",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="扫描或粘贴外省证照二维码的内容（以 TB1. 开头），或填写电子证照标识。"
        "将向签发节点核验证照状态和持证人。",
        error_messages={"required": "请填写电子证照二维码内容或标识"},
    )

    def __init__(self, *args: Any, materials: list[Material], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "foreign")
        super().__init__(*args, **kwargs)
        self.materials = materials
        self.fields["material"].choices = [(m.pk, m.name) for m in materials]  # type: ignore[attr-defined]

    def chosen(self) -> Material:
        return next(m for m in self.materials if m.pk == self.cleaned_data["material"])


def foreign_licence_form(case: Case) -> ForeignLicenceForm | None:
    """The 外省电子证照 form, on a federated node, for an item some licence can stand in for."""
    materials = licence_replaceable(list(case.item_version.materials.all()))
    return ForeignLicenceForm(materials=materials) if materials and is_federated() else None


# Refusals of a licence that concern the whole request, not the licence or the material.
WHOLE_REQUEST_CODES = {"action_forbidden", "actor_required", "materials_closed"}


def use_foreign_licence(request: HttpRequest, case: Case) -> None:
    """The 外省电子证照 form posted (portal or console): `cases.materials.use_foreign_licence`,
    with a clear message either way; a refusal of the whole request is raised."""
    form = ForeignLicenceForm(
        request.POST, materials=licence_replaceable(list(case.item_version.materials.all()))
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"外省电子证照：{error}")
        return
    material = form.chosen()
    try:
        used = use_foreign_licence_service(
            case, material, form.cleaned_data["token"], actor=request.user
        )
    except RuleViolation as exc:
        if exc.code in WHOLE_REQUEST_CODES:
            raise
        messages.error(request, f"“{material.name}”未能以外省电子证照代替：{exc.message}")
        return
    messages.success(
        request,
        f"“{material.name}”已以外省电子证照 {used.foreign_licence} 代替（已向签发节点核验有效），无需上传。",
    )


def licence_replaceable(materials: list[Material]) -> list[Material]:
    """The materials an electronic licence may stand in for."""
    return [m for m in materials if m.licence_type_id is not None]


class DeficiencyForm(forms.Form):
    """容缺受理: which 容缺-allowed materials will come later, and by when."""

    materials = forms.TypedMultipleChoiceField(
        label="暂缺的材料",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="只能选择标为“容缺后补”的材料。",
        error_messages={"required": "请选择暂缺的材料", "invalid_choice": "请选择列出的材料"},
    )
    due_date = forms.DateField(
        label="承诺补齐日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"required": "请填写承诺补齐日期", "invalid": "日期格式应为 YYYY-MM-DD"},
    )

    def __init__(
        self, *args: Any, materials: list[Material], limit_hint: str, **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "deficiency")
        super().__init__(*args, **kwargs)
        field: Any = self.fields["materials"]
        field.choices = [(m.pk, m.name) for m in materials]
        self.fields["due_date"].help_text = limit_hint
        self.by_pk = {m.pk: m for m in materials}

    def chosen(self) -> list[Material]:
        return [self.by_pk[pk] for pk in self.cleaned_data.get("materials", [])]


class NotificationCommitmentForm(forms.Form):
    """告知承诺: the applicant confirms having read the notice and signs."""

    agree = forms.BooleanField(
        label="本人已阅读上述告知内容，承诺符合条件、所填信息真实，愿意承担不实承诺的法律责任。",
        error_messages={"required": "请勾选确认后再签署告知承诺书"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "notification")
        super().__init__(*args, **kwargs)


class NoteForm(forms.Form):
    """A note that goes with an action (撤回的理由, a reviewer's 说明)."""

    note = forms.CharField(
        label="说明",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
