"""Anonymous verification is limited per client address, and malformed tokens write no
log row (decision 85)."""

from __future__ import annotations

import json

from licences.models import LicenceEvent
from tests import builders


def _api(client, token: str, **extra):
    return client.post(
        "/api/v1/licences/verify",
        json.dumps({"token": token}),
        content_type="application/json",
        **extra,
    )


def test_malformed_tokens_write_no_log_row(client):
    for token in ("not a token", "1.2.3", "x" * 2000):
        r = _api(client, token)
        assert r.status_code == 200 and r.json()["code"] == "token_malformed"
    assert client.get("/verify/", {"t": "garbage"}).status_code == 200
    assert not LicenceEvent.objects.exists()


def test_anonymous_verification_is_throttled_per_address(client, settings):
    settings.VERIFY_RATE_LIMIT = 3
    for _ in range(3):
        assert _api(client, "junk").status_code == 200
    r = _api(client, "junk")
    assert r.status_code == 429 and r["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == "rate_limited"
    page = client.get("/verify/", {"t": "junk"})
    assert page.status_code == 429 and "请求过于频繁" in page.content.decode()
    # Another address is not affected, nor a signed-in user.
    assert _api(client, "junk", REMOTE_ADDR="10.0.0.9").status_code == 200
    user = builders.person("刘一").user
    assert _api(client, "junk", **builders.bearer(user)).status_code == 200
    # The blank form is not counted.
    assert client.get("/verify/", REMOTE_ADDR="10.0.0.7").status_code == 200
