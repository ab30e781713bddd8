from django.urls import path

from . import api

urlpatterns = [
    path("auth/token/", api.TokenObtainView.as_view(), name="auth-token"),
    path("me/", api.MeView.as_view(), name="me"),
    path("undertaking/", api.UndertakingView.as_view(), name="undertaking"),
    path("undertaking/accept/", api.UndertakingAcceptView.as_view(), name="undertaking-accept"),
    path("stores/", api.StoreListView.as_view(), name="store-list"),
    path("stores/<int:pk>/", api.StoreDetailView.as_view(), name="store-detail"),
    path("staff/<int:pk>/role/", api.StaffRoleView.as_view(), name="staff-role"),
    path("role-grants/", api.RoleGrantListView.as_view(), name="role-grant-list"),
    path(
        "role-grants/<int:pk>/approve/",
        api.RoleGrantDecisionView.as_view(decision="approve"),
        name="role-grant-approve",
    ),
    path(
        "role-grants/<int:pk>/refuse/",
        api.RoleGrantDecisionView.as_view(decision="refuse"),
        name="role-grant-refuse",
    ),
    path(
        "role-grants/<int:pk>/withdraw/",
        api.RoleGrantDecisionView.as_view(decision="withdraw"),
        name="role-grant-withdraw",
    ),
]
