"""URLs of the 好差评 pages, under /ratings/."""

from django.urls import path

from ratings import views

app_name = "ratings"

urlpatterns = [
    path("", views.results, name="results"),
    path("rate/<str:token>/", views.rate, name="rate"),
    path("rectifications/", views.rectifications, name="rectifications"),
    path("rectifications/<str:number>/", views.rectification, name="rectification"),
    path(
        "rectifications/<str:number>/actions/<str:action>/",
        views.rectification_action,
        name="action",
    ),
    path("receipt/<str:number>/", views.receipt, name="receipt"),
]
