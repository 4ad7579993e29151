"""URLs of the supervision pages, under /supervision/."""

from django.urls import path

from supervision import bulletin_views, ledger_views, views

app_name = "supervision"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("screen/", views.screen, name="screen"),
    path("cases/", views.cases, name="cases"),
    path("export/<str:name>.<str:fmt>", views.export, name="export"),
    path("cards/", ledger_views.cards, name="cards"),
    path("region/", ledger_views.region_view, name="region"),
    path("bulletins/", bulletin_views.manage, name="bulletins"),
    path("bulletins/<int:pk>/", bulletin_views.detail, name="bulletin"),
    path("bulletins/<int:pk>/publish/", bulletin_views.publish, name="publish"),
    path("bulletins/<int:pk>/pdf/", bulletin_views.pdf, name="bulletin_pdf"),
    path("public/bulletins/", bulletin_views.public_list, name="public_bulletins"),
    path("public/bulletins/<int:pk>/", bulletin_views.public_detail, name="public_bulletin"),
    path("public/bulletins/<int:pk>/pdf/", bulletin_views.public_pdf, name="public_bulletin_pdf"),
    path("ledger/", ledger_views.ledger, name="ledger"),
    path("ledger/<int:pk>/", ledger_views.task, name="task"),
    path("ledger/<int:pk>/milestones/", ledger_views.milestone, name="milestone"),
    path(
        "ledger/<int:pk>/attachments/<int:attachment_id>/",
        ledger_views.attachment,
        name="attachment",
    ),
]
