"""URL map of a node: admin, the JSON API under /api/v1/, and the portal."""

from django.contrib import admin
from django.urls import include, path

from tongban.api import api

admin.site.site_header = "通办平台管理"
admin.site.site_title = "通办平台管理"
admin.site.index_title = "目录与基础数据维护"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("portal.urls")),
]
