"""Counter consultations (咨询辅导): recorded by a clerk assigned to the window, the asker's
data encrypted and masked, listed in the console for the hall's staff only, with a
constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.exceptions import RuleViolation
from halls.models import Consultation
from halls.services import record_consultation
from tests import builders
from tests.portal.html import assert_accessible_structure, text


@pytest.fixture
def desk():
    centre = builders.organisation("大连市政务服务中心")
    version = builders.item("开具户籍类证明", org=centre, scopes=())
    clerk = builders.staff("window_clerk", centre)
    window = builders.at_window(clerk, version)
    return centre, version, clerk, window


def test_a_clerk_records_a_consultation_with_masked_contact(client, desk):
    _, version, clerk, window = desk
    client.force_login(clerk)
    page = client.get("/console/consultations/")
    assert page.status_code == 200
    assert_accessible_structure(page.content)
    assert 'href="/console/consultations/"' in page.content.decode()
    response = client.post(
        "/console/consultations/",
        {
            "consultation-window": window.pk,
            "consultation-item": version.item.code,
            "consultation-asker_name": "张三丰",
            "consultation-asker_contact": "13800138000",
            "consultation-question": "需要带什么材料？我的电话13800138000",
            "consultation-answer": "居民身份证原件。",
            "consultation-outcome": "answered",
        },
    )
    assert response.status_code == 302, text(response.content)
    consultation = Consultation.objects.get()
    assert consultation.item == version.item and consultation.item_name == "开具户籍类证明"
    assert consultation.asker_contact == "13800138000"  # encrypted at rest, clear in memory
    assert "13800138000" not in consultation.question
    page = text(client.get("/console/consultations/").content)
    assert "张**" in page and "138****8000" in page and "张三丰" not in page
    assert "13800138000" not in page and "当场解答" in page


def test_bad_input_is_refused_on_its_field_and_nothing_written(client, desk):
    _, _, clerk, window = desk
    client.force_login(clerk)
    response = client.post(
        "/console/consultations/",
        {
            "consultation-window": window.pk,
            "consultation-asker_contact": "12345",
            "consultation-question": "问",
            "consultation-outcome": "applied",
        },
    )
    assert response.status_code == 422
    page = text(response.content)
    assert "手机号码应为11位" in page and "请填写办件编号" in page
    assert not Consultation.objects.exists()


def test_only_a_clerk_assigned_to_the_window_records(desk):
    centre, _, _, window = desk
    stranger = builders.staff("window_clerk", centre)
    with pytest.raises(RuleViolation) as refused:
        record_consultation(window, question="问", outcome="answered", actor=stranger)
    assert refused.value.code == "window_clerk_not_assigned"
    assert not Consultation.objects.exists()


def test_the_list_is_for_the_halls_staff_with_constant_queries(
    client, desk, django_assert_num_queries
):
    centre, _, clerk, window = desk
    record_consultation(window, question="问一", outcome="answered", actor=clerk)
    admin = builders.staff("org_admin", centre)
    outsider = builders.staff("org_admin", builders.organisation("沈阳市公安局", "210100"))
    client.force_login(outsider)
    assert "问一" not in text(client.get("/console/consultations/").content)
    client.force_login(admin)
    with CaptureQueriesContext(connection) as small:
        assert "问一" in text(client.get("/console/consultations/").content)
    for n in range(5):
        other = builders.staff("window_clerk", centre)
        builders.at_window(other)
        record_consultation(window, question=f"问{n}", outcome="follow_up", actor=clerk)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get("/console/consultations/").status_code == 200
