"""The demo accounts and cases: every role on every demo organisation under a predictable
username, applicants registered through the real services, cases in many states, licences
issued by approvals and reused in place of paper, all made once — `load_demo` twice changes
nothing — and listed by `manage.py demo_users`."""

from __future__ import annotations

import json
from io import StringIO

import filetype
import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command

from accounts.models import Company, Notification, Person, Role, StaffRole
from cases.models import Case, CaseArchive, CaseEvent, CaseMaterial, Commitment
from cases.selectors import cases_for
from core import blobs
from core.models import AuditEvent, Organisation
from core.validators import normalize_id_number, normalize_uscc
from demo.pdf import demo_pdf
from demo.users import (
    DEMO_PASSWORD,
    ROLES,
    catalog_organisations,
    demo_accounts,
    staff_name,
    staff_username,
)
from halls.models import Consultation, ServiceHall, Window
from hotline.models import DispatchCatalogVersion, KnowledgeArticle, Ticket, TicketEvent
from licences.models import Licence, LicenceEvent, Seal
from licences.services import check_token
from payments.models import Payment
from ratings.models import Invitation, Rating, Rectification

STAFF_KEYS = {
    "username",
    "role",
    "role_label",
    "organisation",
    "organisation_uscc",
    "division",
    "division_name",
    "admin_site",
}


def _counts() -> dict[str, int]:
    models = [
        get_user_model(),
        StaffRole,
        Person,
        Company,
        Case,
        CaseEvent,
        CaseMaterial,
        Commitment,
        CaseArchive,
        Notification,
        AuditEvent,
        Seal,
        Licence,
        LicenceEvent,
        Ticket,
        TicketEvent,
        DispatchCatalogVersion,
        KnowledgeArticle,
        ServiceHall,
        Window,
        Consultation,
        Rating,
        Rectification,
        Invitation,
    ]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def demo():
    call_command("load_demo", stdout=StringIO())


def _user(username: str):
    return get_user_model().objects.get(username=username)


# load_demo takes seconds; each test below loads it once and checks several things.


def test_load_demo_twice_changes_nothing(demo):
    before = _counts()
    assert before["Case"] >= 9 and before["StaffRole"] == 27 * 6 + 1
    assert before["Licence"] >= 2
    # 大连市政务服务中心 (four windows, three for its own clerk) and a 街道 便民服务中心.
    assert (before["ServiceHall"], before["Window"], before["Consultation"]) == (2, 5, 3)
    assert before["Rating"] == 5 and before["Rectification"] == 2
    call_command("load_demo", stdout=StringIO())
    assert _counts() == before


def test_demo_accounts(demo):
    _every_role_of_every_demo_organisation_has_an_account()
    _demo_accounts_share_one_password_hashed_once()
    _only_catalog_maintainers_get_into_the_admin()
    _applicants_are_registered_people_and_companies()
    _demo_users_json()
    _demo_users_table()


def test_demo_cases(demo):
    _demo_cases_stand_in_many_states()
    _demo_cases_fill_the_inboxes()
    _demo_materials_are_real_pdf_files()
    _approval_issued_a_licence_that_a_draft_reuses()
    _household_books_were_reissued_and_results_are_documents()


def _every_role_of_every_demo_organisation_has_an_account():
    data = demo_accounts()
    organisations = Organisation.objects.filter(uscc__in=catalog_organisations())
    assert organisations.count() == 27
    for org in organisations:
        for role in ROLES:
            username = staff_username(data.slugs[org.uscc], role)
            staff_role = StaffRole.objects.get(user__username=username)
            assert (staff_role.role, staff_role.organisation, staff_role.division) == (
                role,
                org,
                org.division,
            )
    clerk = _user("dl-gaj-window-clerk")
    assert clerk.staff_roles.get().organisation.name == "大连市公安局"
    # Staff are people with names (the console's header shows them), stable across loads.
    assert clerk.first_name == staff_name("dl-gaj-window-clerk")
    assert 2 <= len(clerk.first_name) <= 3 and "窗口" not in clerk.first_name
    centre = _user("dl-zwfwzx-window-clerk").staff_roles.get().organisation
    assert (centre.name, centre.kind) == ("大连市政务服务中心", Organisation.Kind.SERVICE_CENTRE)


def _demo_accounts_share_one_password_hashed_once():
    users = get_user_model().objects.filter(
        username__in=demo_accounts().staff_usernames() + demo_accounts().applicant_usernames()
    )
    assert users.count() == 27 * 6 + 7 + 2 + 1  # staff, citizens, agents, a representative
    assert len(set(users.values_list("password", flat=True))) == 1
    reviewer = _user("dl-gaj-reviewer")
    assert reviewer.check_password(DEMO_PASSWORD)
    assert not reviewer.check_password("tongban-demo-2025")


