"""Acting on a case in the console: the forms offered to each role, refusals as Chinese
messages with 403/409/422, special procedures, revealing personal data with a purpose,
容缺 result withheld, and 告知承诺 verification."""

from __future__ import annotations

from django.test import Client

from accounts.models import CreditRecord
from cases import commitments as case_commitments
from cases import engine
from cases.models import Case, ClockPause
from cases.services import supplement_due_window
from core.calendar import chinese_date
from core.models import PersonalDataAccess
from core.personal_data import mask_id_number
from tests import builders
from tests.case_pages import act, apply_online, pdf, submitted_case, working_days_ahead
from tests.portal.html import assert_accessible_structure, text

ALL_FILES = ("居民户口簿", "结婚证", "无违法犯罪记录证明")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_each_role_is_offered_its_own_actions(world):
    case = submitted_case(world)
    reviewer_page = text(logged_in(world.reviewer).get(f"/console/cases/{case.number}/").content)
    for label in ("受理", "不予受理", "一次性告知补正"):
        assert label in reviewer_page
    approver_page = text(logged_in(world.approver).get(f"/console/cases/{case.number}/").content)
    assert "当前状态（待受理）下没有您可以执行的操作" in approver_page
    admin_page = logged_in(world.org_admin).get(f"/console/cases/{case.number}/")
    assert admin_page.status_code == 200
    assert "当前状态（待受理）下没有您可以执行的操作" in text(admin_page.content)
    assert "查看完整信息" not in text(admin_page.content).replace("查看完整信息须说明用途", "")


def test_refusals_are_chinese_with_their_status(world):
    case = submitted_case(world)
    approver = logged_in(world.approver)
    response = act(approver, case.number, "accept")
    assert response.status_code == 403
    assert "无权执行“受理”" in text(response.content)
    assert_accessible_structure(response.content)
    response = act(approver, case.number, "approve")
    assert response.status_code == 409
    assert "办件当前状态为“待受理”" in text(response.content)
    reviewer = logged_in(world.reviewer)
    response = act(reviewer, case.number, "refuse_acceptance", note="")
    assert response.status_code == 422
    assert "“不予受理”须填写说明" in text(response.content)
    response = act(reviewer, case.number, "fly")
    assert response.status_code == 404 and "没有“fly”这个操作" in text(response.content)
    case.refresh_from_db()
    assert case.state == "submitted"


