"""The portal in a real browser: keyboard-only navigation, 长辈模式, and axe-core's WCAG 2.1
A/AA rules on the main pages, the 证照夹, a licence (whose QR code must scan) and the
verification page.

Needs Debian's chromium at /usr/bin/chromium, the playwright package, and axe-core installed
by `make setup` under .venv/npm. Without them the tests skip locally and fail on CI (where
the environment variable CI is set), so that CI cannot pass without really running them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from licences.rendering import verify_url
from tests.portal.conftest import Catalog

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(settings.BASE_DIR) / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    # The live server reads what the test wrote, so the test commits; the seeded reference
    # data (divisions, themes, calendar) is restored after the flush for the tests after it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright 未安装（pip install -e '.[dev]'）"
    if not CHROMIUM.exists():
        return f"找不到 Chromium：{CHROMIUM}（apt-get install chromium）"
    if not AXE.exists():
        return f"找不到 axe-core：{AXE}（运行 make setup）"
    return None


@pytest.fixture
def browser_page(live_server, transactional_db) -> Iterator[Any]:
    """A fresh Chromium page; started after the test data so that the ORM never runs
    inside Playwright's event loop."""
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"浏览器测试在 CI 上必须运行：{reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        outside: list[str] = []
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith(live_server.url) else outside.append(request.url)
            ),
        )
        # The pages run under the node's Content-Security-Policy: anything it blocks is a
        # page that needs an inline script or style, or another origin.
        blocked: list[str] = []
        page.on(
            "console",
            lambda message: (
                blocked.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        yield page
        browser.close()
    assert not outside, f"页面请求了外部资源：{outside}"
    assert not blocked, f"内容安全策略拦截了：{blocked}"


def focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName.toLowerCase(), href: el.getAttribute("href") || "",
                    text: el.textContent.trim()};
        }"""
    )


def tab_to(page: Any, href: str, *, limit: int = 80) -> None:
    """Press Tab until the link to `href` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page)["href"] == href:
            return
    raise AssertionError(f"按 Tab {limit} 次仍未到达 {href}")


def test_home_zone_guide_by_keyboard_only(live_server, catalog: Catalog, browser_page):
    page = browser_page
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert focused(page) == {"tag": "a", "href": "#main", "text": "跳到主要内容"}
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    tab_to(page, "/zones/regional/")
    assert "区域通办专区" in focused(page)["text"]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + "/zones/regional/"
    assert page.locator("h1").inner_text().startswith("区域通办专区")

    guide = f"/items/{catalog.household.item.code}/"
    tab_to(page, guide)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + guide
    assert page.locator("h1").inner_text() == "户口迁移（夫妻投靠）"
    # The focus ring is visible: an outline on the focused link.
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_elder_mode_toggle_persists(live_server, catalog: Catalog, browser_page):
    page = browser_page
    page.goto(live_server.url + "/lists/")
    base_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert page.evaluate("document.documentElement.classList.contains('elder')") is False

    page.get_by_role("button", name="长辈模式").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + "/lists/"
    assert page.evaluate("document.documentElement.classList.contains('elder')") is True
    elder_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert elder_size >= 20 > base_size

    for path in ("/", f"/items/{catalog.household.item.code}/", "/zones/cross_province/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.classList.contains('elder')"), path
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 20
        # Secondary navigation is hidden; the main navigation stays.
        assert not page.locator(".secondary-nav").first.is_visible()
        assert page.get_by_role("navigation", name="主导航").is_visible()
        height = page.get_by_role("button", name="退出长辈模式").bounding_box()["height"]
        assert height >= 44

    with page.expect_navigation():
        page.get_by_role("button", name="退出长辈模式").click()
    assert page.url == live_server.url + "/zones/cross_province/"
    assert page.evaluate("document.documentElement.classList.contains('elder')") is False


