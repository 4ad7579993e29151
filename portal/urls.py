"""URLs of the citizen portal."""

from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("zones/<str:scope>/", views.zone, name="zone"),
    path("items/", views.item_search, name="items"),
    path("items/<str:code>/", views.item_guide, name="item_guide"),
    path("items/<str:code>/versions/", views.item_history, name="item_versions"),
    path("items/<str:code>/versions/<int:number>/", views.item_version_guide, name="item_version"),
    path("lists/", views.lists, name="lists"),
    path("lists/<str:code>/", views.list_detail, name="list_detail"),
    path("lists/<str:code>/versions/<int:number>/", views.list_version_detail, name="list_version"),
    path("lists/<str:code>/diff/", views.list_diff, name="list_diff"),
    path("elder-mode/", views.elder_mode, name="elder_mode"),
]
