from django.urls import path

from . import views

app_name = "identity"

urlpatterns = [
    path("privacy-notice/<slug:operator_code>/", views.privacy_notice, name="privacy-notice"),
]