def test_elder_mode_works_without_javascript(live_server, catalog: Catalog, browser_page):
    context = browser_page.context.browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/items/?q=hkqy")
    assert "户口迁移（夫妻投靠）" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="长辈模式").click()
    assert page.url == live_server.url + "/items/?q=hkqy"
    assert page.evaluate("document.documentElement.className") == "elder"
    context.close()


AXE_PAGES = [
    ("首页", "/", False),
    ("跨省通办专区", "/zones/cross_province/", False),
    ("区域通办专区", "/zones/regional/?theme=nope", False),
    ("办事指南", "GUIDE", False),
    ("事项查询", "/items/?q=hkqy&division=999999", False),
    ("清单", "/lists/cross-province/", False),
    ("清单比较", "/lists/cross-province/diff/", False),
    ("页面不存在", "/items/NOPE/", False),
    ("长辈模式首页", "/", True),
    ("长辈模式办事指南", "GUIDE", True),
]


def test_pages_have_no_axe_violations(
    live_server, catalog: Catalog, two_list_versions, browser_page
):
    page = browser_page
    axe = AXE.read_text(encoding="utf-8")
    failures: list[str] = []
    for name, path, elder in AXE_PAGES:
        path = path.replace("GUIDE", f"/items/{catalog.household.item.code}/")
        page.context.clear_cookies()
        if elder:
            page.context.add_cookies([{"name": "elder_mode", "value": "1", "url": live_server.url}])
        page.goto(live_server.url + path)
        page.evaluate(axe)  # DevTools evaluation: the page's CSP allows no inline script
        result = page.evaluate(
            """async () => {
                const r = await axe.run(document, {
                    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                    resultTypes: ["violations"],
                });
                return r.violations.map(v => ({
                    id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))
                }));
            }"""
        )
        if result:
            failures.append(f"{name} {path}: {json.dumps(result, ensure_ascii=False)}")
        # axe accepts a placeholder as a label; the portal does not.
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll(
                    "input:not([type=hidden]):not([type=submit]), select, textarea")]
                .filter(el => el.labels.length === 0).map(el => el.name)"""
        )
        if unlabelled:
            failures.append(f"{name} {path}: 没有 <label> 的表单控件 {unlabelled}")
    assert not failures, "\n".join(failures)


@dataclass
class LicenceScene:
    """A citizen with a licence, a draft whose material the licence can replace, a tampered
    token, and the citizen's session (built before the browser starts)."""

    identifier: str
    token: str
    tampered: str
    verify_path: str
    draft: str
    session: str


