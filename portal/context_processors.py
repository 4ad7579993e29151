"""Values every portal page needs: the node's name and whether 长辈模式 is on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

ELDER_MODE_COOKIE = "elder_mode"


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "node_name": settings.NODE_NAME,
        "elder_mode": request.COOKIES.get(ELDER_MODE_COOKIE) == "1",
    }