def _only_catalog_maintainers_get_into_the_admin():
    maintainer = _user("ln-scjgj-catalog-maintainer")
    assert maintainer.is_staff and not maintainer.is_superuser
    assert maintainer.has_perm("catalog.change_itemversion")
    assert maintainer.has_perm("catalog.add_listversion")
    assert maintainer.has_perm("core.view_organisation")
    assert not maintainer.has_perm("accounts.view_person")
    assert not maintainer.has_perm("cases.view_case")
    for role in ROLES:
        if role != Role.CATALOG_MAINTAINER:
            user = _user(staff_username("dl-gaj", role))
            assert not user.is_staff and not user.get_all_permissions(), role


def _applicants_are_registered_people_and_companies():
    data = demo_accounts()
    for who in [*data.citizens, *(c.agent for c in data.companies)]:
        person = Person.objects.get(user__username=who.username)
        assert person.id_number == normalize_id_number(who.id_number)
        assert person.name == who.name and person.mobile == who.mobile
        assert person.real_name_verified_at is not None
    for company in data.companies:
        stored = Company.objects.get(uscc=normalize_uscc(company.uscc))
        expected = {company.agent.username}
        if company.representative:
            # Registered online by its representative, who authorised the agent.
            expected.add(company.representative.username)
            assert stored.representative.user.username == company.representative.username
            authorisation = stored.authorisations.get(agent__username=company.agent.username)
            assert authorisation.actions == ["apply", "supplement"]
            assert authorisation.valid_until is not None
        assert set(stored.agents.values_list("username", flat=True)) == expected


def _demo_users_json():
    out = StringIO()
    call_command("demo_users", "--json", stdout=out)
    rows = json.loads(out.getvalue())

    staff = [r for r in rows if r["role"] in Role.values]
    assert len(staff) == 27 * 6
    assert all(set(r) == STAFF_KEYS for r in staff)
    reviewer = next(r for r in staff if r["username"] == "dl-gaj-reviewer")
    assert reviewer == {
        "username": "dl-gaj-reviewer",
        "role": "reviewer",
        "role_label": "审查人员",
        "organisation": "大连市公安局",
        "organisation_uscc": "11210200002418706A",
        "division": "210200",
        "division_name": "大连市",
        "admin_site": False,
    }
    assert all(r["admin_site"] == (r["role"] == "catalog_maintainer") for r in staff)

    citizens = [r for r in rows if r["role"] == "citizen"]
    agents = [r for r in rows if r["role"] == "company_agent"]
    assert len(citizens) == 7 and len(agents) == 2
    representatives = [r for r in rows if r["role"] == "legal_representative"]
    assert [r["username"] for r in representatives] == ["rep-haichen"]
    wang = next(r for r in citizens if r["username"] == "citizen-wangfang")
    assert wang["name"] == "王*" and wang["mobile"] == "139****2368"
    assert wang["id_number"].startswith("2102") and "*" * 10 in wang["id_number"]
    assert {"company", "company_uscc"} <= set(agents[0])
    text = out.getvalue()
    data = demo_accounts()
    for who in [*data.citizens, *(c.agent for c in data.companies)]:
        assert who.id_number not in text and who.mobile not in text and who.name not in text


def _demo_users_table():
    out = StringIO()
    call_command("demo_users", stdout=out)
    text = out.getvalue()
    assert "dl-gaj-window-clerk" in text and "citizen-wangfang" in text
    assert DEMO_PASSWORD in text
    assert demo_accounts().citizens[0].id_number not in text


def test_demo_ratings(demo):
    """One bad rating under rectification, one closed after its callback, and the
    public results computed from them."""
    from ratings.selectors import stats

    open_one = Rectification.objects.get(closed_at__isnull=True)
    assert (
        open_one.state == "awaiting_callback"
        and open_one.organisation.name == "辽宁省沈阳市沈阳公证处"
    )
    closed = Rectification.objects.get(closed_at__isnull=False)
    assert closed.state == "closed" and closed.callback_at and closed.fix_rating.level == 4
    assert Rating.objects.filter(subject_kind="ticket").count() == 1
    assert Invitation.objects.filter(rating__isnull=True).exists()
    rows = {row.name: row for row in stats()}
    assert (
        rows["辽宁省沈阳市沈阳公证处"].bad == 1
        and rows["辽宁省沈阳市沈阳公证处"].rectification_rate == 0.0
    )
    assert rows["辽宁省市场监督管理局"].rectification_rate == 100.0


