"""URL map of a node: the health endpoints, admin, the JSON API under /api/v1/, the node-to-node exchange under
/federation/v1/, the staff console under /console/, the 12345 hotline under /hotline/ and its Open311
GeoReport v2 API under /open311/v2/, the supervision pages under /supervision/, and the portal."""

from django.contrib import admin
from django.urls import include, path, re_path

from core import health
from tongban.api import api, openapi_json, unknown_endpoint

admin.site.site_header = "通办平台管理"
admin.site.site_title = "通办平台管理"
admin.site.index_title = "目录与基础数据维护"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/openapi.json", openapi_json),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", unknown_endpoint),
    # Liveness and readiness for a supervisor or balancer (docs/deploy.md).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("federation/v1/", include("federation.urls")),
    path("console/", include("console.urls")),
    path("hotline/", include("hotline.urls")),
    path("ratings/", include("ratings.urls")),
    path("payments/", include("payments.urls")),
    path("sharing/", include("sharing.urls")),
    path("supervision/", include("supervision.urls")),
    path("open311/v2/", include("hotline.open311")),
    # OpenID Connect provider (/.well-known/, /oidc/) and sign-in with another node (/signon/).
    path("", include("signon.urls")),
    path("", include("portal.urls")),
]

handler404 = "portal.views.page_not_found"
