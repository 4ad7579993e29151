"""Window intake: a clerk applies on behalf of a person (代办帮办 flagged) or a company,
records the materials and where their paper is kept, checks identity and materials, and
submits (own organisation's item) or forwards (another organisation's: 异地代收代办)."""

from __future__ import annotations

import re

from django.test import Client

from accounts.models import Company, Person
from cases.models import Case, CaseMaterial
from core.personal_data import mask_id_number
from tests import builders
from tests.case_pages import act, case_number, pdf
from tests.portal.html import assert_accessible_structure, text


def intake(client: Client, version, applicant: dict, answers: dict, *, assisted: bool = False):
    page = client.get(f"/console/intake/{version.item.code}/")
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)
    # The window the page preselects: the clerk's window that receives the item.
    window = re.search(r'<option value="(\d+)" selected>', page.content.decode())
    data = {"idempotency_key": key, "applicant-window": window.group(1) if window else ""}
    data.update({f"applicant-{k}": v for k, v in applicant.items()})
    data.update({f"form-{k}": v for k, v in answers.items()})
    if assisted:
        data["applicant-assisted"] = "on"
    return client.post(f"/console/intake/{version.item.code}/", data)


def record_materials(client: Client, number: str, version) -> None:
    data = {}
    for material in version.materials.all():
        data[f"material_{material.pk}"] = pdf(f"{material.pk}.pdf", material.name)
        data[f"custody_{material.pk}"] = "原件已核验退还，复印件 1 份存窗口档案柜"
    response = client.post(f"/console/cases/{number}/materials/", data)
    assert response.status_code == 302, text(response.content)


def test_the_clerk_finds_the_item(client, world):
    client.force_login(world.clerk)
    response = client.get("/console/intake/?q=户口迁移")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    html = response.content.decode()
    assert f"/console/intake/{world.version.item.code}/" in html
    assert "本机构受理" in text(response.content)


def test_assisted_intake_for_an_elderly_person_of_the_clerks_own_organisation(client, world):
    client.force_login(world.clerk)
    page = client.get(f"/console/intake/{world.version.item.code}/")
    assert_accessible_structure(page.content)
    assert "代办帮办" in text(page.content)
    number_id = builders.valid_id_number("19420808", "110101")
    response = intake(
        client,
        world.version,
        {"kind": "person", "name": "刘奶奶", "id_number": number_id, "mobile": ""},
        {"reason": "随子女落户"},
        assisted=True,
    )
    assert response.status_code == 302, text(response.content)
    number = case_number(response)
    case = Case.objects.get(number=number)
    # At the owner's own counter: a local case (窗口受理), not one of the 通办 modes.
    assert case.assisted and case.channel == "window" and case.mode == "window"
    assert case.scope == "local" and case.place == world.police.division
    assert case.receiving_org == world.police == case.handling_org
    assert Person.objects.get(id_number_hash=case.applicant_person.id_number_hash).name == "刘奶奶"

    page = client.get(f"/console/cases/{number}/")
    html = page.content.decode()
    assert_accessible_structure(page.content)
    assert "代办帮办" in text(page.content) and "登记申请材料" in text(page.content)
    assert number_id not in html and mask_id_number(number_id) in html

    # Checking materials before they are all recorded is refused, in Chinese.
    assert act(client, number, "check_identity", note="核验居民身份证原件").status_code == 302
    response = act(client, number, "check_materials")
    assert response.status_code == 422
    assert "申请材料不齐，缺少" in text(response.content)
    record_materials(client, number, world.version)
    custody = set(CaseMaterial.objects.filter(case=case).values_list("paper_custody", flat=True))
    assert custody == {"原件已核验退还，复印件 1 份存窗口档案柜"}
    assert "纸质材料：原件已核验退还" in text(client.get(f"/console/cases/{number}/").content)
    assert act(client, number, "check_materials").status_code == 302
    page = text(client.get(f"/console/cases/{number}/").content)
    assert "窗口提交" in page and "转递业务属地" not in page
    assert act(client, number, "submit").status_code == 302
    case.refresh_from_db()
    assert case.state == "submitted" and case.submitted_at is not None
    actions = list(case.events.values_list("action", flat=True))
    assert actions[0] == "start" and case.events.first().note == "代办帮办"
    assert {"check_identity", "check_materials", "submit"} <= set(actions)


