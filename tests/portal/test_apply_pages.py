"""Applying online through the portal's pages: the generated form, uploads, 容缺受理,
告知承诺, submitting; a company agent; and what is refused, with nothing written."""

from __future__ import annotations

import re

from accounts.models import Notification
from accounts.services import record_false_commitment
from cases.commitments import deficiency_due_window
from cases.models import Case, CaseMaterial, Commitment
from core.actors import SystemActor
from core.calendar import chinese_date
from tests import builders
from tests.case_pages import (
    apply_online,
    case_number,
    pdf,
    png_named_pdf,
    working_days_ahead,
)
from tests.portal.html import assert_accessible_structure, structure, text

ANSWERS = {"reason": "夫妻投靠", "phone": "13900001111"}


def test_the_guide_offers_online_application_for_the_version_in_force(client, world):
    code = world.version.item.code
    guide = client.get(f"/items/{code}/").content.decode()
    assert f'href="/items/{code}/apply/"' in guide and "在线申请" in guide
    window_only = builders.item("出生医学证明补发", application_channels=["window"])
    guide = client.get(f"/items/{window_only.item.code}/").content.decode()
    assert "/apply/" not in guide and "须到窗口办理" in guide
    unpublished = builders.item("未发布事项", publish=False)
    client.force_login(world.applicant.user)
    response = client.get(f"/items/{unpublished.item.code}/apply/")
    assert response.status_code == 404
    assert "当前没有生效的版本" in text(response.content)
    assert client.get("/items/NOPE/apply/").status_code == 404


def test_applying_needs_a_signed_in_account(client, world):
    response = client.get(f"/items/{world.version.item.code}/apply/")
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/items/{world.version.item.code}/apply/"


def test_every_field_type_has_its_input_and_a_label(client, world):
    client.force_login(world.applicant.user)
    response = client.get(f"/items/{world.every_field.item.code}/apply/")
    assert response.status_code == 200
    s = assert_accessible_structure(response.content)
    html = response.content.decode()
    by_name = {c.get("name"): c for c in s.controls}
    assert (
        by_name["form-purpose"]["type"] == "text" and by_name["form-purpose"]["maxlength"] == "50"
    )
    assert '<textarea name="form-detail"' in html
    assert by_name["form-move_date"]["type"] == "date"
    assert by_name["form-members"]["type"] == "number"
    assert (by_name["form-members"]["min"], by_name["form-members"]["max"]) == ("0", "10")
    assert '<select name="form-relation"' in html and '<option value="配偶">配偶</option>' in html
    assert '<select name="form-from_division"' in html and '<optgroup label="辽宁省">' in html
    assert '<option value="210200">大连市</option>' in html
    assert by_name["form-contact_id"]["maxlength"] == "18"
    assert by_name["form-employer"]["maxlength"] == "18"
    assert by_name["form-phone"]["type"] == "tel" and by_name["form-phone"]["autocomplete"] == "tel"
    assert by_name["form-address"]["autocomplete"] == "street-address"
    # Required fields say so to the browser and to screen readers; optional ones do not.
    assert "required" in by_name["form-purpose"] and "required" not in by_name["form-detail"]
    for spec in world.every_field.form_fields:
        assert f'for="id_form-{spec["name"]}"' in html and spec["label"] in html


