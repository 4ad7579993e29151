"""证照夹, one licence, the public verification page and 免提交 in the apply flow: the
holder sees their licences with QR code, seal, PDF and every use and verification; anyone
else gets a 404; /verify/ answers valid, tampered, revoked and unknown issuer in words,
shows only the masked face, and logs each verification."""

from __future__ import annotations

import re

import pytest
import segno
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import CaseMaterial
from core.actors import SystemActor
from licences import canonical, rendering
from licences import services as licence_services
from licences.models import Licence, LicenceEvent
from tests import builders
from tests.case_pages import (
    REGISTERED_ADDRESS,
    World,
    accept_licence_for,
    apply_online,
    issue_licence,
    pdf,
    police_seal,
    tampered_token,
)
from tests.portal.html import assert_accessible_structure, text


@pytest.fixture
def licence(world: World) -> Licence:
    police_seal(world)
    return issue_licence(world)


def _verify(client, token: str):
    return client.get("/verify/", {"t": token})


def _events(licence: Licence, kind: str = "verified"):
    return LicenceEvent.objects.filter(licence=licence, kind=kind)


# 证照夹 and the licence page ------------------------------------------------------------------


def test_wallet_lists_my_licences_only(client, world: World, licence: Licence):
    stranger = builders.person("陈九")
    other = issue_licence(world, stranger)
    client.force_login(world.applicant.user)
    response = client.get("/my/licences/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    page = text(response.content)
    assert "居民户籍证明" in page and licence.number in page
    assert "大连市公安局" in page and "有效" in page
    assert other.number not in page
    assert f'href="/my/licences/{licence.identifier}/"' in response.content.decode()
    # The account bar leads to it; the footer to the public verification page.
    assert 'href="/my/licences/"' in response.content.decode()
    assert 'href="/verify/"' in response.content.decode()


def test_wallet_shows_revoked_and_expired_in_words(client, world: World, licence: Licence):
    licence_services.revoke_licence(licence, reason="决定被撤销", actor=SystemActor("test"))
    expired = issue_licence(world)
    Licence.objects.filter(pk=expired.pk).update(valid_until="2020-01-01")  # setup only
    client.force_login(world.applicant.user)
    page = text(client.get("/my/licences/").content)
    assert "已撤销" in page and "已过期" in page


def test_licence_page_shows_face_qr_seal_download_and_history(
    client, world: World, licence: Licence
):
    licence_services.verify_token(licence.token, actor=AnonymousUser(), channel="page")
    client.force_login(world.applicant.user)
    response = client.get(f"/my/licences/{licence.identifier}/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    html = response.content.decode()
    page = text(html)
    # Face data under their labels, the holder's code masked.
    assert "户籍地址" in page and REGISTERED_ADDRESS in page
    assert licence.holder_code_masked in page and world.applicant.id_number not in page
    # The QR code is an inline SVG image holding the verify URL of the licence's token.
    qr = re.search(
        r'<svg role="img" aria-label="[^"]*核验二维码"[^>]*class="qr-code">.*?</svg>', html
    )
    assert qr, "inline QR code"
    expected = segno.make(rendering.verify_url(licence.token), error="m").svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr-code", dark="#000", light="#fff"
    )
    assert qr.group(0) == expected.replace(
        "<svg ", '<svg role="img" aria-label="居民户籍证明核验二维码" ', 1
    )
    # The seal image, named for screen readers.
    assert 'class="seal"' in html and 'aria-label="大连市公安局电子印章"' in html
    # The download link and the history: issued, and verified by an anonymous visitor.
    assert f'href="/my/licences/{licence.identifier}/pdf/"' in html
    assert "使用与核验记录" in page and "签发" in page
    assert "匿名用户" in page and "经核验页面" in page


def test_pdf_download_is_logged_and_shown(client, world: World, licence: Licence):
    try:
        rendering.cjk_font()
    except rendering.FontMissing as exc:
        pytest.skip(str(exc))
    client.force_login(world.applicant.user)
    response = client.get(f"/my/licences/{licence.identifier}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    event = _events(licence, "downloaded").get()
    assert event.actor == world.applicant.user
    page = text(client.get(f"/my/licences/{licence.identifier}/").content)
    assert "下载版式文件（PDF）" in page and "本人" in page


def test_pdf_without_a_font_says_so_and_logs_nothing(
    client, world: World, licence: Licence, monkeypatch
):
    from portal import licence_display

    def missing(_licence, **_kwargs):
        raise rendering.FontMissing("no font")

    monkeypatch.setattr(licence_display, "render_licence_pdf", missing)
    client.force_login(world.applicant.user)
    response = client.get(f"/my/licences/{licence.identifier}/pdf/")
    assert response.status_code == 503
    assert "暂时无法生成版式文件" in text(response.content)
    assert not _events(licence, "downloaded").exists()


def test_a_stranger_and_staff_get_404(client, world: World, licence: Licence):
    for user in (builders.person("陈九").user, world.reviewer):
        client.force_login(user)
        for url in (
            f"/my/licences/{licence.identifier}/",
            f"/my/licences/{licence.identifier}/pdf/",
        ):
            response = client.get(url)
            assert response.status_code == 404, (user, url)
            assert "电子证照不存在或无权查看" in text(response.content)
        assert licence.number not in text(client.get("/my/licences/").content)
    assert not _events(licence, "downloaded").exists()


def test_wallet_needs_sign_in(client, licence: Licence):
    response = client.get("/my/licences/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_wallet_queries_do_not_grow_with_licences(client, world: World):
    police_seal(world)
    client.force_login(world.applicant.user)
    for _ in range(3):
        issue_licence(world)
    client.get("/my/licences/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/my/licences/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for _ in range(9):
        issue_licence(world)
    large = count()
    assert small == large, f"{small} queries with 3 licences, {large} with 12"


# /verify/ ----------------------------------------------------------------------------------


def test_verify_valid_shows_only_the_masked_face_and_is_logged(
    client, world: World, licence: Licence
):
    response = _verify(client, licence.token)
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    page = text(response.content)
    assert "核验结果：有效" in page
    assert "签名有效，证照在有效期内" in page and "已向签发机构查询撤销状态" in page
    assert "verdict-valid" in response.content.decode()
    assert "张**" in page and licence.holder_code_masked in page
    assert "居民户籍证明" in page and "大连市公安局" in page and licence.identifier in page
    # Nothing beyond the token's masked face: no name, ID number or face data.
    assert "张三丰" not in page
    assert world.applicant.id_number not in page
    assert REGISTERED_ADDRESS not in page
    event = _events(licence).get()
    assert event.outcome == "valid" and event.actor is None
    assert event.actor_label == "匿名用户" and event.detail["channel"] == "page"


def test_verify_as_a_signed_in_user_logs_the_user(client, world: World, licence: Licence):
    client.force_login(world.reviewer)
    _verify(client, licence.token)
    assert _events(licence).get().actor == world.reviewer


def test_one_changed_character_is_tampered(client, world: World, licence: Licence):
    forged = tampered_token(licence.token)
    assert sum(a != b for a, b in zip(forged, licence.token, strict=True)) == 1
    response = _verify(client, forged)
    assert response.status_code == 200
    page = text(response.content)
    assert "核验结果：已被篡改" in page and "请勿采信" in page
    assert "签名验证失败" in page
    assert "未能查询撤销状态" in page
    assert "verdict-tampered" in response.content.decode()
    # A forged token shows no face at all.
    assert "证照信息" not in page and licence.identifier not in page
    garbage = text(_verify(client, "TB1.not-a-token").content)
    # Input that is no token at all is told apart from tampering, and not logged: nothing
    # was verified.
    assert "核验结果：格式错误" in garbage and "令牌格式错误" in garbage
    assert "这不表示证照被篡改" in garbage and "已被篡改" not in garbage
    outcomes = LicenceEvent.objects.filter(kind="verified").values_list("outcome", "licence")
    assert list(outcomes) == [("tampered", None)]


def test_revoked_licence_says_so_with_the_reason(client, world: World, licence: Licence):
    licence_services.revoke_licence(licence, reason="申请人告知承诺不实", actor=SystemActor("test"))
    page = text(_verify(client, licence.token).content)
    assert "核验结果：已撤销" in page and "申请人告知承诺不实" in page
    assert _events(licence).get().outcome == "revoked"


def test_unknown_issuer(client, world: World, licence: Licence):
    _, payload, signature = canonical.split_token(licence.token)
    stranger = canonical.build_token(
        canonical.canonical_json({**payload, "kid": "0" * 64}), signature
    )
    page = text(_verify(client, stranger).content)
    assert "核验结果：签发机构未知" in page and "未能查询撤销状态" in page
    event = LicenceEvent.objects.get(kind="verified")
    assert event.outcome == "unknown_issuer" and event.licence is None


def test_without_a_token_a_form_and_nothing_logged(client, world: World, licence: Licence):
    response = client.get("/verify/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    assert 'name="t"' in response.content.decode() and "粘贴核验令牌" in text(response.content)
    empty = client.get("/verify/", {"t": "  "})
    assert empty.status_code == 422 and "请粘贴核验令牌或核验链接" in text(empty.content)
    assert not LicenceEvent.objects.filter(kind="verified").exists()


def test_a_pasted_link_is_verified_by_its_token(client, world: World, licence: Licence):
    page = text(_verify(client, rendering.verify_url(licence.token)).content)
    assert "核验结果：有效" in page
    assert _events(licence).count() == 1
    bad = client.get("/verify/", {"t": "https://example.org/verify/?x=1"})
    assert bad.status_code == 422 and "链接中没有核验令牌" in text(bad.content)


# 免提交 in the apply flow ---------------------------------------------------------------------


@pytest.fixture
def reusable(world: World, licence: Licence):
    """The world's item accepts the 居民户籍证明 in place of the 居民户口簿."""
    material = accept_licence_for(world.version, "居民户口簿", licence.licence_type)
    return material, licence


def _draft(client, world: World) -> str:
    return apply_online(client, world.version, {"reason": "夫妻投靠"}, submit=False)


def test_apply_offers_and_uses_the_licence(client, world: World, reusable):
    material, licence = reusable
    client.force_login(world.applicant.user)
    number = _draft(client, world)
    page = client.get(f"/my/cases/{number}/materials/")
    html = page.content.decode()
    assert_accessible_structure(html)
    choice = f"{material.pk}:{licence.identifier}"
    assert f'name="use_licence" value="{choice}"' in html
    assert "使用电子证照（免提交）" in text(html) and licence.number in text(html)

    response = client.post(f"/my/cases/{number}/materials/", {"use_licence": choice})
    assert response.status_code == 302
    assert response["Location"] == f"/my/cases/{number}/materials/#material-{material.pk}"
    given = CaseMaterial.objects.get(case__number=number, requirement=material)
    assert given.licence == licence and given.licence_verified_at
    assert _events(licence, "used").get().detail["case"] == number

    page = client.get(f"/my/cases/{number}/materials/")
    html = page.content.decode()
    assert f"电子证照 {licence.identifier}（已核验）" in text(html)
    assert f'href="/verify/?t={licence.token}"' in html
    assert 'name="use_licence"' not in html  # nothing more to offer
    assert f'name="material_{material.pk}"' not in html  # and no upload for it

    # The other materials as files, then submit: the case page shows the licence too.
    others = {
        f"material_{m.pk}": pdf(f"{m.name}.pdf", m.name)
        for m in world.version.materials.exclude(pk=material.pk)
    }
    assert client.post(f"/my/cases/{number}/materials/", others).status_code == 302
    assert client.post(f"/my/cases/{number}/submit/").status_code == 302
    detail = client.get(f"/my/cases/{number}/")
    assert f"电子证照 {licence.identifier}（已核验）" in text(detail.content)
    assert f'href="/verify/?t={licence.token}"' in detail.content.decode()


def test_revoked_licence_is_not_offered_and_refused_in_chinese(client, world: World, reusable):
    material, licence = reusable
    client.force_login(world.applicant.user)
    number = _draft(client, world)
    licence_services.revoke_licence(licence, reason="测试撤销", actor=SystemActor("test"))
    assert 'name="use_licence"' not in client.get(f"/my/cases/{number}/materials/").content.decode()
    response = client.post(
        f"/my/cases/{number}/materials/", {"use_licence": f"{material.pk}:{licence.identifier}"}
    )
    assert response.status_code == 422
    page = text(response.content)
    assert "电子证照核验未通过（已撤销）" in page and "测试撤销" in page
    assert not CaseMaterial.objects.filter(case__number=number).exists()


def test_someone_elses_licence_is_refused(client, world: World, reusable):
    material, _ = reusable
    other = issue_licence(world, builders.person("陈九"))
    client.force_login(world.applicant.user)
    number = _draft(client, world)
    response = client.post(
        f"/my/cases/{number}/materials/", {"use_licence": f"{material.pk}:{other.identifier}"}
    )
    assert response.status_code == 404
    assert "电子证照不存在或无权查看" in text(response.content)
    assert not CaseMaterial.objects.filter(case__number=number).exists()
    assert not _events(other, "used").exists()


def test_licence_of_the_wrong_type_is_refused(client, world: World, reusable):
    _, licence = reusable
    client.force_login(world.applicant.user)
    number = _draft(client, world)
    marriage = world.material("结婚证")
    response = client.post(
        f"/my/cases/{number}/materials/", {"use_licence": f"{marriage.pk}:{licence.identifier}"}
    )
    assert response.status_code == 422
    assert "“结婚证”不接受以“居民户籍证明”代替" in text(response.content)
    assert not CaseMaterial.objects.filter(case__number=number).exists()
