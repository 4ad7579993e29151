"""Bulletins: generated from the figures, reviewed and published by a supervisor, then
public; the PDF is Chinese text in an embedded font, with its chart."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from django.utils import timezone

from core.exceptions import RuleViolation
from supervision import bulletins, facts
from supervision.models import Bulletin
from tests.portal.html import text


def _month() -> dt.date:
    return timezone.localdate().replace(day=1)


def test_generate_review_publish(client, province, monkeypatch):
    p = province
    p.decided(p.item)  # on time: 大连市公安局 praised
    late = p.decided(p.water_item, monkeypatch, dt.date(2026, 10, 12))  # 大连市水务局 criticised
    facts.refresh()
    client.force_login(p.province_supervisor)
    response = client.post(
        "/supervision/bulletins/", {"period": "month", "month": f"{_month():%Y-%m}"}
    )
    assert response.status_code == 302
    bulletin = Bulletin.objects.get()
    assert bulletin.status == "draft" and bulletin.prefix == "21"
    content = bulletin.content
    assert content["praise"] == ["大连市公安局"]
    assert content["criticism"] == [{"name": "大连市水务局", "late": 1}]
    assert content["late_cases"][0]["number"] == late.number
    assert "申请人" not in str(content) and p.applicant.name not in str(content)
    # Not public before it is published.
    client.logout()
    assert client.get(f"/supervision/public/bulletins/{bulletin.pk}/").status_code == 404
    client.force_login(p.province_supervisor)
    refused = client.post(f"/supervision/bulletins/{bulletin.pk}/publish/", {"note": ""})
    assert refused.status_code == 422 or refused.status_code == 400
    client.post(
        f"/supervision/bulletins/{bulletin.pk}/publish/", {"note": "经审核，数据属实，同意发布"}
    )
    bulletin.refresh_from_db()
    assert bulletin.status == "published" and bulletin.published_by == p.province_supervisor
    with pytest.raises(RuleViolation):
        bulletins.generate_bulletin(period="month", start=_month(), actor=p.province_supervisor)
    client.logout()
    public = client.get("/supervision/public/bulletins/")
    assert bulletin.title in text(public.content)
    page = text(client.get(f"/supervision/public/bulletins/{bulletin.pk}/").content)
    assert "大连市水务局超期办结 1 件" in page and late.number in page


def test_only_supervisors_generate(client, province):
    client.force_login(province.admin)
    assert client.get("/supervision/bulletins/").status_code == 403
    with pytest.raises(RuleViolation):
        bulletins.generate_bulletin(period="month", start=_month(), actor=province.admin)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_pdf_is_chinese_with_its_chart(client, province, tmp_path):
    p = province
    p.decided(p.item)
    facts.refresh()
    bulletin = bulletins.generate_bulletin(
        period="quarter", start=_month(), actor=p.province_supervisor
    )
    client.force_login(p.province_supervisor)
    response = client.get(f"/supervision/bulletins/{bulletin.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "b.pdf"
    path.write_bytes(response.content)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    compact = "".join(out.split())
    assert "季度）" in compact and "辽宁省政务服务" in compact
    assert "各单位收件与办结" in compact  # the chart's title, drawn with its bars
    assert "大连市公安局" in compact and "按时办结排名" in compact
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()
    used = fonts.splitlines()[2:]
    assert used and all(" yes " in line for line in used), fonts  # every font embedded
