"""URLs of the citizen portal: catalog pages, the account, applying, my cases, my licences
and the public licence verification page."""

from django.urls import path

from portal import (
    account_views,
    bundle_views,
    case_views,
    company_views,
    hall_views,
    licence_views,
    payment_views,
    views,
)

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("zones/<str:scope>/", views.zone, name="zone"),
    path("items/", views.item_search, name="items"),
    path("items/<str:code>/", views.item_guide, name="item_guide"),
    path("items/<str:code>/versions/", views.item_history, name="item_versions"),
    path("items/<str:code>/versions/<int:number>/", views.item_version_guide, name="item_version"),
    path("lists/", views.lists, name="lists"),
    path("lists/<str:code>/", views.list_detail, name="list_detail"),
    path("lists/<str:code>/versions/<int:number>/", views.list_version_detail, name="list_version"),
    path("lists/<str:code>/diff/", views.list_diff, name="list_diff"),
    path("bundles/", bundle_views.bundle_list, name="bundles"),
    path("bundles/<slug:code>/", bundle_views.bundle_guide, name="bundle_guide"),
    path("bundles/<slug:code>/apply/", bundle_views.bundle_apply, name="bundle_apply"),
    path("my/bundles/", bundle_views.my_bundles, name="my_bundles"),
    path("my/bundles/<str:number>/", bundle_views.my_bundle, name="my_bundle"),
    path(
        "my/bundles/<str:number>/materials/", bundle_views.bundle_material, name="bundle_material"
    ),
    path("my/bundles/<str:number>/submit/", bundle_views.bundle_submit, name="bundle_submit"),
    path("my/bundles/<str:number>/withdraw/", bundle_views.bundle_withdraw, name="bundle_withdraw"),
    path("halls/", hall_views.halls, name="halls"),
    path("halls/<slug:code>/", hall_views.hall_detail, name="hall"),
    path("elder-mode/", views.elder_mode, name="elder_mode"),
    # Account
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", account_views.SignOutView.as_view(), name="logout"),
    path("register/", account_views.register, name="register"),
    path("my/messages/", account_views.inbox, name="messages"),
    path("my/messages/read/", account_views.mark_read, name="messages_read"),
    path("my/sign-ins/", account_views.signed_in, name="signed_in"),
    # Companies online: registration by the legal representative, agents (经办人)
    path("my/companies/", company_views.companies, name="companies"),
    path("my/companies/<str:uscc>/agents/", company_views.company_agents, name="company_agents"),
    path(
        "my/companies/<str:uscc>/agents/<int:authorisation_id>/revoke/",
        company_views.revoke_company_agent,
        name="revoke_company_agent",
    ),
    # Applying online and my cases (the notification links point at /my/cases/<number>/)
    path("items/<str:code>/apply/", case_views.apply, name="apply"),
    path("my/cases/", case_views.my_cases, name="my_cases"),
    path("my/cases/<str:number>/", case_views.my_case, name="my_case"),
    path("my/cases/<str:number>/form/", case_views.case_form, name="case_form"),
    path("my/cases/<str:number>/materials/", case_views.case_materials, name="case_materials"),
    path(
        "my/cases/<str:number>/materials/<int:material_id>/file/",
        case_views.case_material_file,
        name="case_material_file",
    ),
    path(
        "my/cases/<str:number>/commitments/", case_views.case_commitments, name="case_commitments"
    ),
    path("my/cases/<str:number>/submit/", case_views.case_submit, name="case_submit"),
    path("my/cases/<str:number>/pay/", payment_views.case_pay, name="case_pay"),
    path(
        "my/cases/<str:number>/sharing-consent/",
        case_views.sharing_consent,
        name="sharing_consent",
    ),
    path(
        "my/cases/<str:number>/foreign-licence/",
        case_views.foreign_licence,
        name="foreign_licence",
    ),
    path("my/cases/<str:number>/actions/<str:action>/", case_views.case_action, name="case_action"),
    # 证照夹 and the public verification page the licences' QR codes open
    path("my/licences/", licence_views.wallet_page, name="wallet"),
    path("my/licences/<str:identifier>/", licence_views.licence_detail, name="licence"),
    path("my/licences/<str:identifier>/pdf/", licence_views.licence_pdf, name="licence_pdf"),
    path("verify/", licence_views.verify, name="verify"),
]
