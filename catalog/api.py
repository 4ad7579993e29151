"""JSON endpoints of the catalog: items, their versions, lists and their diffs.

Every handler parses, calls selectors, and lets the schema serialise. Listings issue a
constant number of queries whatever their length (the selectors join and prefetch).
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router

from catalog import bundles, selectors
from catalog.models import BundleVersion, ItemList, ItemVersion, ListVersion
from catalog.schemas import (
    BundleVersionOut,
    BundleVersionSummaryOut,
    ItemListDetailOut,
    ItemListOut,
    ItemQuery,
    ItemVersionOut,
    ItemVersionRowOut,
    ItemVersionSummaryOut,
    ListDiffOut,
    ListVersionOut,
    ListVersionSummaryOut,
)
from core.api import paginated
from core.schemas import MAX_VERSION, ProblemOut, VersionNumber

router = Router(tags=["事项目录"])

NOT_FOUND = {404: ProblemOut}


@router.get(
    "/items",
    response={200: list[ItemVersionRowOut], 422: ProblemOut},
    summary="事项列表（当前生效版本，分页）",
    description="有检索词时按相关度排序，否则按事项编码排序。筛选值不存在时返回 422，"
    "`code` 为 unknown_scope、unknown_mode、unknown_theme、unknown_audience、"
    "unknown_division 或 unknown_organisation。",
)
@paginated
def list_items(request: HttpRequest, filters: Query[ItemQuery]) -> QuerySet[ItemVersion]:
    wanted = selectors.check_item_filter(selectors.ItemFilter(**filters.dict()))
    return selectors.filter_item_versions(wanted)


@router.get(
    "/items/{code}",
    response={200: ItemVersionOut, **NOT_FOUND},
    summary="事项详情（当前生效版本的完整办事指南）",
)
def get_item(request: HttpRequest, code: str) -> ItemVersion:
    return selectors.current_version_of(code)


@router.get(
    "/items/{code}/versions",
    response={200: list[ItemVersionSummaryOut], **NOT_FOUND},
    summary="事项的已发布版本（新版本在前）",
)
def list_item_versions(request: HttpRequest, code: str) -> QuerySet[ItemVersion]:
    return selectors.item_versions(code)


@router.get(
    "/items/{code}/versions/{number}",
    response={200: ItemVersionOut, **NOT_FOUND},
    summary="事项的某个已发布版本（完整办事指南）",
)
def get_item_version(request: HttpRequest, code: str, number: VersionNumber) -> ItemVersion:
    return selectors.item_version(code, number)


# Lists -----------------------------------------------------------------------------------

ListId = Path(..., description="清单的数字 id 或代码（如 cross-province）")


@router.get(
    "/lists",
    response=list[ItemListOut],
    summary="事项清单列表（含当前生效版本）",
)
def list_lists(request: HttpRequest) -> QuerySet[ItemList]:
    return selectors.lists_in_force()


@router.get(
    "/lists/{id}",
    response={200: ItemListDetailOut, **NOT_FOUND},
    summary="事项清单详情（当前生效版本的条目）",
)
def get_list(request: HttpRequest, id: str = ListId) -> ItemList:
    return selectors.get_list_in_force(id)


@router.get(
    "/lists/{id}/versions",
    response={200: list[ListVersionSummaryOut], **NOT_FOUND},
    summary="清单的已发布版本与更新日志（新版本在前）",
)
def list_list_versions(request: HttpRequest, id: str = ListId) -> QuerySet[ListVersion]:
    return selectors.published_list_versions(selectors.get_list(id))


@router.get(
    "/lists/{id}/versions/{number}",
    response={200: ListVersionOut, **NOT_FOUND},
    summary="清单的某个已发布版本（含条目）",
)
def get_list_version(
    request: HttpRequest,
    id: str = ListId,
    number: int = Path(..., ge=1, le=MAX_VERSION, description="版本号"),
) -> ListVersion:
    return selectors.get_list_version_with_entries(selectors.get_list(id), number)


@router.get(
    "/lists/{id}/diff",
    response={200: ListDiffOut, **NOT_FOUND},
    summary="比较清单的两个版本",
    description="列出 `to` 版相对 `from` 版新增、移出和变更"
    "（业务模式、备注或所固定的事项版本）的事项。",
)
def diff_list(
    request: HttpRequest,
    id: str = ListId,
    from_: int = Query(..., alias="from", ge=1, le=MAX_VERSION, description="旧版本号"),
    to: int = Query(..., ge=1, le=MAX_VERSION, description="新版本号"),
) -> selectors.ListDiff:
    item_list = selectors.get_list(id)
    return selectors.diff_list_versions(
        selectors.get_list_version(item_list, from_), selectors.get_list_version(item_list, to)
    )


# Bundles (一件事一次办) -----------------------------------------------------------------------


@router.get(
    "/bundles",
    response=list[BundleVersionOut],
    summary="一件事列表（当前生效版本，含合并申请表、环节和材料）",
)
def list_bundles(request: HttpRequest) -> list[BundleVersion]:
    return bundles.current_bundle_versions()


@router.get(
    "/bundles/{code}",
    response={200: BundleVersionOut, **NOT_FOUND},
    summary="一件事详情（当前生效版本）",
    description="不存在或未发布时返回 404，`code` 为 bundle_not_found。",
)
def get_bundle(request: HttpRequest, code: str) -> BundleVersion:
    return bundles.current_bundle_version(code)


@router.get(
    "/bundles/{code}/versions",
    response={200: list[BundleVersionSummaryOut]},
    summary="一件事的已发布版本与更新日志（新版本在前）",
)
def list_bundle_versions(request: HttpRequest, code: str) -> list[BundleVersion]:
    return bundles.published_bundle_versions(code)
