"""URLs of the 12345 hotline pages, under /hotline/ (the Open311 API is hotline/open311.py,
under /open311/v2/)."""

from django.urls import path

from hotline import views

app_name = "hotline"

urlpatterns = [
    path("", views.console, name="console"),
    path("calls/", views.take_call, name="take_call"),
    path("inbox/", views.inbox, name="inbox"),
    path("tickets/<str:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<str:number>/actions/<str:action>/", views.ticket_action, name="action"),
    path("tickets/<str:number>/case-lookup/", views.case_lookup, name="case_lookup"),
    path("knowledge/", views.knowledge_base, name="knowledge"),
    path("knowledge/guides/<str:code>/", views.guide_article, name="guide_article"),
    path("knowledge/articles/<int:pk>/", views.written_article, name="article"),
    path("my/", views.my_tickets, name="my_tickets"),
    path("my/new/", views.new_request, name="new_request"),
    path("my/<str:number>/", views.my_ticket, name="my_ticket"),
    path("statistics/", views.statistics, name="statistics"),
]
