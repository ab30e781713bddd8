from django.urls import path

from . import api

urlpatterns = [
    path("identity/check/", api.IdentityCheckView.as_view(), name="identity-check"),
    path("privacy-notices/current/", api.NoticeCurrentView.as_view(), name="notice-current"),
    path("persons/<uuid:uid>/reveal/", api.PersonRevealView.as_view(), name="person-reveal"),
    path("persons/<uuid:uid>/export/", api.PersonExportView.as_view(), name="person-export"),
    path(
        "persons/<uuid:uid>/corrections/",
        api.PersonCorrectionView.as_view(),
        name="person-corrections",
    ),
]
