"""The CAMARA endpoints partners call (banks, apps: fraud checks), on the
base of :mod:`registration.partner_api`. They answer about the partner's
own operator's numbers only and never say anything about a person."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from . import recycling, selectors
from .partner_api import (
    CAMARA_ERROR_RESPONSES,
    PHONE_NUMBER_MAX_LENGTH,
    CamaraError,
    PartnerAPIView,
)


class NumberRecyclingCheckInputSerializer(serializers.Serializer):
    phoneNumber = serializers.CharField(  # noqa: N815 (CAMARA's field name)
        max_length=PHONE_NUMBER_MAX_LENGTH,
        trim_whitespace=False,
        help_text="E.164 with its leading +, e.g. +8613800138000.",
    )
    specifiedDate = serializers.DateField(  # noqa: N815 (CAMARA's field name)
        input_formats=["%Y-%m-%d"],
        help_text="YYYY-MM-DD, a day in the operator's time zone, not later than today.",
    )


class NumberRecyclingCheckOutputSerializer(serializers.Serializer):
    phoneNumberRecycled = serializers.BooleanField()  # noqa: N815 (CAMARA's field name)


class NumberRecyclingCheckView(PartnerAPIView):
    """CAMARA Number Recycling: has this number been given to another holder
    since the date the partner last knew it belonged to its customer?"""

    endpoint = "number-recycling/check"

    @extend_schema(
        request=NumberRecyclingCheckInputSerializer,
        responses={200: NumberRecyclingCheckOutputSerializer, **CAMARA_ERROR_RESPONSES},
        tags=["camara"],
        summary="Whether a number was closed and given to another holder on or after a date "
        "(partners only)",
        description="CAMARA Number Recycling. `true` when the number's line closed and the "
        "number was assigned to another holder on or after `specifiedDate` (in the operator's "
        "time zone). A number this operator never had, or another operator's, is 404 "
        "`IDENTIFIER_NOT_FOUND`; bad input 400 `INVALID_ARGUMENT`; errors are "
        '`{"status", "code", "message"}`. Partner tokens only: staff get 403.',
    )
    def post(self, request: Request) -> Response:
        data = NumberRecyclingCheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        number = self.phone_number(data.validated_data["phoneNumber"])
        day = data.validated_data["specifiedDate"]
        operator = self.partner.operator
        if day > recycling.today_for(operator):
            raise CamaraError(
                status_code=400,
                code="INVALID_ARGUMENT",
                message=_("specifiedDate: a day not later than today."),
            )
        recycled = recycling.number_recycled_since(operator=operator, number=number, day=day)
        return Response({"phoneNumberRecycled": recycled})


# --- SIM swap -------------------------------------------------------------------------------------

# CAMARA SIM Swap: the period asked about, in hours (default 240, 10 days).
MAX_AGE_DEFAULT = 240
MAX_AGE_LIMIT = 2400


class SimSwapRetrieveDateInputSerializer(serializers.Serializer):
    phoneNumber = serializers.CharField(  # noqa: N815 (CAMARA's field name)
        max_length=PHONE_NUMBER_MAX_LENGTH,
        trim_whitespace=False,
        help_text="E.164 with its leading +, e.g. +8613800138000.",
    )


class SimSwapRetrieveDateOutputSerializer(serializers.Serializer):
    latestSimChange = serializers.DateTimeField(allow_null=True)  # noqa: N815 (CAMARA's name)


class SimSwapCheckInputSerializer(SimSwapRetrieveDateInputSerializer):
    maxAge = serializers.IntegerField(  # noqa: N815 (CAMARA's field name)
        min_value=1,
        max_value=MAX_AGE_LIMIT,
        default=MAX_AGE_DEFAULT,
        help_text="Hours back from now that count as a recent swap (1–2400, default 240).",
    )


class SimSwapCheckOutputSerializer(serializers.Serializer):
    swapped = serializers.BooleanField()


class _SimSwapView(PartnerAPIView):
    def last_change(self, value: str) -> dt.datetime | None:
        number = self.phone_number(value)
        return selectors.number_sim_last_changed_at(operator=self.partner.operator, number=number)


class SimSwapRetrieveDateView(_SimSwapView):
    """CAMARA SIM Swap, retrieve-date: when did this number's SIM last change?"""

    endpoint = "sim-swap/retrieve-date"

    @extend_schema(
        request=SimSwapRetrieveDateInputSerializer,
        responses={200: SimSwapRetrieveDateOutputSerializer, **CAMARA_ERROR_RESPONSES},
        tags=["camara"],
        summary="When the number's SIM last changed (partners only)",
        description="CAMARA SIM Swap. `latestSimChange` is the time of the last SIM or eSIM "
        "replacement of the operator's line with this number, or `null` when its SIM never "
        "changed after the line was opened (opening a line is no SIM change). A number this "
        "operator never had, or another operator's, is 404 `IDENTIFIER_NOT_FOUND`.",
    )
    def post(self, request: Request) -> Response:
        data = SimSwapRetrieveDateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = self.last_change(data.validated_data["phoneNumber"])
        return Response({"latestSimChange": changed.isoformat() if changed else None})


class SimSwapCheckView(_SimSwapView):
    """CAMARA SIM Swap, check: did this number's SIM change in the last maxAge hours?"""

    endpoint = "sim-swap/check"

    @extend_schema(
        request=SimSwapCheckInputSerializer,
        responses={200: SimSwapCheckOutputSerializer, **CAMARA_ERROR_RESPONSES},
        tags=["camara"],
        summary="Whether the number's SIM changed within maxAge hours (partners only)",
        description="CAMARA SIM Swap. `swapped` is true when the SIM of the operator's line "
        "with this number was replaced within the last `maxAge` hours (1–2400, default 240); "
        "a line whose SIM never changed after it was opened answers false.",
    )
    def post(self, request: Request) -> Response:
        data = SimSwapCheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = self.last_change(data.validated_data["phoneNumber"])
        since = timezone.now() - dt.timedelta(hours=data.validated_data["maxAge"])
        return Response({"swapped": changed is not None and changed >= since})
