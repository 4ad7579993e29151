"""The shipment admin: read-only, personal data masked, never in clear."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from delivery.services import refresh_tracking
from tests.delivery.conftest import STEP, T0


@pytest.fixture
def admin_client(client):
    root = get_user_model().objects.create_superuser("root", "root@example.cn", "pw-123456")
    client.force_login(root)
    return client


def _page(client, name: str, *args) -> str:
    response = client.get(reverse(f"admin:{name}", args=args))
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


def test_shipment_pages_show_only_masked_personal_data(admin_client, book):
    shipment = book()
    refresh_tracking(shipment, now=T0 + dt.timedelta(seconds=10 * STEP))

    listing = _page(admin_client, "delivery_shipment_changelist")
    detail = _page(admin_client, "delivery_shipment_change", shipment.pk)

    for secret in ["王芳", "李窗口", "15840116677", "13904112368", "学府路", "人民路"]:
        assert secret not in listing and secret not in detail
    assert shipment.tracking_number in listing
    assert "王*" in listing and "158****6677" in listing
    assert "黑龙江省哈尔滨市****" in detail and "139****2368" in detail
    assert "已签收" in detail
    assert 'name="case_number"' not in detail  # nothing editable


def test_shipments_cannot_be_added_in_the_admin(admin_client):
    response = admin_client.get(reverse("admin:delivery_shipment_add"))
    assert response.status_code == 403
