"""Parsers of the portal's query strings, the 长辈模式 switch, and the sign-in and
registration forms.

The forms only check that a value is one the catalog knows and turn it into the arguments
of a selector; an unknown value becomes a Chinese message and that condition is dropped,
so a stale or mistyped link still shows a useful page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, UsernameField

from accounts.models import AgentAction
from catalog.models import Audience, Mode, Scope
from catalog.selectors import BrowseFacets, ItemFilter
from core.exceptions import RuleViolation
from core.models import Division, Organisation

ANY = ("", "不限")

# Citizens choose between the two applicant kinds; "both" stays accepted in links.
AUDIENCE_CHOICES = [ANY, (Audience.PERSON.value, "自然人"), (Audience.COMPANY.value, "法人")]


def _choice(label: str, choices: list[Any], what: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        required=False,
        error_messages={"invalid_choice": f"未知的{what}“%(value)s”，已忽略该条件。"},
    )


class FilterForm(forms.Form):
    """Common behaviour: the Chinese messages of the fields that did not parse."""

    def problems(self) -> list[str]:
        return [str(message) for errors in self.errors.values() for message in errors]

    def valid_values(self) -> dict[str, Any]:
        """The values that parsed (empty ones left out); call after `is_valid()`."""
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v}

    @property
    def is_filtered(self) -> bool:
        """Whether any condition that parsed narrows the listing."""
        return bool(self.valid_values())


class ItemFilterForm(FilterForm):
    """The filters of 事项查询 (/items/)."""

    q = forms.CharField(
        label="关键词",
        required=False,
        max_length=100,
        widget=forms.SearchInput,
        help_text="可输入事项名称、关键词、事项编码，或拼音首字母（如 hkqy 查找“户口迁移”）。",
        error_messages={"max_length": "关键词不能超过 %(limit_value)d 个字，已忽略。"},
    )
    theme = _choice("主题", [], "主题")
    audience = _choice(
        "服务对象", [*AUDIENCE_CHOICES, (Audience.BOTH.value, "自然人、法人")], "服务对象"
    )
    # Any existing department or division is a valid filter (it may simply have no items);
    # the selects offer those that have items.
    organisation = forms.CharField(label="实施部门", required=False, widget=forms.Select)
    division = forms.CharField(label="所属区划", required=False, widget=forms.Select)
    scope = _choice("通办范围", [ANY, *Scope.choices], "通办范围")
    mode = _choice("业务模式", [ANY, *Mode.choices], "业务模式")

    def __init__(self, data: Any, *, facets: BrowseFacets) -> None:
        super().__init__(data)
        self._facets = facets
        fields: dict[str, Any] = self.fields
        fields["theme"].choices = [ANY, *((t.code, t.name) for t in facets.themes)]
        fields["organisation"].widget.choices = [
            ANY,
            *((o.uscc, o.name) for o in facets.organisations),
        ]
        fields["division"].widget.choices = [ANY, *_grouped_divisions(facets)]
        # "both" is a valid filter value but not one worth offering in the select.
        fields["audience"].widget.choices = AUDIENCE_CHOICES

    def clean_organisation(self) -> str:
        uscc = self.cleaned_data["organisation"].upper()
        offered = {o.uscc for o in self._facets.organisations}
        if uscc and uscc not in offered and not Organisation.objects.filter(uscc=uscc).exists():
            raise forms.ValidationError(f"未知的部门“{uscc}”，已忽略该条件。")
        return uscc

    def clean_division(self) -> str:
        code = self.cleaned_data["division"]
        offered = {d.code for d in self._facets.divisions}
        if code and code not in offered and not Division.objects.filter(code=code).exists():
            raise forms.ValidationError(f"未知的行政区划“{code}”，已忽略该条件。")
        return code

    def item_filter(self) -> ItemFilter:
        """The selector filter of the values that parsed."""
        values = self.valid_values()
        return ItemFilter(
            q=values.get("q"),
            theme=values.get("theme"),
            audience=values.get("audience"),
            organisation=values.get("organisation"),
            division=values.get("division"),
            scope=values.get("scope"),
            mode=values.get("mode"),
        )


def _grouped_divisions(facets: BrowseFacets) -> list[tuple[str, Any]]:
    """Divisions as select choices grouped by province: the province itself first."""
    groups: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for division in facets.divisions:
        province = division.province_code
        if division.code == province:
            names[province] = division.name
            groups.setdefault(province, []).insert(0, (division.code, f"{division.name}（全省）"))
        else:
            groups.setdefault(province, []).append((division.code, division.name))
    return [(names.get(code, code), options) for code, options in groups.items()]


class ZoneFilterForm(FilterForm):
    """The filters inside a zone (通办专区): theme and audience."""

    theme = _choice("主题", [], "主题")
    audience = _choice("服务对象", AUDIENCE_CHOICES, "服务对象")

    def __init__(self, data: Any, *, facets: BrowseFacets) -> None:
        super().__init__(data)
        fields: dict[str, Any] = self.fields
        fields["theme"].choices = [ANY, *((t.code, t.name) for t in facets.themes)]


class RegionalZoneFilterForm(ZoneFilterForm):
    """The filters of the regional zone: theme, audience, and the member province whose
    items to show (`?node=<node id>`; this node's own id for its own items)."""

    node = _choice("成员省份", [], "成员省份")

    def __init__(self, data: Any, *, facets: BrowseFacets, members: list[tuple[str, str]]) -> None:
        super().__init__(data, facets=facets)
        fields: dict[str, Any] = self.fields
        fields["node"].choices = [ANY, *members]

    def node_filter(self) -> str | None:
        """The selector's `node`: None for every member, "" for this node's own items."""
        node = self.valid_values().get("node")
        if node is None:
            return None
        return "" if node == settings.NODE_ID else str(node)


class ListDiffForm(FilterForm):
    """Which two versions of a list to compare (版本比较), as `?from=N&to=M`.

    Without either, the two newest published versions are compared."""

    # Python cannot name a field `from`; the query string and the page use the short names.
    _PARAMS = {"from_version": "from", "to_version": "to"}

    _MESSAGES = {"invalid_choice": "该清单没有已发布的第 %(value)s 版。"}
    from_version = forms.TypedChoiceField(
        label="原版本", coerce=int, required=False, empty_value=None, error_messages=_MESSAGES
    )
    to_version = forms.TypedChoiceField(
        label="新版本", coerce=int, required=False, empty_value=None, error_messages=_MESSAGES
    )

    def __init__(self, data: Any, *, numbers: list[int]) -> None:
        if "from" not in data and "to" not in data and len(numbers) >= 2:
            data = {"from": str(numbers[1]), "to": str(numbers[0])}
        super().__init__(data)
        fields: dict[str, Any] = self.fields
        for name in self._PARAMS:
            fields[name].choices = [(n, f"第 {n} 版") for n in numbers]

    def add_prefix(self, field_name: str) -> str:
        return self._PARAMS.get(field_name, field_name)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        old, new = cleaned.get("from_version"), cleaned.get("to_version")
        if self.errors:
            return cleaned
        if (old is None) != (new is None):
            raise forms.ValidationError("请同时选择原版本和新版本。")
        if old is not None and old == new:
            raise forms.ValidationError("请选择两个不同的版本进行比较。")
        return cleaned


class ElderModeForm(forms.Form):
    """The 长辈模式 switch: on or off, and the page to go back to."""

    elder_mode = forms.ChoiceField(choices=[("1", "开启"), ("0", "关闭")])
    next = forms.CharField(required=False, max_length=2000)


# Accounts ----------------------------------------------------------------------------------


class LoginForm(AuthenticationForm):
    """Sign-in for citizens (公民身份号码) and staff (username), throttled by django-axes."""

    username = UsernameField(
        label="账号",
        max_length=150,
        help_text="个人用户请输入公民身份号码；工作人员请输入工作账号。",
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": "账号或密码不正确。请注意区分大小写；连续输错 %(limit)s 次，账号将在本机锁定 %(minutes)s 分钟。",
        "inactive": "该账号已停用，请联系管理员或拨打 12345。",
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].error_messages["required"] = "请输入账号"
        self.fields["password"].error_messages["required"] = "请输入密码"

    def get_invalid_login_error(self) -> forms.ValidationError:
        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={
                "limit": settings.AXES_FAILURE_LIMIT,
                "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            },
        )


class RegisterForm(forms.Form):
    """Self-registration of a natural person; the rules are checked by
    accounts.services.register_citizen, which this form only feeds."""

    name = forms.CharField(
        label="姓名",
        max_length=30,
        help_text="与居民身份证上的姓名一致。",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label="公民身份号码",
        max_length=18,
        help_text="18 位，最后一位可能是 X。注册后用它登录。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    mobile = forms.CharField(
        label="手机号码",
        max_length=14,
        help_text="用于接收办件进度短信。",
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "numeric"}
        ),
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        help_text="至少 8 位，不要使用过于常见的密码。",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="再次输入密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = f"请填写{field.label}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, again = cleaned.get("password"), cleaned.get("password_again")
        if first and again and first != again:
            self.add_error("password_again", "两次输入的密码不一致")
        return cleaned


