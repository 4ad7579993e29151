"""The admin of accounts and cases: personal data only masked, records changed only
through the services (roles granted and revoked, tokens revoked), cases read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from accounts.models import ApiToken, StaffRole
from accounts.services import create_api_token
from cases import engine, services
from cases import materials as case_materials
from cases.models import CaseArchive
from core.actors import SystemActor
from core.models import AuditEvent
from core.personal_data import current_prefix, lookup_hash
from tests import builders


@pytest.fixture
def admin_client(client):
    root = get_user_model().objects.create_superuser("root", "root@example.cn", "pw-123456")
    client.force_login(root)
    return client


def _page(client, name: str, *args) -> str:
    response = client.get(reverse(f"admin:{name}", args=args))
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


def test_person_pages_show_only_masked_personal_data(admin_client):
    person = builders.person("王五", mobile="13904112368")
    secrets = [person.id_number, "13904112368", "王五"]

    listing = _page(admin_client, "accounts_person_changelist")
    detail = _page(admin_client, "accounts_person_change", person.pk)
    history = _page(admin_client, "accounts_person_history", person.pk)

    for page in (listing, detail, history):
        for secret in secrets:
            assert secret not in page
        assert "王*" in page
    assert person.id_number_masked in listing and person.id_number_masked in detail
    assert "139****2368" in listing and "139****2368" in detail
    assert 'name="name"' not in detail  # nothing editable
    # Nor the encrypted value (compare the stored ciphertext: it differs on every write).
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, mobile FROM accounts_person WHERE id = %s", [person.pk])
        stored = cursor.fetchone()
    assert (
        stored[0].startswith(current_prefix())
        and stored[0] not in detail
        and stored[1] not in detail
    )


def test_person_lookup_is_by_exact_id_number_posted_and_hashed(admin_client):
    person = builders.person("王五")
    builders.person("李四")
    lookup = reverse("admin:accounts_person_lookup")
    assert lookup in _page(admin_client, "accounts_person_changelist")

    response = admin_client.post(lookup, {"id_number": person.id_number.lower()})
    assert response.status_code == 302
    assert person.id_number not in response["Location"]
    assert lookup_hash(person.id_number) in response["Location"]
    found = admin_client.get(response["Location"])
    assert found.context["cl"].result_count == 1
    assert person.id_number_masked in found.content.decode()
    assert person.id_number not in found.content.decode()

    partial = admin_client.post(lookup, {"id_number": person.id_number[:10]})
    assert partial.status_code == 200 and "公民身份号码应为18位" in partial.content.decode()
    url = reverse("admin:accounts_person_changelist")
    assert admin_client.get(url, {"q": person.user.username}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": "王五"}).context["cl"].result_count == 0


def test_person_cannot_be_added_changed_or_deleted_here(admin_client):
    person = builders.person("王五")
    assert admin_client.get(reverse("admin:accounts_person_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:accounts_person_change", args=[person.pk]), {"name": "赵六"}
    )
    assert response.status_code == 403
    assert (
        admin_client.get(reverse("admin:accounts_person_delete", args=[person.pk])).status_code
        == 403
    )
    person.refresh_from_db()
    assert person.name == "王五"


def test_api_token_shows_its_prefix_only_and_is_revoked_by_an_action(admin_client, client):
    user = builders.staff("reviewer", builders.organisation("大连市公安局", "210200"))
    raw = create_api_token(user, actor=SystemActor("test"))
    token = ApiToken.objects.get()

    listing = _page(admin_client, "accounts_apitoken_changelist")
    detail = _page(admin_client, "accounts_apitoken_change", token.pk)
    for page in (listing, detail):
        assert token.prefix in page
        assert raw not in page and token.key_hash not in page

    response = admin_client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "已吊销 1 个令牌" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="revoke_api_token").count() == 1
    client.logout()
    assert client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_roles_are_granted_and_revoked_through_the_services(admin_client):
    org = builders.organisation("大连市公安局", "210200")
    user = get_user_model().objects.create_user("dl-new-maintainer")
    response = admin_client.post(
        reverse("admin:accounts_staffrole_add"),
        {"user": user.pk, "role": "catalog_maintainer", "organisation": org.pk},
    )
    assert response.status_code == 302, response.content.decode()
    role = StaffRole.objects.get(user=user)
    assert role.division == org.division
    assert AuditEvent.objects.filter(action="grant_role").exists()
    user.refresh_from_db()
    assert user.is_staff and user.has_perm("catalog.change_itemversion")

    response = admin_client.post(
        reverse("admin:accounts_staffrole_delete", args=[role.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not StaffRole.objects.exists()
    assert AuditEvent.objects.filter(action="revoke_role").exists()
    user = get_user_model().objects.get(pk=user.pk)  # fresh permission cache
    assert not user.is_staff and not user.has_perm("catalog.change_itemversion")


def test_catalog_maintainer_sees_the_catalog_and_nothing_personal(client):
    """What `grant_role` gives a catalog maintainer, and only them."""
    org = builders.organisation("辽宁省市场监督管理局", "210000")
    maintainer = builders.staff("catalog_maintainer", org)
    reviewer = builders.staff("reviewer", org)
    client.force_login(maintainer)
    assert client.get(reverse("admin:catalog_itemversion_changelist")).status_code == 200
    assert client.get(reverse("admin:catalog_itemversion_add")).status_code == 200
    assert client.get(reverse("admin:accounts_person_changelist")).status_code == 403
    assert client.get(reverse("admin:cases_case_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_person_lookup")).status_code == 403
    client.force_login(reviewer)
    assert client.get(reverse("admin:index")).status_code == 302  # to the admin login


def _closed_case():
    org = builders.organisation("大连市公安局", "210200")
    version = builders.item(
        "开具户籍类证明",
        org=org,
        form_fields=[
            {"name": "purpose", "label": "用途", "type": "text"},
            {"name": "contact_id", "label": "联系人身份号码", "type": "id_number"},
            {"name": "phone", "label": "电话", "type": "phone"},
        ],
    )
    applicant = builders.person("王五")
    contact = builders.valid_id_number("19850505")
    case = services.start_case(
        item_version=version,
        form_data={"purpose": "入学", "contact_id": contact, "phone": "13904112368"},
        person=applicant,
        actor=applicant.user,
    )
    for material in version.materials.all():
        case_materials.add_material(
            case,
            material,
            content=builders.uploaded_pdf(material.name),
            name="王五的材料.pdf",
            actor=applicant.user,
        )
    reviewer = builders.staff("reviewer", org)
    approver = builders.staff("approver", org)
    case = engine.take_action(case, "submit", actor=applicant.user)
    case = engine.take_action(
        case, "accept", actor=reviewer, note=f"已核对联系人 {contact}，电话 13904112368"
    )
    for action, who in [
        ("start_review", reviewer),
        ("approve", approver),
        ("issue_result", reviewer),
        ("close", approver),
    ]:
        case = engine.take_action(case, action, actor=who)
    return case, [applicant.id_number, contact, "13904112368", "王五"]


def test_case_pages_are_read_only_and_masked(admin_client):
    case, secrets = _closed_case()

    listing = _page(admin_client, "cases_case_changelist")
    detail = _page(admin_client, "cases_case_change", case.pk)
    for page in (listing, detail):
        for secret in secrets:
            assert secret not in page
    assert case.number in listing and "已办结" in listing and "王*" in listing
    assert "approve" in detail and "已核对联系人" in detail  # the timeline, scrubbed
    assert 'name="state"' not in detail and "王五的材料" not in detail

    response = admin_client.post(
        reverse("admin:cases_case_change", args=[case.pk]), {"state": "draft"}
    )
    assert response.status_code == 403
    assert admin_client.get(reverse("admin:cases_case_add")).status_code == 403
    case.refresh_from_db()
    assert case.state == "closed"

    filtered = admin_client.get(
        reverse("admin:cases_case_changelist"), {"state": "closed", "warning": "none"}
    )
    assert filtered.context["cl"].result_count == 1
    assert (
        admin_client.get(reverse("admin:cases_case_changelist"), {"state": "draft"})
        .context["cl"]
        .result_count
        == 0
    )


def test_archive_and_workflow_pages(admin_client):
    case, secrets = _closed_case()
    archive = CaseArchive.objects.get(case=case)

    listing = _page(admin_client, "cases_casearchive_changelist")
    detail = _page(admin_client, "cases_casearchive_change", archive.pk)
    assert archive.digest in listing and archive.digest in detail
    assert 'alt="True"' in listing  # the stored record still matches its digest
    for secret in secrets:
        assert secret not in listing and secret not in detail

    workflow = _page(admin_client, "cases_workflowdefinition_change", case.workflow_id)
    assert "request_supplement" in workflow and 'name="definition"' not in workflow
