"""URL map of a node: admin, the JSON API under /api/v1/, the node-to-node exchange under
/federation/v1/, the staff console under /console/, the 12345 hotline under /hotline/ and its Open311
GeoReport v2 API under /open311/v2/, and the portal."""

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path

from tongban.api import api, openapi_json, unknown_endpoint

admin.site.site_header = "通办平台管理"
admin.site.site_title = "通办平台管理"
admin.site.index_title = "目录与基础数据维护"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/openapi.json", openapi_json),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", unknown_endpoint),
    # The embedded node has no web server in front of it, and runserver serves static files
    # only with DEBUG on: serve the apps' own static files here, with DEBUG off too. A
    # deployment with a web server runs collectstatic and has it serve STATIC_ROOT instead.
    re_path(rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.*)$", serve_static, {"insecure": True}),
    path("federation/v1/", include("federation.urls")),
    path("console/", include("console.urls")),
    path("hotline/", include("hotline.urls")),
    path("ratings/", include("ratings.urls")),
    path("open311/v2/", include("hotline.open311")),
    path("", include("portal.urls")),
]

handler404 = "portal.views.page_not_found"
