"""URLs of the supervision pages, under /supervision/."""

from django.urls import path

from supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("screen/", views.screen, name="screen"),
    path("cases/", views.cases, name="cases"),
    path("export/<str:name>.<str:fmt>", views.export, name="export"),
]
