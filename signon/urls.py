"""The provider's endpoints under /oidc/ (discovery under /.well-known/) and the relying
party's under /signon/."""

from django.urls import path

from signon import views

app_name = "signon"

urlpatterns = [
    path(".well-known/openid-configuration", views.discovery, name="discovery"),
    path("oidc/jwks", views.jwks, name="jwks"),
    path("oidc/authorize", views.authorize, name="authorize"),
    path("oidc/token", views.token, name="token"),
    path("oidc/userinfo", views.userinfo, name="userinfo"),
    path("oidc/revoke", views.revoke, name="revoke"),
    path("signon/with/<slug:node>/", views.sign_in_with, name="sign_in_with"),
    path("signon/callback/<slug:node>/", views.callback, name="callback"),
]