def test_demo_users_before_load_demo():
    out = StringIO()
    call_command("demo_users", stdout=out)
    assert "load_demo" in out.getvalue()
    out = StringIO()
    call_command("demo_users", "--json", stdout=out)
    assert json.loads(out.getvalue()) == []


def _case_of(username: str, item: str | None = None) -> Case:
    """The applicant's case (of `item`); the latest if there are several (刘洋's second
    新生儿入户)."""
    cases = Case.objects.filter(applicant_person__user__username=username)
    found = (cases.filter(item_version__name=item) if item else cases).order_by("created_at", "id")
    assert found.exists(), (username, item)
    return found.last()  # type: ignore[return-value]


def _demo_cases_stand_in_many_states():
    states = {
        "citizen-wangfang": "draft",
        "citizen-liuyang": "submitted",
        "citizen-zhaozihan": "review_supplement",
        "citizen-sunhaoran": "approved",
        "citizen-chenjing": "closed",
        "citizen-zhoumin": "under_review",
        "citizen-lijianguo": "submitted",
    }
    items = {
        "citizen-wangfang": "社会保障卡申领",
        "citizen-sunhaoran": "首次申领居民身份证",
        "citizen-chenjing": "学历公证",
    }
    for username, state in states.items():
        assert _case_of(username, items.get(username)).state == state, username

    # 缴费: 80 元 awaiting 王芳; 孙浩然 paid in cash at the window, 陈静 online.
    awaiting = _case_of("citizen-wangfang", "学历公证")
    assert awaiting.state == "awaiting_payment"
    assert Payment.objects.get(case_number=awaiting.number).status == "due"
    paid = {p.case_number: p.method for p in Payment.objects.filter(status="paid")}
    assert paid[_case_of("citizen-sunhaoran", "首次申领居民身份证").number] == "cash"
    assert paid[_case_of("citizen-chenjing", "学历公证").number] == "online"

    supplement = _case_of("citizen-zhaozihan")
    assert supplement.clock_state == Case.ClockState.PAUSED
    assert supplement.supplement_requests.get().materials.get().name == "录取通知书"

    deficiency = _case_of("citizen-zhoumin").commitments.get()
    assert deficiency.kind == Commitment.Kind.DEFICIENCY
    assert deficiency.status == Commitment.Status.OPEN and deficiency.due_date

    company_case = Case.objects.get(applicant_company__isnull=False)
    assert company_case.state == "closed"
    promise = company_case.commitments.get()
    assert promise.kind == Commitment.Kind.NOTIFICATION
    assert promise.status == Commitment.Status.OPEN and promise.due_date  # 核查 pending

    proxy = _case_of("citizen-lijianguo")
    assert (proxy.mode, proxy.channel, proxy.assisted) == ("proxy", "window", True)
    assert proxy.receiving_org.name == "大连市公安局"
    assert proxy.handling_org.name == "沈阳市公安局"
    assert proxy.materials.get().paper_custody

    assert CaseArchive.objects.filter(case__state="closed").count() == 2
    sealed = Seal.objects.filter(status=Seal.Status.ACTIVE).values("organisation").distinct()
    assert sealed.count() == len(catalog_organisations())  # licence items can be decided


def _demo_cases_fill_the_inboxes():
    dalian_reviewer = {c.number for c in cases_for(_user("dl-gaj-reviewer"))}
    assert len(dalian_reviewer) >= 5  # four of its own items, plus the window intake
    assert _case_of("citizen-lijianguo").number in dalian_reviewer
    shenyang = {c.number for c in cases_for(_user("sy-gaj-reviewer"))}
    assert _case_of("citizen-lijianguo").number in shenyang
    # Every case submitted in the province; the two drafts are their applicants' own.
    province = cases_for(_user("ln-gat-supervisor"))
    assert province.count() == Case.objects.filter(submitted_at__isnull=False).count()
    assert Case.objects.filter(submitted_at__isnull=True).count() == 2
    assert not cases_for(_user("dl-gaj-catalog-maintainer")).exists()
    assert cases_for(_user("citizen-wangfang")).count() == 2  # her draft, her 待缴费 case
    assert cases_for(_user("agent-haichen")).count() == 1
    assert Notification.objects.filter(recipient__username="citizen-chenjing").count() >= 6


