"""Re-verification's store page, included by config.urls under ``store/``."""

from django.urls import path

from . import views

app_name = "reverification"

urlpatterns = [
    path("lines/<uuid:line_uid>/reverify/", views.reverify_in_store, name="reverify"),
    path("lines/<uuid:line_uid>/language/", views.language_in_store, name="language"),
]
