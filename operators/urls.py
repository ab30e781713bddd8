from django.urls import path

from . import views

app_name = "operators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-in/code/", views.second_factor, name="second-factor"),
    path("sign-out/", views.SignOutView.as_view(), name="logout"),
    path("undertaking/", views.undertaking, name="undertaking"),
]
