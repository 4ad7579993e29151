"""JSON endpoints of the catalog: items, their versions, lists and their diffs."""

from ninja import Router

router = Router(tags=["事项目录"])
