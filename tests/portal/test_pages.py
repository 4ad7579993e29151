"""Every portal page renders the catalog's content in Chinese, with an accessible structure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from catalog.services import draft_item_version, publish_item_version
from core.actors import SystemActor
from tests import builders
from tests.portal.html import assert_accessible_structure, text


def get_text(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    assert response["Content-Type"].startswith("text/html")
    assert_accessible_structure(response.content)
    return text(response.content)


# Home and zones -----------------------------------------------------------------------


def test_home_shows_zones_with_counts_search_browse_and_lists(client, catalog):
    page = get_text(client, "/")
    assert "跨省通办专区 2 项可办事项" in page
    assert "区域通办专区（东北三省一区） 2 项可办事项" in page
    assert "省内通办专区 2 项可办事项" in page
    assert "搜索政务服务事项" in page
    for entry in ("按服务对象", "个人办事", "企业办事", "按主题", "户籍", "按部门", "按区划"):
        assert entry in page
    assert "沈阳市公安局" in page  # department select
    assert "全国跨省通办事项清单 现行第 1 版，2024年6月1日起施行" in page
    html = client.get("/").content.decode()
    assert 'href="/zones/regional/"' in html
    assert 'href="/items/?audience=company"' in html
    assert 'href="/items/?theme=household"' in html
    assert 'href="/items/?division=210100"' in html
    assert 'href="/lists/northeast/"' in html


def test_home_without_any_catalog_still_renders(client):
    page = get_text(client, "/")
    assert "跨省通办专区 0 项可办事项" in page
    assert "暂未发布事项清单" in page


@pytest.mark.parametrize(
    ("scope", "title", "present", "absent"),
    [
        (
            "cross_province",
            "跨省通办专区",
            ["户口迁移（夫妻投靠）", "社会保障卡申领"],
            ["工业产品"],
        ),
        (
            "regional",
            "区域通办专区",
            ["户口迁移（夫妻投靠）", "工业产品生产许可证核发"],
            ["社会保障卡"],
        ),
        ("in_province", "省内通办专区", ["户口迁移（夫妻投靠）", "社会保障卡申领"], ["工业产品"]),
    ],
)
def test_zone_lists_the_items_of_its_lists_in_force(client, catalog, scope, title, present, absent):
    page = get_text(client, f"/zones/{scope}/")
    assert title in page
    for name in present:
        assert name in page
    for name in absent:
        assert name not in page


def test_zone_rows_show_modes_owner_and_promised_limit(client, catalog):
    page = get_text(client, "/zones/regional/")
    assert "区域通办专区（东北三省一区）" in page
    assert "依据清单： 东北三省一区区域通办事项清单（第 1 版，2024年6月1日起施行）" in page
    assert "户口迁移（夫妻投靠） 沈阳市公安局 沈阳市 异地代收代办 10 个工作日" in page
    assert "工业产品生产许可证核发 大连市市场监督管理局 大连市 异地代收代办 10 个工作日" in page
    page = get_text(client, "/zones/cross_province/")
    assert "社会保障卡申领 辽宁省人力资源和社会保障厅 辽宁省 全程网办 5 个工作日" in page


def test_zone_filters_by_theme_and_audience(client, catalog):
    page = get_text(client, "/zones/regional/?theme=business")
    assert "工业产品生产许可证核发" in page
    assert "户口迁移" not in page
    page = get_text(client, "/zones/regional/?audience=person")
    assert "户口迁移（夫妻投靠）" in page
    assert "工业产品" not in page
    page = get_text(client, "/zones/regional/?theme=education")
    assert "没有符合条件的事项" in page


def test_zone_unknown_filter_value_is_a_chinese_message(client, catalog):
    page = get_text(client, "/zones/regional/?theme=nope&audience=alien")
    assert "未知的主题“nope”，已忽略该条件。" in page
    assert "未知的服务对象“alien”，已忽略该条件。" in page
    assert "工业产品生产许可证核发" in page  # the bad conditions are dropped


def test_unknown_zone_is_a_chinese_404(client):
    page = get_text(client, "/zones/elsewhere/", status=404)
    assert "页面不存在" in page
    assert "没有“elsewhere”这个通办专区" in page


def test_empty_zone_says_so(client):
    assert "本专区暂无事项" in get_text(client, "/zones/in_province/")


# Browse and search -------------------------------------------------------------------


def test_items_lists_every_item_in_force_with_its_facts(client, catalog):
    page = get_text(client, "/items/")
    assert "共找到 3 个事项" in page
    assert (
        "户口迁移（夫妻投靠） 沈阳市公安局 · 沈阳市 · 行政确认 跨省通办·全程网办 "
        "省内通办·全程网办 区域通办·异地代收代办 "
        "服务对象 自然人 承诺办结时限 10 个工作日 到现场次数 0 次 主题 婚育、户籍"
    ) in page


def test_search_by_chinese_word_and_by_pinyin_initials(client, catalog):
    for query in ("户口迁移", "户口", "hkqy", "shbzk"):
        page = get_text(client, f"/items/?q={query}")
        expected = "社会保障卡申领" if query == "shbzk" else "户口迁移（夫妻投靠）"
        assert "共找到 1 个事项" in page, query
        assert expected in page
    assert "“hkqy”的搜索结果" in client.get("/items/?q=hkqy").content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("theme=business", ["工业产品生产许可证核发"]),
        ("audience=company", ["工业产品生产许可证核发"]),
        ("audience=person", ["户口迁移（夫妻投靠）", "社会保障卡申领"]),
        ("scope=cross_province", ["户口迁移（夫妻投靠）", "社会保障卡申领"]),
        ("scope=regional&mode=proxy", ["户口迁移（夫妻投靠）", "工业产品生产许可证核发"]),
        ("division=210100", ["户口迁移（夫妻投靠）"]),
        ("division=210000", ["户口迁移（夫妻投靠）", "社会保障卡申领", "工业产品生产许可证核发"]),
    ],
)
def test_items_filters(client, catalog, query, expected):
    page = get_text(client, f"/items/?{query}")
    assert f"共找到 {len(expected)} 个事项" in page
    for name in expected:
        assert name in page


def test_items_filter_by_department(client, catalog):
    uscc = catalog.licence.item.organisation.uscc
    page = get_text(client, f"/items/?organisation={uscc.lower()}")
    assert "共找到 1 个事项" in page
    assert "工业产品生产许可证核发" in page


def test_items_unknown_filter_values_are_chinese_messages(client, catalog):
    page = get_text(
        client,
        "/items/?theme=nope&audience=x&organisation=BAD&division=999999&scope=moon&mode=teleport",
    )
    assert "部分筛选条件无法识别" in page
    for message in (
        "未知的主题“nope”",
        "未知的服务对象“x”",
        "未知的部门“BAD”",
        "未知的行政区划“999999”",
        "未知的通办范围“moon”",
        "未知的业务模式“teleport”",
    ):
        assert message in page
    assert "共找到 3 个事项" in page


def test_items_known_division_without_items_is_empty_not_unknown(client, catalog):
    page = get_text(client, "/items/?division=210500")
    assert "未知的行政区划" not in page
    assert "没有找到符合条件的事项" in page


def test_items_empty_state(client, catalog):
    page = get_text(client, "/items/?q=宇宙飞船")
    assert "没有找到符合条件的事项" in page
    assert "拼音首字母" in page
    assert "清除全部条件" in page


def test_items_are_paginated_and_keep_the_filters(client):
    org = builders.organisation("沈阳市公安局", "210100")
    for n in range(23):
        builders.item(f"测试事项{n:02d}", org=org)
    response = client.get("/items/?scope=cross_province")
    page = text(response.content)
    assert "共找到 23 个事项" in page
    assert "第 1 页，共 2 页" in page
    assert 'href="?scope=cross_province&amp;page=2"' in response.content.decode()
    page = get_text(client, "/items/?scope=cross_province&page=2")
    assert "测试事项22" in page
    assert "测试事项00" not in page
    assert "第 2 页，共 2 页" in get_text(client, "/items/?scope=cross_province&page=99")


# Item versions -----------------------------------------------------------------------


def test_item_version_history_and_old_versions(client, catalog):
    code = catalog.household.item.code
    draft = draft_item_version(
        catalog.household.item,
        effective_from=dt.date(2025, 3, 1),
        actor=SystemActor("test"),
        change_note="承诺时限缩短为 7 个工作日",
    )
    draft.promised_limit = 7
    draft.save()
    publish_item_version(draft, actor=SystemActor("test"))

    page = get_text(client, f"/items/{code}/versions/")
    assert "户口迁移（夫妻投靠） 版本记录" in page
    assert "第 2 版 现行 户口迁移（夫妻投靠） 2025年3月1日" in page
    assert "承诺时限缩短为 7 个工作日" in page
    assert "第 1 版 户口迁移（夫妻投靠） 2024年1月1日" in page

    page = get_text(client, f"/items/{code}/")
    assert "承诺办结时限 7 个工作日" in page
    assert "第 2 版（现行）" in page

    page = get_text(client, f"/items/{code}/versions/1/")
    assert "您正在查看本事项第 1 版（2024年1月1日起施行），不是现行版本" in page
    assert "承诺办结时限 10 个工作日" in page
    page = get_text(client, f"/items/{code}/versions/2/")
    assert "不是现行版本" not in page


def test_item_pages_404_in_chinese(client, catalog):
    code = catalog.household.item.code
    assert "事项 NOPE 不存在" in get_text(client, "/items/NOPE/", status=404)
    assert "事项 NOPE 不存在" in get_text(client, "/items/NOPE/versions/", status=404)
    page = get_text(client, f"/items/{code}/versions/9/", status=404)
    assert f"事项 {code} 没有已发布的第 9 版" in page


def test_item_without_version_in_force_is_404(client):
    future = builders.item("未来事项", effective_from=dt.date(2999, 1, 1))
    page = get_text(client, f"/items/{future.item.code}/", status=404)
    assert "当前没有生效的版本" in page
    # Its published (future) version can still be read.
    assert "未来事项" in get_text(client, f"/items/{future.item.code}/versions/1/")


# Lists -------------------------------------------------------------------------------


def test_lists_page_shows_each_list_with_its_current_version(client, catalog):
    page = get_text(client, "/lists/")
    assert "全国跨省通办事项清单 跨省通办 第 1 版 2024年6月1日 2 项 首次发布" in page
    assert "东北三省一区区域通办事项清单 区域通办（东北三省一区） 第 1 版" in page
    assert "辽宁省省内通办事项清单 省内通办 第 1 版" in page


def test_list_detail_shows_entries_and_history(client, catalog, two_list_versions):
    page = get_text(client, "/lists/cross-province/")
    assert "第 2 版（现行）" in page
    assert (
        "社会保障卡申领 辽宁省人力资源和社会保障厅 辽宁省 全程网办 5 个工作日 可通过辽事通办理"
        in page
    )
    assert "居民身份证换领" in page
    assert "户口迁移" not in page.split("更新记录")[0]
    assert "第 2 版（本页） 2025年1月1日" in page
    assert "新增居民身份证换领；移除户口迁移" in page
    assert "比较第 1 版与第 2 版" in page
    assert "首次发布" in page


def test_list_version_page(client, catalog, two_list_versions):
    page = get_text(client, "/lists/cross-province/versions/1/")
    assert "您正在查看第 1 版（2024年6月1日起施行），不是现行版本" in page
    assert "户口迁移（夫妻投靠）" in page
    assert "可通过辽事通办理" not in page
    assert "清单 全国跨省通办事项清单 没有已发布的第 7 版" in get_text(
        client, "/lists/cross-province/versions/7/", status=404
    )


def test_list_diff_defaults_to_the_last_two_versions(client, catalog, two_list_versions):
    page = get_text(client, "/lists/cross-province/diff/")
    assert (
        "从第 1 版（2024年6月1日）到第 2 版（2025年1月1日）：新增 1 项，移除 1 项，变更 1 项"
        in page
    )
    added, removed = page.split("新增事项（1 项）")[1].split("移除事项（1 项）")
    assert "居民身份证换领" in added
    assert "户口迁移（夫妻投靠）" in removed.split("变更事项")[0]
    assert "社会保障卡申领 备注 （无） 可通过辽事通办理" in page


def test_list_diff_explicit_and_reversed(client, catalog, two_list_versions):
    page = get_text(client, "/lists/cross-province/diff/?from=2&to=1")
    assert (
        "从第 2 版（2025年1月1日）到第 1 版（2024年6月1日）：新增 1 项，移除 1 项，变更 1 项"
        in page
    )


def test_list_diff_shows_a_pinned_item_version_change(client, catalog):
    draft = draft_item_version(
        catalog.social.item,
        effective_from=dt.date(2024, 9, 1),
        actor=SystemActor("test"),
        change_note="减少材料",
    )
    publish_item_version(draft, actor=SystemActor("test"))
    from catalog.services import draft_list_version, publish_list_version

    publish_list_version(
        draft_list_version(
            catalog.cross,
            effective_from=dt.date(2024, 10, 1),
            actor=SystemActor("test"),
            change_note="更新事项版本",
        ),
        actor=SystemActor("test"),
    )
    page = get_text(client, "/lists/cross-province/diff/")
    assert "社会保障卡申领 事项版本 事项第 1 版 事项第 2 版：减少材料" in page


def test_list_diff_bad_versions_are_chinese_messages(client, catalog, two_list_versions):
    page = get_text(client, "/lists/cross-province/diff/?from=1&to=1")
    assert "请选择两个不同的版本进行比较。" in page
    page = get_text(client, "/lists/cross-province/diff/?from=1")
    assert "请同时选择原版本和新版本。" in page
    page = get_text(client, "/lists/cross-province/diff/?from=x&to=9")
    assert "该清单没有已发布的第 x 版。" in page
    assert "该清单没有已发布的第 9 版。" in page


def test_list_diff_with_a_single_version(client, catalog):
    assert "本清单只发布了一个版本" in get_text(client, "/lists/northeast/diff/")


def test_list_404s(client):
    assert "清单 nope 不存在" in get_text(client, "/lists/nope/", status=404)
    assert "清单 nope 不存在" in get_text(client, "/lists/nope/diff/", status=404)


def test_unknown_url_is_a_chinese_404(client):
    page = get_text(client, "/no/such/page/", status=404)
    assert "您访问的页面不存在" in page


# Navigation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/", '<a href="/" aria-current="page">首页</a>'),
        ("/zones/regional/", '<a href="/zones/regional/" aria-current="page">区域通办</a>'),
        ("/items/", '<a href="/items/" aria-current="page">事项查询</a>'),
        ("/items/?q=x", '<a href="/items/" aria-current="page">事项查询</a>'),
        ("/lists/", '<a href="/lists/" aria-current="page">事项清单</a>'),
        ("/lists/cross-province/", '<a href="/lists/" aria-current="true">事项清单</a>'),
    ],
)
def test_main_navigation_marks_the_current_section(client, catalog, url, current):
    html = client.get(url).content.decode()
    assert current in html
    assert html.count("aria-current=") >= 1


def test_pages_use_only_local_static_files(client, catalog):
    html = client.get(f"/items/{catalog.household.item.code}/").content.decode()
    assert '<link rel="stylesheet" href="/static/portal/portal.css">' in html
    assert "http://" not in html.split("<body")[0]
    assert "https://" not in html.split("<body")[0]
    assert client.get("/static/portal/portal.css").status_code == 200


def test_search_and_browsing_put_the_nodes_own_province_first(client, catalog, settings):
    jilin = builders.item("长春市户口迁移", org=builders.organisation("长春市公安局", "220100"))
    builders.offered(jilin)
    names = ["户口迁移（夫妻投靠）", "长春市户口迁移"]

    def order(url):
        page = get_text(client, url)
        return sorted(names, key=page.index)

    assert order("/items/") == names  # on the Liaoning node
    assert order("/items/?q=户口迁移") == names
    settings.NODE_DIVISION = "220000"  # the same catalog seen on the Jilin node
    assert order("/items/") == names[::-1]
    assert order("/items/?q=户口迁移") == names[::-1]


def test_the_department_filter_starts_empty(client, catalog):
    html = client.get("/items/").content.decode()
    select = html[
        html.index('name="organisation"') : html.index(
            "</select>", html.index('name="organisation"')
        )
    ]
    assert '<option value="" selected>不限</option>' in select
    assert select.count("selected") == 1
