"""The dashboard pages: who sees what, each figure linking to its cases, tables for screen
readers, exports that no spreadsheet evaluates, a constant number of queries."""

from __future__ import annotations

import io

from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from supervision import exports, facts
from supervision.tables import Column, Table
from tests.portal.html import text


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:400]
    return len(ctx.captured_queries)


def test_supervisor_dashboard_figures_link_to_cases(client, province):
    p = province
    p.decided(p.item)
    p.submitted(p.shenyang_item)
    facts.refresh()
    client.force_login(p.province_supervisor)
    response = client.get("/supervision/")
    assert response.status_code == 200
    page = text(response.content)
    assert "辽宁省政务服务运行情况" in page
    assert "按行政区划统计办件" in page and "大连市" in page and "沈阳市" in page
    assert '<caption id="c-organisation">' in response.content.decode()
    assert 'href="/supervision/cases/?figure=received"' in response.content.decode()
    behind = client.get("/supervision/cases/?figure=received")
    assert behind.status_code == 200
    assert "共 2 件" in text(behind.content)
    decided = client.get(
        f"/supervision/cases/?level=organisation&code={p.dalian.pk}&figure=decided"
    )
    assert "共 1 件" in text(decided.content)


def test_city_supervisor_and_admin_see_only_their_own(client, province):
    p = province
    p.submitted(p.item)
    p.submitted(p.shenyang_item)
    facts.refresh()
    client.force_login(p.city_supervisor)
    page = text(client.get("/supervision/").content)
    assert "大连市政务服务运行情况" in page and "沈阳市人社局" not in page
    assert client.get("/supervision/?level=city&code=210100").status_code == 404
    assert client.get(f"/supervision/?level=organisation&code={p.shenyang.pk}").status_code == 404
    client.force_login(p.staff[p.dalian.pk]["reviewer"])
    refused = client.get("/supervision/")
    assert refused.status_code == 403
    assert "统计分析仅供监督人员和机构管理员查看" in text(refused.content)
    client.logout()
    assert client.get("/supervision/")["Location"].startswith("/login/")


def test_dashboard_queries_do_not_grow_with_cases(client, province):
    p = province
    p.submitted(p.item)
    facts.refresh()
    client.force_login(p.province_supervisor)
    one = _queries(client, "/supervision/")
    for version in (p.item, p.water_item, p.shenyang_item, p.item):
        p.decided(version)
    facts.refresh()
    assert _queries(client, "/supervision/") == one
    few = _queries(client, "/supervision/cases/?figure=received")
    p.submitted(p.water_item)
    facts.refresh()
    assert _queries(client, "/supervision/cases/?figure=received") == few


def test_exports_are_formula_safe(client, province):
    table = Table(
        name="t",
        caption="测试",
        columns=[Column("label", "名称"), Column("n", "数量")],
        rows=[{"label": '=HYPERLINK("http://x")', "n": -3}, {"label": "@SUM(A1)", "n": 2}],
    )
    csv = exports.to_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "'@SUM" in csv and ",-3" in csv
    book = load_workbook(io.BytesIO(exports.to_xlsx(table)))
    sheet = book.active
    assert sheet["A2"].value == '\'=HYPERLINK("http://x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -3

    province.submitted(province.item)
    facts.refresh()
    client.force_login(province.province_supervisor)
    response = client.get("/supervision/export/organisation.csv")
    assert response.status_code == 200
    assert "大连市公安局" in response.content.decode("utf-8-sig")
    xlsx = client.get("/supervision/export/organisation.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert rows[1][0] == "名称" and rows[2][0] == "大连市公安局" and rows[2][1] == 1
    assert client.get("/supervision/export/nothing.csv").status_code == 404


def test_large_screen(client, province):
    client.force_login(province.province_supervisor)
    response = client.get("/supervision/screen/")
    assert response.status_code == 200
    assert 'data-refresh="60"' in response.content.decode()
    assert "supervision/vendor/echarts.min.js" in response.content.decode()