@pytest.fixture
def licence_scene(transactional_db) -> LicenceScene:
    from django.test import Client

    from tests.case_pages import (
        accept_licence_for,
        build_world,
        issue_licence,
        police_seal,
        tampered_token,
    )

    world = build_world()
    police_seal(world)
    licence = issue_licence(world)
    accept_licence_for(world.version, "居民户口簿", licence.licence_type)
    client = Client()
    client.force_login(world.applicant.user)
    response = client.post(
        f"/items/{world.version.item.code}/apply/",
        {
            "applicant": "person",
            "place": "210200",
            "idempotency_key": "browser",
            "form-reason": "夫妻投靠",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = response["Location"].split("/")[3]
    return LicenceScene(
        identifier=licence.identifier,
        token=licence.token,
        tampered=tampered_token(licence.token),
        verify_path=verify_url(licence.token).removeprefix(settings.PUBLIC_BASE_URL),
        draft=draft,
        session=client.cookies["sessionid"].value,
    )


def _axe(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not an inline script: the CSP
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                resultTypes: ["violations"],
            });
            return r.violations.map(v => ({
                id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))
            }));
        }"""
    )


def test_licence_pages_have_no_axe_violations(live_server, licence_scene, browser_page):
    page = browser_page
    scene = licence_scene
    pages = [
        ("证照夹", True, "/my/licences/", False),
        ("证照详情", True, f"/my/licences/{scene.identifier}/", False),
        ("证照详情（长辈模式）", True, f"/my/licences/{scene.identifier}/", True),
        ("上传材料（可用电子证照）", True, f"/my/cases/{scene.draft}/materials/", False),
        ("核验（有效）", False, f"/verify/?t={scene.token}", False),
        ("核验（有效，长辈模式）", False, f"/verify/?t={scene.token}", True),
        ("核验（已被篡改）", False, f"/verify/?t={scene.tampered}", False),
        ("核验（粘贴令牌）", False, "/verify/", False),
        ("核验（未填写）", False, "/verify/?t=", False),
    ]
    failures: list[str] = []
    for name, signed_in, path, elder in pages:
        page.context.clear_cookies()
        cookies = []
        if signed_in:
            cookies.append({"name": "sessionid", "value": scene.session, "url": live_server.url})
        if elder:
            cookies.append({"name": "elder_mode", "value": "1", "url": live_server.url})
        if cookies:
            page.context.add_cookies(cookies)
        response = page.goto(live_server.url + path)
        assert response is not None and response.status in (200, 422), f"{name} {path}"
        violations = _axe(page)
        if violations:
            failures.append(f"{name} {path}: {json.dumps(violations, ensure_ascii=False)}")
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll(
                    "input:not([type=hidden]):not([type=submit]), select, textarea")]
                .filter(el => el.labels.length === 0).map(el => el.name)"""
        )
        if unlabelled:
            failures.append(f"{name} {path}: 没有 <label> 的表单控件 {unlabelled}")
    assert not failures, "\n".join(failures)


def test_the_licence_page_qr_code_decodes_to_the_verify_link(
    live_server, licence_scene, browser_page, tmp_path
):
    """The inline SVG QR code, as Chromium draws it, scans to the licence's verify URL."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        if os.environ.get("CI"):
            pytest.fail("zbarimg 未安装（apt-get install zbar-tools）")
        pytest.skip("zbarimg 未安装")
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": licence_scene.session, "url": live_server.url}]
    )
    page.goto(live_server.url + f"/my/licences/{licence_scene.identifier}/")
    shot = tmp_path / "qr.png"
    page.locator(".qr-code").screenshot(path=str(shot))
    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(shot)], capture_output=True, text=True, check=False
    )
    assert decoded.stdout.strip() == verify_url(licence_scene.token), decoded.stderr
    # The QR code opens the verification page, which says the licence is valid.
    page.context.clear_cookies()
    page.goto(live_server.url + licence_scene.verify_path)
    assert "核验结果：有效" in page.locator("main").inner_text()


def test_tables_stay_readable_on_a_390_px_phone(
    live_server, catalog: Catalog, two_list_versions, browser_page
):
    """Columns keep at least four characters' width and the table scrolls inside its
    region; the page itself never scrolls sideways."""
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    guide = f"/items/{catalog.household.item.code}/"
    failures = []
    for path in (guide, "/lists/cross-province/", "/lists/cross-province/diff/"):
        page.goto(live_server.url + path)
        found = page.evaluate(
            """() => {
                const cells = [...document.querySelectorAll(".data-table th, .data-table td")];
                const size = parseFloat(getComputedStyle(document.body).fontSize);
                return {
                    tables: document.querySelectorAll(".data-table").length,
                    pageWidth: document.documentElement.scrollWidth,
                    narrow: cells.filter(c => c.getBoundingClientRect().width < 3.9 * size)
                        .map(c => c.textContent.trim().slice(0, 12)),
                };
            }"""
        )
        if found["tables"] == 0:
            failures.append(f"{path}: 没有表格")
        if found["pageWidth"] > 390:
            failures.append(f"{path}: 页面宽 {found['pageWidth']}px，出现横向滚动")
        if found["narrow"]:
            failures.append(f"{path}: 过窄的单元格 {found['narrow']}")
    assert not failures, "\n".join(failures)
