from django.urls import path

from federation import views

app_name = "federation"
urlpatterns = [
    path("envelopes", views.envelopes, name="envelopes"),
    path("envelopes/batch", views.envelope_batch, name="envelope_batch"),
    path("queries", views.queries, name="queries"),
    path("directory", views.signed_directory, name="directory"),
]
