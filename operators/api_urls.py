from django.urls import path

from . import api

urlpatterns = [
    path("auth/token/", api.TokenObtainView.as_view(), name="auth-token"),
    path("me/", api.MeView.as_view(), name="me"),
    path("undertaking/", api.UndertakingView.as_view(), name="undertaking"),
    path("undertaking/accept/", api.UndertakingAcceptView.as_view(), name="undertaking-accept"),
    path("stores/", api.StoreListView.as_view(), name="store-list"),
    path("stores/<int:pk>/", api.StoreDetailView.as_view(), name="store-detail"),
]
