from django.urls import path

from . import api

urlpatterns = [
    path("transactions/", api.TransactionListCreateView.as_view(), name="transaction-list"),
    path(
        "transactions/<uuid:uid>/", api.TransactionDetailView.as_view(), name="transaction-detail"
    ),
    path(
        "transactions/<uuid:uid>/cancel/",
        api.TransactionCancelView.as_view(),
        name="transaction-cancel",
    ),
    path(
        "transactions/<uuid:uid>/identity/",
        api.TransactionIdentityView.as_view(),
        name="transaction-identity",
    ),
    path("persons/lookup/", api.PersonLookupView.as_view(), name="person-lookup"),
    path("lines/", api.LineListView.as_view(), name="line-list"),
    path("lines/<str:number>/", api.LineDetailView.as_view(), name="line-detail"),
    path("lines/<str:number>/reverify/", api.InStoreReverifyView.as_view(), name="line-reverify"),
    path("numbers/available/", api.NumbersAvailableView.as_view(), name="numbers-available"),
    path("services/", api.ServiceListView.as_view(), name="service-list"),
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
]
