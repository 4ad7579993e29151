"""The demo's mobile app (辽事通) as a registered sign-in client of every node: it signs
people in with the authorization code flow and PKCE (docs/signon.md shows the calls)."""

from __future__ import annotations

from core.actors import Actor
from signon.models import Client
from signon.provider import register_client

DEMO_APP = "liaoshitong"
DEMO_APP_NAME = "辽事通（演示）"
# The app's own scheme (RFC 8252 §7.1), and a loopback address for trying it from a shell.
DEMO_APP_REDIRECTS = ["cn.gov.tongban.app:/oauth/callback", "http://127.0.0.1:8765/callback"]


def load_demo_signon(*, actor: Actor) -> int:
    """Register the demo app once; how many clients were made (0 or 1)."""
    if Client.objects.filter(client_id=DEMO_APP).exists():
        return 0
    register_client(DEMO_APP, name=DEMO_APP_NAME, redirect_uris=DEMO_APP_REDIRECTS, actor=actor)
    return 1
