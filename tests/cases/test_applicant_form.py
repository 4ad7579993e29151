"""本人 is whoever applies: the fields that name the applicant come from their record.
Field rules of the guide hold at every entry: an area for a division, date bounds and a
date that must follow another."""

import datetime as dt

import pytest
from django.utils import timezone

from cases import services
from cases.models import Case
from core.exceptions import RuleViolation
from tests import builders

FORM = [
    {"name": "applicant_name", "label": "申请人姓名", "type": "text"},
    {"name": "id_number", "label": "公民身份号码", "type": "id_number"},
    {"name": "premises", "label": "经营场所所在地", "type": "division", "within": "220100"},
    {"name": "start", "label": "开始日期", "type": "date", "not_before": "today"},
    {"name": "end", "label": "结束日期", "type": "date", "not_before": "field:start"},
    {"name": "birth", "label": "出生日期", "type": "date", "required": False, "not_after": "today"},
]


@pytest.fixture
def version():
    return builders.item(
        org=builders.organisation("长春市市场监督管理局", "220100"), scopes=(), form_fields=FORM
    )


def _answers(**changes):
    today = timezone.localdate()
    return {
        "premises": "220100",
        "start": today.isoformat(),
        "end": (today + dt.timedelta(days=30)).isoformat(),
        **changes,
    }


def _apply(version, person, answers):
    return services.apply(
        actor=person.user,
        item_version=version,
        form_data=answers,
        place=version.item.division,
    )


def _refused(version, person, answers) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        _apply(version, person, answers)
    assert not Case.objects.exists()
    return refused.value


def test_the_applicant_fields_are_the_signed_in_persons_own(version):
    person = builders.person("赵六")
    case = _apply(version, person, _answers())
    assert case.form_data["applicant_name"] == "赵六"
    assert case.form_data["id_number"] == person.id_number


def test_another_persons_valid_id_is_not_accepted_as_oneself(version):
    person = builders.person("赵六")
    someone_else = builders.valid_id_number(region="220102")
    refused = _refused(version, person, _answers(id_number=someone_else))
    assert refused.code == "applicant_mismatch"
    assert [p.field for p in refused.problems] == ["id_number"]
    refused = _refused(version, person, _answers(applicant_name="钱七"))
    assert refused.code == "applicant_mismatch"
    # The same number typed in full-width digits is the same person.
    wide = person.id_number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert _apply(version, person, _answers(id_number=wide)).form_data["id_number"] == (
        person.id_number
    )


def test_a_division_outside_the_area_is_refused_on_its_field(version):
    refused = _refused(version, builders.person(), _answers(premises="210200"))
    assert refused.code == "form_invalid"
    assert [(p.field, p.reason) for p in refused.problems] == [("premises", "须在长春市行政区域内")]


def test_date_bounds_today_and_another_field(version):
    today = timezone.localdate()
    refused = _refused(
        version,
        builders.person(),
        _answers(
            start=(today - dt.timedelta(days=1)).isoformat(),
            end=(today - dt.timedelta(days=2)).isoformat(),
            birth=(today + dt.timedelta(days=1)).isoformat(),
        ),
    )
    reasons = {p.field: p.reason for p in refused.problems}
    assert reasons == {
        "start": "不能早于今天",
        "end": "不能早于“开始日期”",
        "birth": "不能晚于今天",
    }


def test_a_form_with_a_bound_on_a_missing_field_cannot_be_published():
    with pytest.raises(RuleViolation) as refused:
        builders.item(
            form_fields=[{"name": "end", "label": "结束", "type": "date", "not_before": "field:x"}]
        )
    assert "须引用本表的日期字段" in str(refused.value)
