"""The CAMARA endpoints partners call (banks, apps: fraud checks), on the
base of :mod:`registration.partner_api`. They answer about the partner's
own operator's numbers only and never say anything about a person."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from . import recycling
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