def test_a_supplement_request_needs_its_materials_and_a_due_date_in_the_limit(world):
    case = submitted_case(world)
    reviewer = logged_in(world.reviewer)
    window = supplement_due_window(case)
    hint = f"可选 {chinese_date(window.earliest)} 至 {chinese_date(window.latest)}（含）"
    page = reviewer.get(f"/console/cases/{case.number}/").content.decode()
    # The limit is shown under the field before any error, and the picker keeps to it.
    assert hint in text(page.encode())
    assert f'min="{window.earliest.isoformat()}" max="{window.latest.isoformat()}"' in page
    response = act(reviewer, case.number, "request_supplement", note="请补正")
    assert response.status_code == 422 and "请一次性列出需补正的全部材料" in text(response.content)
    hukou = world.material("居民户口簿")
    response = act(
        reviewer,
        case.number,
        "request_supplement",
        note="请补正",
        materials=[hukou.pk],
        due_date=working_days_ahead(60).isoformat(),
    )
    assert response.status_code == 422 and f"补正期限{hint}" in text(response.content)
    response = act(
        reviewer,
        case.number,
        "request_supplement",
        note="请补正",
        materials=[hukou.pk],
        due_date=working_days_ahead(3).isoformat(),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == "supplement_requested"


def test_a_special_procedure_pauses_the_clock_and_shows_it(world):
    case = submitted_case(world)
    reviewer = logged_in(world.reviewer)
    act(reviewer, case.number, "accept")
    act(reviewer, case.number, "start_review")
    page = reviewer.get(f"/console/cases/{case.number}/").content.decode()
    assert '<option value="实地核查">实地核查（5 个工作日）</option>' in page
    response = act(reviewer, case.number, "start_special_procedure", note="需实地核查住所")
    assert response.status_code == 422 and "该事项的特别程序为：实地核查" in text(response.content)
    response = act(
        reviewer,
        case.number,
        "start_special_procedure",
        note="需实地核查住所",
        procedure="实地核查",
    )
    assert response.status_code == 302
    pause = ClockPause.objects.get(case=case)
    assert pause.reason == "special_procedure" and pause.ended_on is None
    page = text(reviewer.get(f"/console/cases/{case.number}/").content)
    assert "暂停计时记录（共 1 次）" in page and "暂停中" in page and "特别程序" in page
    assert act(reviewer, case.number, "end_special_procedure").status_code == 302


def test_personal_data_is_revealed_only_with_a_purpose_and_the_read_is_logged(world):
    contact = builders.valid_id_number("19850505")
    citizen = logged_in(world.applicant.user)
    number = apply_online(
        citizen,
        world.version,
        {"reason": "投靠", "contact_id": contact, "phone": "13900001111"},
        files={name: pdf(f"{i}.pdf", name) for i, name in enumerate(ALL_FILES)},
    )
    reviewer = logged_in(world.reviewer)
    page = reviewer.get(f"/console/cases/{number}/").content.decode()
    assert contact not in page and mask_id_number(contact) in page and "139****1111" in page
    response = reviewer.post(f"/console/cases/{number}/reveal/", {"reveal-purpose": ""})
    assert response.status_code == 422 and "请说明查看用途" in text(response.content)
    assert not PersonalDataAccess.objects.exists()
    response = reviewer.post(
        f"/console/cases/{number}/reveal/", {"reveal-purpose": "联系申请人核实住址"}
    )
    assert response.status_code == 200
    assert contact in response.content.decode() and "13900001111" in response.content.decode()
    assert "本次查看已记入个人信息访问日志" in text(response.content)
    access = PersonalDataAccess.objects.get()
    assert access.actor == world.reviewer and access.purpose == "联系申请人核实住址"
    # Only for that response: the page is masked again afterwards.
    assert contact not in reviewer.get(f"/console/cases/{number}/").content.decode()
    # Staff not entitled are refused even if they post the form.
    admin = logged_in(world.org_admin)
    response = admin.post(f"/console/cases/{number}/reveal/", {"reveal-purpose": "好奇"})
    assert response.status_code == 403 and "无权查看完整个人信息" in text(response.content)
    assert PersonalDataAccess.objects.count() == 1


def test_the_result_is_withheld_until_deficient_materials_arrive(world):
    citizen = logged_in(world.applicant.user)
    marriage = world.material("结婚证")
    number = apply_online(
        citizen,
        world.version,
        {"reason": "投靠"},
        files={"居民户口簿": pdf(), "无违法犯罪记录证明": pdf("r.pdf", "r")},
        deficiency=([marriage], working_days_ahead(4)),
    )
    reviewer, approver = logged_in(world.reviewer), logged_in(world.approver)
    for who, action in ((reviewer, "accept"), (reviewer, "start_review"), (approver, "approve")):
        assert act(who, number, action).status_code == 302
    response = act(approver, number, "issue_result")
    assert response.status_code == 409
    assert "容缺材料尚未补齐，暂不发放办理结果" in text(response.content)
    citizen.post(
        f"/my/cases/{number}/materials/",
        {"materials": [marriage.pk], f"material_{marriage.pk}": pdf("late.pdf", "late")},
    )
    assert act(approver, number, "issue_result").status_code == 302


def test_notification_commitment_verified_false_revokes_the_decision(world):
    citizen = logged_in(world.applicant.user)
    number = apply_online(
        citizen,
        world.version,
        {"reason": "投靠"},
        files={"居民户口簿": pdf(), "结婚证": pdf("m.pdf", "m")},
        notification=True,
    )
    reviewer, approver = logged_in(world.reviewer), logged_in(world.approver)
    for who, action in ((reviewer, "accept"), (reviewer, "start_review"), (approver, "approve")):
        assert act(who, number, action).status_code == 302
    case = Case.objects.get(number=number)
    commitment = case.commitments.get()
    page = reviewer.get(f"/console/cases/{number}/")
    assert_accessible_structure(page.content)
    assert "告知承诺核查（期限" in text(page.content)
    url = f"/console/cases/{number}/commitments/{commitment.pk}/verification/"
    prefix = f"verify{commitment.pk}"
    response = reviewer.post(url, {f"{prefix}-truthful": "no"})
    assert response.status_code == 422 and "请填写核查说明" in text(response.content)
    foreign = logged_in(world.foreign_reviewer)
    assert foreign.post(url, {f"{prefix}-truthful": "no", f"{prefix}-note": "x"}).status_code == 404
    response = reviewer.post(
        url, {f"{prefix}-truthful": "no", f"{prefix}-note": "经查询无犯罪记录库，承诺不实"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == "revoked"
    assert CreditRecord.objects.filter(person=world.applicant).exists()
    detail = text(citizen.get(f"/my/cases/{number}/").content)
    assert "已撤销" in detail and "核查不实" in detail


def test_a_second_verification_is_a_chinese_409(world):
    citizen = logged_in(world.applicant.user)
    number = apply_online(
        citizen,
        world.version,
        {"reason": "投靠"},
        files={"居民户口簿": pdf(), "结婚证": pdf("m.pdf", "m")},
        notification=True,
    )
    case = Case.objects.get(number=number)
    for user, action in (
        (world.reviewer, "accept"),
        (world.reviewer, "start_review"),
        (world.approver, "approve"),
    ):
        case = engine.take_action(case, action, actor=user)
    commitment = case.commitments.get()
    case_commitments.record_verification(
        commitment, truthful=True, note="属实", actor=world.reviewer
    )
    reviewer = logged_in(world.reviewer)
    prefix = f"verify{commitment.pk}"
    response = reviewer.post(
        f"/console/cases/{number}/commitments/{commitment.pk}/verification/",
        {f"{prefix}-truthful": "yes", f"{prefix}-note": "再核一次"},
    )
    assert response.status_code == 409 and "该承诺当前没有待核查的任务" in text(response.content)


def test_only_the_receiving_window_records_materials(world):
    case = submitted_case(world)
    reviewer = logged_in(world.reviewer)
    response = reviewer.post(
        f"/console/cases/{case.number}/materials/",
        {f"material_{world.material('居民户口簿').pk}": pdf()},
    )
    assert response.status_code == 409
    assert "当前状态下不能提交材料" in text(response.content)