class VerifyTokenForm(forms.Form):
    """/verify/ without a QR scanner: the token, or the whole link the QR code holds."""

    t = forms.CharField(
        label="证照二维码中的核验令牌或核验链接",
        max_length=4000,
        widget=forms.Textarea(
            attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off", "required": True}
        ),
        help_text="令牌以“TB1.”开头；也可以粘贴扫描二维码得到的完整链接。",
        error_messages={
            "required": "请粘贴核验令牌或核验链接",
            "max_length": "内容过长（超过 %(limit_value)d 个字符），不是本平台的核验令牌",
        },
    )

    def clean_t(self) -> str:
        """The token itself: a pasted link gives its `t` parameter."""
        value = "".join(str(self.cleaned_data["t"]).split())
        if "://" in value or value.startswith("/"):
            found = parse_qs(urlsplit(value).query).get("t")
            if not found:
                raise forms.ValidationError("链接中没有核验令牌（t 参数）")
            value = found[0].strip()
        return value


def violation_context(exc: RuleViolation) -> dict[str, Any]:
    """A service's refusal as a page shows it (portal/includes/rule_violation.html)."""
    return {"message": exc.message, "problems": [p.reason for p in exc.problems]}


def add_problems(
    form: forms.Form, exc: RuleViolation, *, fields: dict[str, str] | None = None
) -> None:
    """Put a service's problems on the form: each under the field it names (after renaming
    through `fields`), the rest — or the message itself — as errors of the whole form."""
    fields = fields or {}
    placed = False
    for problem in exc.problems:
        name = fields.get(problem.field or "", problem.field or "")
        if name in form.fields:
            form.add_error(name, problem.reason)
            placed = True
        else:
            form.add_error(None, problem.reason)
            placed = True
    if not placed:
        name = fields.get(f"code:{exc.code}", "")
        form.add_error(name if name in form.fields else None, exc.message)


