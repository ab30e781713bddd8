"""Re-verification's API: campaigns, in-store re-verification, extensions."""

from django.urls import path

from . import api, api_reports

urlpatterns = [
    path("lines/<str:number>/reverify/", api.InStoreReverifyView.as_view(), name="line-reverify"),
    path("campaigns/", api.CampaignListCreateView.as_view(), name="campaign-list"),
    path("campaigns/<int:pk>/", api.CampaignDetailView.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/preview/", api.CampaignPreviewView.as_view(), name="campaign-preview"),
    path("campaigns/<int:pk>/launch/", api.CampaignLaunchView.as_view(), name="campaign-launch"),
    path("campaigns/<int:pk>/pause/", api.CampaignPauseView.as_view(), name="campaign-pause"),
    path("campaigns/<int:pk>/resume/", api.CampaignResumeView.as_view(), name="campaign-resume"),
    path("campaigns/<int:pk>/close/", api.CampaignCloseView.as_view(), name="campaign-close"),
    path(
        "reverification-requests/<int:pk>/extend/",
        api.RequestExtendView.as_view(),
        name="reverification-extend",
    ),
    path("risk-flags/", api.RiskFlagCreateView.as_view(), name="risk-flag-create"),
]

# Reports (counts only): reverification.api_reports.
urlpatterns += [
    path(
        "reports/registrations/",
        api_reports.RegistrationsReportView.as_view(),
        name="report-registrations",
    ),
    path(
        "reports/transparency/",
        api_reports.TransparencyReportView.as_view(),
        name="report-transparency",
    ),
]
