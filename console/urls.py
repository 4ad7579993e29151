"""URLs of the staff console, under /console/."""

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("cases/<str:number>/", views.case_detail, name="case"),
    path("cases/<str:number>/actions/<str:action>/", views.case_action, name="case_action"),
    path("cases/<str:number>/reveal/", views.reveal, name="reveal"),
    path("cases/<str:number>/materials/", views.upload, name="upload"),
    path("cases/<str:number>/commitments/", views.sign_commitment, name="sign_commitment"),
    path(
        "cases/<str:number>/commitments/<int:commitment_id>/verification/",
        views.verify,
        name="verify",
    ),
    path("intake/", views.intake, name="intake"),
    path("intake/<str:code>/", views.intake_apply, name="intake_apply"),
]
