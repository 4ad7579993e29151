"""URLs of the staff console, under /console/."""

from django.urls import path

from console import hall_views, licence_views, payment_views, views

app_name = "console"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("cases/<str:number>/", views.case_detail, name="case"),
    path("cases/<str:number>/actions/<str:action>/", views.case_action, name="case_action"),
    path("cases/<str:number>/reveal/", views.reveal, name="reveal"),
    path("cases/<str:number>/materials/", views.upload, name="upload"),
    path("cases/<str:number>/materials/<int:material_id>/", views.material, name="material"),
    path(
        "cases/<str:number>/materials/<int:material_id>/file/",
        views.material_file,
        name="material_file",
    ),
    path("cases/<str:number>/shipments/", views.post_shipment, name="post_shipment"),
    path("cases/<str:number>/payment/", payment_views.record_payment, name="record_payment"),
    path("cases/<str:number>/foreign-licence/", views.foreign_licence, name="foreign_licence"),
    path("cases/<str:number>/sharing-consent/", views.sharing_consent, name="sharing_consent"),
    path("cases/<str:number>/steps/<int:step_id>/", views.step_result, name="step_result"),
    path("cases/<str:number>/commitments/", views.sign_commitment, name="sign_commitment"),
    path(
        "cases/<str:number>/commitments/<int:commitment_id>/verification/",
        views.verify,
        name="verify",
    ),
    path("intake/", views.intake, name="intake"),
    path("intake/<str:code>/", views.intake_apply, name="intake_apply"),
    path("consultations/", hall_views.consultations, name="consultations"),
    path("licences/", licence_views.licences, name="licences"),
    path("licences/<str:identifier>/", licence_views.licence_detail, name="licence"),
    path("licences/<str:identifier>/revoke/", licence_views.revoke_licence, name="revoke_licence"),
    path("licences/<str:identifier>/pdf/", licence_views.licence_pdf, name="licence_pdf"),
    path("seals/", licence_views.seals, name="seals"),
    path("seals/new/", licence_views.create_seal, name="create_seal"),
    path("seals/<int:seal_id>/revoke/", licence_views.revoke_seal, name="revoke_seal"),
    path("coverage/", licence_views.coverage, name="coverage"),
]
