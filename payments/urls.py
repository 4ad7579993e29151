"""The local payment gateway's cashier page (/payments/local/<order>/)."""

from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("local/<str:order_number>/", views.local_cashier, name="local_cashier"),
]
