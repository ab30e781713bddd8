"""Store pages, included by config.urls under ``store/``."""

from django.urls import path

from . import organisation_wizard, store_views, views

app_name = "registration"

urlpatterns = [
    path("", views.index, name="index"),
    path("abandon/", views.abandon, name="abandon"),
    path("new/<str:kind>/", views.step_identity, name="identity"),
    path("new/<str:kind>/notice/", views.step_notice, name="notice"),
    path("new/<str:kind>/details/", views.step_details, name="details"),
    path("new/<str:kind>/confirm/", views.step_confirm, name="confirm"),
    path("transactions/", views.transactions, name="transactions"),
    path("transactions/<uuid:uid>/", views.receipt, name="receipt"),
    path("transactions/<uuid:uid>/cancel/", views.cancel, name="cancel"),
    path("lines/", views.lines, name="lines"),
    path(
        "transactions/<uuid:uid>/correction/",
        store_views.correction_for_transaction,
        name="correction-transaction",
    ),
    path("lines/<uuid:uid>/correction/", store_views.correction_for_line, name="correction-line"),
    # Issue 15: the wizard "for an organisation".
    path("organisation/", organisation_wizard.step_organisation, name="org-organisation"),
    path("organisation/handler/", organisation_wizard.step_handler, name="org-handler"),
    path(
        "organisation/authorization/",
        organisation_wizard.step_authorization,
        name="org-authorization",
    ),
    path("organisation/notice/", organisation_wizard.step_notice, name="org-notice"),
    path("organisation/details/", organisation_wizard.step_details, name="org-details"),
]