def _approval_issued_a_licence_that_a_draft_reuses():
    approved = _case_of("citizen-sunhaoran", "首次申领居民身份证")
    licence = Licence.objects.get(case_number=approved.number)
    person = Person.objects.get(user__username="citizen-sunhaoran")
    assert licence.holder_person == person and licence.issuer.name == "大连市公安局"
    assert licence.licence_type.name == "居民身份证"
    assert licence.face_data == {
        "applicant_name": "孙浩然",
        "gender": "男",
        "ethnicity": "汉",
        "birth_date": "2010-03-08",
        "household_address": "大连市西岗区五四路66号",
    }
    assert licence.valid_until == licence.valid_from.replace(year=licence.valid_from.year + 10)
    assert check_token(licence.token).outcome == "valid"
    assert approved.events.filter(action="issue_licence").exists()

    draft = _case_of("citizen-sunhaoran", "社会保障卡申领")
    assert draft.state == "draft"
    used = draft.materials.get(licence=licence)
    assert used.requirement.name == "居民身份证" and used.licence_verified_at
    assert used.status == CaseMaterial.Status.PROVIDED
    assert draft.events.filter(action="use_licence").exists()
    assert LicenceEvent.objects.filter(licence=licence, kind="used").count() == 1
    assert list(Licence.objects.filter(holder_person=person)) == [licence]  # the 证照夹

    company_licence = Licence.objects.get(holder_company__isnull=False)
    assert company_licence.licence_type.name == "全国工业产品生产许可证"
    assert set(company_licence.face_data) == {"company_name", "uscc", "factory_address", "product"}


def _household_books_were_reissued_and_results_are_documents():
    """新生儿入户 replaces the parent's 居民户口簿 (issue 9): 陈静's first version is 已换发 and
    verifies so; 刘洋 holds one, which approving her waiting case will supersede. Her 学历公证
    left a sealed 办理结果证明 in her 证照夹."""
    chen = Person.objects.get(user__username="citizen-chenjing")
    books = Licence.objects.filter(holder_person=chen, licence_type__name="居民户口簿")
    old, new = books.order_by("version")
    assert (old.status, new.status) == (Licence.Status.SUPERSEDED, Licence.Status.VALID)
    assert new.supersedes == old and new.version == 2
    verdict = check_token(old.token)
    assert (verdict.outcome, verdict.code) == ("revoked", "licence_superseded")
    liu = Person.objects.get(user__username="citizen-liuyang")
    assert (
        Licence.objects.filter(
            holder_person=liu, licence_type__name="居民户口簿", status=Licence.Status.VALID
        ).count()
        == 1
    )
    notarised = _case_of("citizen-chenjing", "学历公证")
    [result] = Licence.objects.filter(case_number=notarised.number)
    assert result.licence_type.name == "办理结果证明" and result.holder_person == chen
    assert check_token(result.token).outcome == "valid"
    assert notarised.events.filter(action="deliver").exists()


def _demo_materials_are_real_pdf_files():
    materials = CaseMaterial.objects.filter(licence__isnull=True)  # uploads, not licences
    assert materials.count() >= 20
    for material in materials:
        assert material.content_type == "application/pdf"
        with default_storage.open(material.file.name) as stored:
            assert b"%PDF" not in stored.read()  # encrypted at rest
        content = blobs.read(material.file.name, material.sha256)
        assert len(content) == material.size
        _assert_wellformed_pdf(content)


def _assert_wellformed_pdf(content: bytes) -> None:
    """Header, trailer, and a cross-reference table whose every offset points at its
    object: what a reader needs to open the file."""
    assert content.startswith(b"%PDF-1.") and content.rstrip().endswith(b"%%EOF")
    assert filetype.guess_mime(content) == "application/pdf"
    xref = int(content.rsplit(b"startxref", 1)[1].split()[0])
    assert content[xref:].startswith(b"xref\n")
    lines = content[xref:].split(b"\n")
    first, count = map(int, lines[1].split())
    entries = lines[2 : 2 + count]
    assert first == 0 and entries[0].startswith(b"0000000000 65535 f")
    for number, entry in enumerate(entries[1:], start=1):
        assert len(entry) + 1 == 20  # each entry is exactly 20 bytes with its newline
        offset = int(entry[:10])
        assert content[offset:].startswith(b"%d 0 obj" % number)
    length_at = content.index(b"/Length ")
    length = int(content[length_at + 8 :].split()[0])
    start = content.index(b"stream\n", length_at) + len(b"stream\n")
    assert content[start + length :].startswith(b"\nendstream")


def test_demo_pdf_escapes_and_titles():
    content = demo_pdf("居民身份证（正反面）", ["a (b) c \\ d"])
    _assert_wellformed_pdf(content)
    assert b"(a \\(b\\) c \\\\ d) Tj" in content
    assert "居民身份证".encode("utf-16-be").hex().upper().encode() in content