def test_a_citizen_applies_online_with_uploads_and_sees_the_case(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(
        client,
        world.version,
        ANSWERS,
        files={
            "居民户口簿": pdf("hukou.pdf"),
            "结婚证": pdf("marriage.pdf", "2"),
            "无违法犯罪记录证明": pdf("record.pdf", "3"),
        },
    )
    case = Case.objects.get(number=number)
    assert case.state == "submitted" and case.channel == "online"
    assert case.form_data == {"reason": "夫妻投靠", "phone": "13900001111"}
    assert sorted(case.materials.values_list("original_name", flat=True)) == [
        "hukou.pdf",
        "marriage.pdf",
        "record.pdf",
    ]
    # One announcement of the case, its title naming the item, so a person with several
    # cases knows which one; and the invitation to rate the application (好差评).
    mine = Notification.objects.filter(recipient=world.applicant.user)
    message = mine.get(link__startswith="/my/cases/")
    assert message.title == f"待受理：{world.version.name}（{number}）"
    assert mine.filter(link__startswith="/ratings/rate/").count() == 1

    listing = client.get("/my/cases/")
    assert number in listing.content.decode() and "待受理" in text(listing.content)
    detail = client.get(f"/my/cases/{number}/")
    assert detail.status_code == 200
    assert_accessible_structure(detail.content)
    page = text(detail.content)
    for expected in (
        "待受理",
        "办理进度",
        "提交申请",
        "提交材料",
        "办理期限",
        "尚未受理",
        "hukou.pdf",
        "目前无需您办理任何事项",
        "撤回申请",
    ):
        assert expected in page, expected
    # The applicant's own answers are shown in full.
    assert "13900001111" in page


def test_each_step_page_is_accessible(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    for step in ("form", "materials", "commitments", "submit"):
        response = client.get(f"/my/cases/{number}/{step}/")
        assert response.status_code == 200, step
        assert_accessible_structure(response.content)
        assert 'aria-current="step"' in response.content.decode()
    confirm = text(client.get(f"/my/cases/{number}/submit/").content)
    assert "还缺少 3 份必要材料" in confirm and "居民户口簿" in confirm


def test_the_draft_form_can_be_corrected_before_submission(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    page = client.get(f"/my/cases/{number}/form/").content.decode()
    assert 'value="夫妻投靠"' in page
    response = client.post(f"/my/cases/{number}/form/", {"form-reason": "投靠配偶"})
    assert response.status_code == 302
    assert Case.objects.get(number=number).form_data == {"reason": "投靠配偶"}
    assert Case.objects.count() == 1


def test_form_errors_are_shown_per_field_and_nothing_is_written(client, world):
    client.force_login(world.applicant.user)
    code = world.version.item.code
    response = client.post(
        f"/items/{code}/apply/",
        {
            "applicant": "person",
            "place": "210200",
            "form-reason": "",
            "form-contact_id": "210202",
            "form-phone": "1",
        },
    )
    assert response.status_code == 422
    page = text(response.content)
    # The summary names each field once, then why; under the field, only why.
    assert "迁移原因：此项必填" in page and "公民身份号码应为18位" in page
    assert "“迁移原因”" not in page
    assert_accessible_structure(response.content)
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and 'aria-describedby="id_form-reason_error"' in html
    assert not Case.objects.exists()


def test_a_double_submission_makes_one_case(client, world):
    client.force_login(world.applicant.user)
    code = world.version.item.code
    data = {
        "applicant": "person",
        "place": "210200",
        "idempotency_key": "k" * 32,
        "form-reason": "投靠",
    }
    first = client.post(f"/items/{code}/apply/", data)
    second = client.post(f"/items/{code}/apply/", data)
    assert case_number(first) == case_number(second)
    assert Case.objects.count() == 1


def test_uploads_are_checked_by_content_and_each_file_on_its_own(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    hukou, marriage = world.material("居民户口簿"), world.material("结婚证")
    response = client.post(
        f"/my/cases/{number}/materials/",
        {f"material_{hukou.pk}": png_named_pdf(), f"material_{marriage.pk}": pdf()},
    )
    assert response.status_code == 422
    page = text(response.content)
    assert "文件名为 .pdf 但内容是 PNG 文件" in page and "已上传 1 份材料" in page
    assert list(CaseMaterial.objects.values_list("requirement__name", flat=True)) == ["结婚证"]


def test_submitting_without_the_required_materials_says_which(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    response = client.post(f"/my/cases/{number}/submit/")
    assert response.status_code == 422
    page = text(response.content)
    assert "申请材料不齐，缺少" in page and "缺少必要材料“居民户口簿”" in page
    assert Case.objects.get(number=number).state == "draft"


def test_deficiency_acceptance_through_the_pages(client, world):
    client.force_login(world.applicant.user)
    marriage = world.material("结婚证")
    number = apply_online(client, world.version, ANSWERS, submit=False)
    page = text(client.get(f"/my/cases/{number}/commitments/").content)
    assert "容缺受理" in page and "结婚证" in page and "告知书" in page
    window = deficiency_due_window(Case.objects.get(number=number))
    hint = f"可选 {chinese_date(window.earliest)} 至 {chinese_date(window.latest)}（含）"
    assert hint in page  # before any error
    # A date beyond the promised limit is refused with the limit named.
    too_late = working_days_ahead(60)
    response = client.post(
        f"/my/cases/{number}/commitments/",
        {
            "kind": "deficiency",
            "deficiency-materials": [marriage.pk],
            "deficiency-due_date": too_late.isoformat(),
        },
    )
    assert response.status_code == 422
    assert f"承诺补齐日期{hint}" in text(response.content)
    assert not Commitment.objects.exists()
    # A required material cannot be chosen at all.
    response = client.post(
        f"/my/cases/{number}/commitments/",
        {
            "kind": "deficiency",
            "deficiency-materials": [world.material("居民户口簿").pk],
            "deficiency-due_date": working_days_ahead(3).isoformat(),
        },
    )
    assert response.status_code == 422 and "请选择列出的材料" in text(response.content)

    due = working_days_ahead(3)
    client.post(
        f"/my/cases/{number}/commitments/",
        {
            "kind": "deficiency",
            "deficiency-materials": [marriage.pk],
            "deficiency-due_date": due.isoformat(),
        },
    )
    commitment = Commitment.objects.get()
    assert commitment.kind == "deficiency" and commitment.due_date == due
    page = text(client.get(f"/my/cases/{number}/commitments/").content)
    assert "已签署容缺受理承诺书" in page
    client.post(
        f"/my/cases/{number}/materials/",
        {
            f"material_{world.material('居民户口簿').pk}": pdf(),
            f"material_{world.material('无违法犯罪记录证明').pk}": pdf("r.pdf", "3"),
        },
    )
    assert client.post(f"/my/cases/{number}/submit/").status_code == 302
    detail = text(client.get(f"/my/cases/{number}/").content)
    assert "补齐容缺材料" in detail and "容缺后补（已签署承诺）" in detail
    # Supplying it later through the case page fulfils the commitment.
    response = client.post(
        f"/my/cases/{number}/materials/",
        {"materials": [marriage.pk], f"material_{marriage.pk}": pdf("late.pdf", "9")},
    )
    assert response.status_code == 302 and response["Location"] == f"/my/cases/{number}/"
    commitment.refresh_from_db()
    assert commitment.status == "fulfilled"


def test_notification_commitment_through_the_pages(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    page = text(client.get(f"/my/cases/{number}/commitments/").content)
    assert "承诺内容不实的，行政机关将依法撤销" in page and "无违法犯罪记录证明" in page
    response = client.post(f"/my/cases/{number}/commitments/", {"kind": "notification"})
    assert response.status_code == 422 and "请勾选确认后再签署告知承诺书" in text(response.content)
    assert not Commitment.objects.exists()
    response = client.post(
        f"/my/cases/{number}/commitments/", {"kind": "notification", "notification-agree": "on"}
    )
    assert response.status_code == 302
    assert Commitment.objects.get().kind == "notification"
    client.post(
        f"/my/cases/{number}/materials/",
        {
            f"material_{world.material('居民户口簿').pk}": pdf(),
            f"material_{world.material('结婚证').pk}": pdf("m.pdf", "2"),
        },
    )
    assert client.post(f"/my/cases/{number}/submit/").status_code == 302  # proof not needed
    detail = text(client.get(f"/my/cases/{number}/").content)
    assert "以告知承诺替代" in detail and "告知承诺书" in detail


def test_an_applicant_with_a_false_commitment_is_not_offered_either(client, world):
    record_false_commitment(
        person=world.applicant, case_number="LN-1", note="核查不实", actor=SystemActor("test")
    )
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    response = client.get(f"/my/cases/{number}/commitments/")
    page = text(response.content)
    assert "有尚未修复的虚假承诺记录" in page
    assert "签署容缺受理承诺书" not in page and "签署告知承诺书" not in page
    response = client.post(
        f"/my/cases/{number}/commitments/", {"kind": "notification", "notification-agree": "on"}
    )
    assert response.status_code == 422 and "不能适用告知承诺" in text(response.content)


def test_a_company_agent_applies_for_the_company(client, world):
    company_item = builders.item(
        "食品经营许可证核发", org=world.police, audience="both", scopes=(("in_province", "online"),)
    )
    client.force_login(world.agent)
    page = client.get(f"/items/{company_item.item.code}/apply/")
    html = page.content.decode()
    assert 'type="radio"' in html and "大连海洋科技有限公司" in html
    assert_accessible_structure(page.content)
    number = apply_online(
        client,
        company_item,
        {"reason": "新开门店"},
        applicant=f"company:{world.company.uscc}",
        files={"居民户口簿": pdf(), "结婚证": pdf("m.pdf", "2")},
    )
    case = Case.objects.get(number=number)
    assert case.applicant_company == world.company and case.applicant_person is None
    assert number in client.get("/my/cases/").content.decode()
    # Someone else's company cannot be chosen.
    client.force_login(world.applicant.user)
    response = client.post(
        f"/items/{company_item.item.code}/apply/",
        {"applicant": f"company:{world.company.uscc}", "place": "210200", "form-reason": "x"},
    )
    assert response.status_code == 422 and "请选择列出的申请人" in text(response.content)


def test_an_account_without_an_applicant_is_told_why(client, world):
    client.force_login(world.reviewer)
    response = client.get(f"/items/{world.version.item.code}/apply/")
    assert response.status_code == 403
    assert "请先完成实名注册" in text(response.content)
    assert_accessible_structure(response.content)


def test_withdrawing_before_acceptance(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(
        client,
        world.version,
        ANSWERS,
        files={
            "居民户口簿": pdf(),
            "结婚证": pdf("m.pdf", "2"),
            "无违法犯罪记录证明": pdf("r.pdf", "3"),
        },
    )
    response = client.post(f"/my/cases/{number}/actions/withdraw/", {"withdraw-note": "不办了"})
    assert response.status_code == 302
    assert Case.objects.get(number=number).state == "withdrawn"
    # Out of order now: a Chinese 409.
    response = client.post(f"/my/cases/{number}/actions/withdraw/")
    assert response.status_code == 409
    assert "办件当前状态为“已撤回”" in text(response.content)
    assert client.post(f"/my/cases/{number}/actions/approve/").status_code == 404


def test_cases_of_others_are_not_found(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    stranger = builders.person("路人甲")
    client.force_login(stranger.user)
    for url in (
        f"/my/cases/{number}/",
        f"/my/cases/{number}/materials/",
        f"/my/cases/{number}/submit/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "不存在或无权查看" in text(response.content)
    assert client.post(f"/my/cases/{number}/submit/").status_code == 404
    # Staff of the handling organisation see it in the console, not under 我的办件.
    client.force_login(world.reviewer)
    assert client.get(f"/my/cases/{number}/").status_code == 404
    assert number not in client.get("/my/cases/").content.decode()


def test_labels_of_the_apply_form_are_unique(client, world):
    client.force_login(world.applicant.user)
    html = client.get(f"/items/{world.every_field.item.code}/apply/").content.decode()
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert structure(html).tags.get("form", 0) >= 2  # the page's form and the header's


def test_the_step_bar_ticks_only_the_steps_that_are_done(client, world):
    client.force_login(world.applicant.user)
    number = apply_online(client, world.version, ANSWERS, submit=False)
    html = client.get(f"/my/cases/{number}/submit/").content.decode()
    bar = html[
        html.index('class="apply-steps"') : html.index("</ol>", html.index('class="apply-steps"'))
    ]
    done = re.findall(r'<li class="is-done"><a [^>]*>([^<]+)<', bar)
    assert done == ["填写申请表"]  # no material given yet: 上传材料 is not ticked
