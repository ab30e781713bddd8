from django.urls import path

from . import api, api_disclosures

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
    path("lines/<str:number>/close/", api.LineCloseView.as_view(), name="line-close"),
    path("lines/<str:number>/user/", api.LineUserView.as_view(), name="line-user"),
    path("numbers/available/", api.NumbersAvailableView.as_view(), name="numbers-available"),
    path("services/", api.ServiceListView.as_view(), name="service-list"),
    path("reviews/", api.ReviewListView.as_view(), name="review-list"),
    path("reviews/<uuid:uid>/decide/", api.ReviewDecideView.as_view(), name="review-decide"),
    path("reviews/<uuid:uid>/reveal/", api.ReviewRevealView.as_view(), name="review-reveal"),
]

# Disclosure requests (law enforcement, courts): registration.api_disclosures.
urlpatterns += [
    path(
        "disclosures/",
        api_disclosures.DisclosureListCreateView.as_view(),
        name="disclosure-list",
    ),
    path(
        "disclosures/<int:pk>/",
        api_disclosures.DisclosureDetailView.as_view(),
        name="disclosure-detail",
    ),
    path(
        "disclosures/<int:pk>/approve/",
        api_disclosures.DisclosureApproveView.as_view(),
        name="disclosure-approve",
    ),
    path(
        "disclosures/<int:pk>/refuse/",
        api_disclosures.DisclosureRefuseView.as_view(),
        name="disclosure-refuse",
    ),
    path(
        "disclosures/<int:pk>/release/",
        api_disclosures.DisclosureReleaseView.as_view(),
        name="disclosure-release",
    ),
]
