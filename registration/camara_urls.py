"""The partner APIs under ``/api/camara/`` (CAMARA conventions): one entry
per endpoint, each a :class:`registration.partner_api.PartnerAPIView`."""

from django.urls import path

from . import camara_api

app_name = "camara"

urlpatterns = [
    path(
        "number-recycling/check",
        camara_api.NumberRecyclingCheckView.as_view(),
        name="number-recycling-check",
    ),
    path(
        "sim-swap/retrieve-date",
        camara_api.SimSwapRetrieveDateView.as_view(),
        name="sim-swap-retrieve-date",
    ),
    path("sim-swap/check", camara_api.SimSwapCheckView.as_view(), name="sim-swap-check"),
]
