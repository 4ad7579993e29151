"""Catalog maintainers work in the admin: drafts editable, publishing an action."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from catalog.models import ItemVersion, ListVersion, PublicationStatus
from tests import builders


@pytest.fixture
def maintainer_client(client):
    user = get_user_model().objects.create_superuser("maintainer", "m@example.cn", "pw-123456")
    client.force_login(user)
    return client


def test_every_admin_list_page_opens(maintainer_client):
    builders.item()
    from django.contrib import admin

    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert maintainer_client.get(url).status_code == 200, url


def test_publish_action_reports_problems_and_publishes(maintainer_client):
    broken = builders.item("缺少条件的事项", publish=False, conditions="")
    url = reverse("admin:catalog_itemversion_changelist")
    response = maintainer_client.post(
        url, {"action": "publish", "_selected_action": [broken.pk]}, follow=True
    )
    assert "申请条件不能为空" in response.content.decode()
    broken.refresh_from_db()
    assert broken.status == PublicationStatus.DRAFT

    good = builders.item("开具户籍类证明", publish=False)
    maintainer_client.post(url, {"action": "publish", "_selected_action": [good.pk]})
    good.refresh_from_db()
    assert good.status == PublicationStatus.PUBLISHED
    # Published versions open read-only.
    page = maintainer_client.get(reverse("admin:catalog_itemversion_change", args=[good.pk]))
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()


def test_list_version_publish_action(maintainer_client):
    version = builders.item()
    lst = builders.item_list()
    draft = builders.list_version(lst, [version], publish=False)
    maintainer_client.post(
        reverse("admin:catalog_listversion_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    draft.refresh_from_db()
    assert draft.status == PublicationStatus.PUBLISHED
    maintainer_client.post(
        reverse("admin:catalog_itemlist_changelist"),
        {"action": "make_new_version", "_selected_action": [lst.pk]},
    )
    assert ListVersion.objects.filter(item_list=lst, number=2, status="draft").exists()
    maintainer_client.post(
        reverse("admin:catalog_serviceitem_changelist"),
        {"action": "make_new_version", "_selected_action": [version.item_id]},
    )
    assert ItemVersion.objects.filter(item=version.item, number=2, status="draft").exists()


def test_licence_type_face_is_checked_in_the_admin(maintainer_client):
    from catalog.models import LicenceType

    url = reverse("admin:catalog_licencetype_add")
    data = {
        "code": "11100000000013338W011",
        "name": "户籍证明",
        "defining_organisation": "公安部",
        "holder_kind": "person",
        "issuer_kind": "公安派出所",
        "face_fields": '[{"name": "kind", "label": "户别", "type": "choice"}]',
        "valid_years": "0",
    }
    page = maintainer_client.post(url, data).content.decode()
    assert "face_fields[0].choices" in page and "选项类字段必须列出可选值" in page
    assert "有效期应为 1 至 100 年" in page
    assert not LicenceType.objects.exists()
    data |= {
        "face_fields": '[{"name": "kind", "label": "户别", "type": "choice", '
        '"choices": ["家庭户", "集体户"], "required": true, "help": ""}]',
        "valid_years": "",
    }
    maintainer_client.post(url, data)
    stored = LicenceType.objects.get()
    assert stored.face_fields == [
        {"name": "kind", "label": "户别", "type": "choice", "choices": ["家庭户", "集体户"]}
    ]
    assert stored.valid_years is None


def test_bundle_versions_are_published_from_the_admin_with_their_checks(maintainer_client):
    draft = builders.newborn_bundle(publish=False)
    url = reverse("admin:catalog_bundleversion_changelist")
    page = maintainer_client.get(reverse("admin:catalog_bundleversion_change", args=[draft.pk]))
    assert page.status_code == 200
    maintainer_client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == PublicationStatus.PUBLISHED
    response = maintainer_client.post(
        url, {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert "不可重复发布" in response.content.decode()
    bundles = reverse("admin:catalog_bundle_changelist")
    maintainer_client.post(
        bundles, {"action": "make_new_version", "_selected_action": [draft.bundle_id]}
    )
    assert draft.bundle.versions.filter(status=PublicationStatus.DRAFT).count() == 1
