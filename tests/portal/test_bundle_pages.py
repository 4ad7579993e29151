"""The 一件事 pages: the bundle list and guide, applying with the merged form, the bundle
case page (materials once, submit, one status and timeline, withdraw) and refusals in
Chinese."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import BundleCase
from tests import builders
from tests.portal.html import assert_accessible_structure, text

pytestmark = pytest.mark.django_db

FORM = {
    "form-baby_name": "刘小宝",
    "form-birth_date": "2024-05-01",
    "form-reason": "新生儿",
    "form-card": "是",
}


@pytest.fixture
def bundle():
    return builders.newborn_bundle()


def test_the_list_and_the_guide_show_stages_conditions_and_materials_once(client, bundle):
    page = client.get("/bundles/")
    assert page.status_code == 200
    assert_accessible_structure(page.content)
    assert "新生儿出生一件事" in text(page.content)
    guide = client.get("/bundles/newborn/")
    assert guide.status_code == 200
    assert_accessible_structure(guide.content)
    body = text(guide.content)
    assert "第 1 阶段 出生医学证明首次签发" in body
    assert "“是否申领社保卡”为“是”" in body
    assert "由“出生医学证明首次签发”办结后自动提供（免提交）" in body
    assert body.count("结婚证") == 1
    assert client.get("/bundles/none/").status_code == 404


def test_applying_uploading_and_submitting_on_the_pages(client, bundle):
    applicant = builders.person("刘芳")
    client.force_login(applicant.user)
    response = client.post("/bundles/newborn/apply/", {**FORM, "idempotency_key": "k1"})
    assert response.status_code == 302, text(response.content)
    number = BundleCase.objects.get().number
    assert response["Location"] == f"/my/bundles/{number}/"
    page = client.get(response["Location"])
    assert_accessible_structure(page.content)
    assert "草稿" in text(page.content)
    for key, marker in (("name:居民户口簿", "1"), ("name:结婚证", "2")):
        upload = SimpleUploadedFile(
            f"{marker}.pdf", builders.uploaded_pdf(marker), "application/pdf"
        )
        response = client.post(f"/my/bundles/{number}/materials/", {"key": key, "file": upload})
        assert response.status_code == 302
    response = client.post(f"/my/bundles/{number}/submit/")
    assert response.status_code == 302
    body = text(client.get(f"/my/bundles/{number}/").content)
    assert "办理中（正在办理：出生医学证明首次签发）" in body
    assert "待前序事项办结" in body
    assert "一件事：提交" in body
    assert "出生医学证明首次签发：提交材料" in body and "出生医学证明首次签发：提交" in body

    response = client.post(f"/my/bundles/{number}/withdraw/", {"withdraw-note": "不办了"})
    assert response.status_code == 302
    body = text(client.get(f"/my/bundles/{number}/").content)
    assert "已撤回" in body and "已取消" in body


def test_refusals_come_back_in_chinese_and_nothing_is_kept(client, bundle):
    applicant = builders.person("刘芳")
    client.force_login(applicant.user)
    response = client.post("/bundles/newborn/apply/", {**FORM, "form-birth_date": "昨天"})
    assert response.status_code == 422
    assert "日期格式应为 YYYY-MM-DD" in text(response.content)
    bundle_case = BundleCase.objects.none()
    assert not bundle_case.exists() and not BundleCase.objects.exists()
    response = client.post("/bundles/newborn/apply/", FORM)
    number = BundleCase.objects.get().number
    response = client.post(f"/my/bundles/{number}/submit/")
    assert response.status_code == 422
    assert "尚未提交：居民户口簿、结婚证" in text(response.content)


def test_my_bundles_in_a_fixed_number_of_queries(client, bundle):
    applicant = builders.person("刘芳")
    client.force_login(applicant.user)
    client.post("/bundles/newborn/apply/", {**FORM, "idempotency_key": "a"})
    client.get("/my/bundles/")
    with CaptureQueriesContext(connection) as one:
        assert client.get("/my/bundles/").status_code == 200
    client.post("/bundles/newborn/apply/", {**FORM, "idempotency_key": "b"})
    with CaptureQueriesContext(connection) as two:
        page = client.get("/my/bundles/")
    assert text(page.content).count("新生儿出生一件事") == 2
    assert len(two) == len(one)
