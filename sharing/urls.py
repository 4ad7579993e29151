"""URLs of the data-sharing pages, under /sharing/."""

from django.urls import path

from sharing import views

app_name = "sharing"

urlpatterns = [
    path("my/", views.data_log, name="data_log"),
    path("requests/", views.requests_page, name="requests"),
    path("remote/", views.remote, name="remote"),
    path("remote/new/", views.create_remote_request, name="create_remote_request"),
    path("remote/requests/", views.remote_requests, name="remote_requests"),
    path("requests/new/", views.create_request, name="create_request"),
    path("requests/<str:number>/", views.request_page, name="request"),
    path("requests/<str:number>/actions/<str:action>/", views.request_action, name="action"),
    path("alerts/", views.alerts, name="alerts"),
]
