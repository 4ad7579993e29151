"""URLs of the supervision pages, under /supervision/."""

from django.urls import path

from supervision import ledger_views, views

app_name = "supervision"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("screen/", views.screen, name="screen"),
    path("cases/", views.cases, name="cases"),
    path("export/<str:name>.<str:fmt>", views.export, name="export"),
    path("cards/", ledger_views.cards, name="cards"),
    path("ledger/", ledger_views.ledger, name="ledger"),
    path("ledger/<int:pk>/", ledger_views.task, name="task"),
    path("ledger/<int:pk>/milestones/", ledger_views.milestone, name="milestone"),
    path(
        "ledger/<int:pk>/attachments/<int:attachment_id>/",
        ledger_views.attachment,
        name="attachment",
    ),
]