def test_a_clerk_receives_another_organisations_item_and_forwards_it(client, world):
    client.force_login(world.foreign_clerk)
    response = intake(
        client,
        world.version,
        {
            "kind": "person",
            "name": "陈大爷",
            "id_number": builders.valid_id_number("19500101", "110101"),
            "mobile": "13700001234",
        },
        {"reason": "投靠"},
        assisted=True,
    )
    number = case_number(response)
    case = Case.objects.get(number=number)
    assert case.mode == "proxy" and case.receiving_org == world.shenyang
    assert case.scope == "in_province" and case.place == world.shenyang.division
    assert case.list_version is not None and case.list_version.item_list.scope == "in_province"
    assert case.handling_org == world.police
    assert act(client, number, "check_identity").status_code == 302
    record_materials(client, number, world.version)
    assert act(client, number, "check_materials").status_code == 302
    page = text(client.get(f"/console/cases/{number}/").content)
    assert "转递业务属地" in page
    assert act(client, number, "forward").status_code == 302
    case.refresh_from_db()
    assert case.state == "submitted"
    # The handling side now has it, and both sides see it.
    reviewer = Client()
    reviewer.force_login(world.reviewer)
    assert number in reviewer.get("/console/").content.decode()
    assert "沈阳市公安局 → 大连市公安局" in text(reviewer.get("/console/").content)
    assert number in client.get("/console/").content.decode()


def test_window_commitments_are_signed_on_the_applicants_behalf(client, world):
    client.force_login(world.clerk)
    response = intake(
        client,
        world.version,
        {
            "kind": "person",
            "name": "刘奶奶",
            "id_number": builders.valid_id_number("19420808", "110101"),
        },
        {"reason": "随子女落户"},
    )
    number = case_number(response)
    page = text(client.get(f"/console/cases/{number}/").content)
    assert "申请人在窗口签署的承诺书" in page and "告知书" in page
    response = client.post(
        f"/console/cases/{number}/commitments/",
        {"kind": "notification", "notification-agree": "on"},
    )
    assert response.status_code == 302
    assert Case.objects.get(number=number).commitments.get().kind == "notification"


def test_a_company_at_the_window(client, world):
    company_item = builders.item("食品经营许可证核发", org=world.police, audience="company")
    builders.at_window(world.clerk, company_item)
    client.force_login(world.clerk)
    uscc = builders.valid_uscc(77, "210200")
    response = intake(
        client,
        company_item,
        {
            "kind": "company",
            "company_name": "大连小吃店",
            "uscc": uscc,
            "legal_representative": "李老板",
        },
        {"reason": "新开"},
    )
    assert response.status_code == 302, text(response.content)
    case = Case.objects.get(number=case_number(response))
    assert case.applicant_company == Company.objects.get(uscc=uscc)


def test_bad_applicant_data_is_refused_on_its_field_and_nothing_written(client, world):
    client.force_login(world.clerk)
    good = builders.valid_id_number("19420808", "110101")
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    response = intake(
        client,
        world.version,
        {"kind": "person", "name": "刘奶奶", "id_number": bad},
        {"reason": "x"},
    )
    assert response.status_code == 422
    page = text(response.content)
    assert "公民身份号码校验位错误" in page
    assert_accessible_structure(response.content)
    response = intake(
        client, world.version, {"kind": "person", "name": "", "id_number": ""}, {"reason": ""}
    )
    assert response.status_code == 422
    page = text(response.content)
    assert "请填写姓名" in page and "请填写公民身份号码" in page
    response = intake(
        client,
        world.version,
        {"kind": "person", "name": "Liu", "id_number": good},
        {"reason": "x"},
    )
    assert response.status_code == 422 and "实名核验未通过" in text(response.content)
    response = intake(
        client,
        world.version,
        {"kind": "person", "name": "刘奶奶", "id_number": good},
        {"reason": ""},
    )
    assert response.status_code == 422 and "迁移原因：此项必填" in text(response.content)
    assert not Case.objects.exists() and not Person.objects.filter(name="刘奶奶").exists()


def test_the_window_records_how_the_result_is_delivered(client, world):
    """送达 (issue 9): the clerk records the applicant's choice; post needs an address, and a
    missing one is refused on its field with nothing written."""
    client.force_login(world.clerk)
    page = client.get(f"/console/intake/{world.version.item.code}/")
    assert 'name="delivery_method"' in page.content.decode()
    applicant = {
        "kind": "person",
        "name": "刘奶奶",
        "id_number": builders.valid_id_number("19420808", "110101"),
        "mobile": "13904112368",
    }
    before = Case.objects.count()
    page = client.get(f"/console/intake/{world.version.item.code}/")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)
    window = re.search(r'<option value="(\d+)" selected>', page.content.decode()).group(1)
    data = {
        "idempotency_key": key,
        "applicant-window": window,
        **{f"applicant-{k}": v for k, v in applicant.items()},
        "form-reason": "随子女落户",
        "delivery_method": "post",
    }
    response = client.post(f"/console/intake/{world.version.item.code}/", data)
    assert response.status_code == 422
    assert "邮寄地址" in text(response.content)
    assert Case.objects.count() == before

    data["delivery_address"] = "辽宁省大连市中山区人民路23号"
    response = client.post(f"/console/intake/{world.version.item.code}/", data)
    assert response.status_code == 302, text(response.content)
    case = Case.objects.get(number=case_number(response))
    assert case.delivery_method == "post" and case.delivery_mobile == "13904112368"
    assert case.delivery_address == "辽宁省大连市中山区人民路23号"