class CompanyRegisterForm(forms.Form):
    """企业注册 by its legal representative; accounts.agents.register_company_online
    checks the code with the company registry."""

    uscc = forms.CharField(
        label="统一社会信用代码",
        max_length=18,
        help_text="18 位，见营业执照。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    name = forms.CharField(label="企业名称", max_length=128, help_text="与营业执照上的名称一致。")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = f"请填写{field.label}"


class AgentForm(forms.Form):
    """经办人授权: who, for which items and actions, until when
    (accounts.agents.authorise_agent checks it all)."""

    agent_name = forms.CharField(label="经办人姓名", max_length=30)
    agent_id_number = forms.CharField(
        label="经办人公民身份号码",
        max_length=18,
        help_text="经办人须已在本平台注册个人账号。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    items = forms.CharField(
        label="授权事项编码",
        required=False,
        help_text="每行一个事项编码；留空表示全部事项。",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    actions = forms.MultipleChoiceField(
        label="授权操作",
        choices=AgentAction.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一项授权操作"},
    )
    valid_until = forms.DateField(
        label="有效期至",
        help_text="授权在该日 24 时终止，最长三年。",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "请填写有效期", "invalid": "请按 YYYY-MM-DD 填写日期"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages.setdefault("required", f"请填写{field.label}")
        self.fields["agent_name"].error_messages["required"] = "请填写经办人姓名"
        self.fields["agent_id_number"].error_messages["required"] = "请填写经办人公民身份号码"

    def item_codes(self) -> list[str]:
        raw = self.cleaned_data.get("items") or ""
        return [code.strip() for code in raw.replace(",", "\n").splitlines() if code.strip()]
