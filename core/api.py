"""JSON endpoints of core: divisions, organisations, the working-day calendar."""

from ninja import Router

router = Router(tags=["基础数据"])
