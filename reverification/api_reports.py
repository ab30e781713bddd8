"""The reports' API: the regulator's figures of a period (JSON or CSV) and
the yearly transparency counts of disclosure requests. Counts only;
compliance officers and operator admins of the operator (platform admins
name the operator with ``?operator=CODE``)."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from operators.models import Operator
from operators.tenancy import is_platform_admin, staff_of
from operators.timezones import zone_of
from registration import disclosures

from . import reports


class CsvRenderer(renderers.BaseRenderer):
    """``?format=csv``: the report as (section, key, value) rows; an error
    stays the JSON error body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = "application/json"
            return json.dumps(data, ensure_ascii=False).encode("utf-8")
        if response is not None:
            name = f"registrations-{data['operator']}-{data['from']}-{data['to']}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return reports.report_csv(data).encode("utf-8")


def _operator(request: Request) -> Operator:
    staff = staff_of(request.user)
    if staff is not None:
        return staff.operator
    code = request.query_params.get("operator", "")
    found = Operator.objects.filter(code=code).first() if is_platform_admin(request.user) else None
    if found is None:
        raise ValidationError({"operator": [gettext("Name the operator by its code.")]})
    return found


def _day(request: Request, name: str) -> dt.date:
    raw = request.query_params.get(name, "")
    try:
        day = parse_date(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError({name: [gettext("A date, YYYY-MM-DD.")]})
    if not reports.MIN_YEAR <= day.year <= reports.MAX_YEAR:
        raise ValidationError({name: [gettext("The date is out of range.")]})
    return day


class RegistrationsReportView(APIView):
    required_permission = "report.view"
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
            OpenApiParameter("format", str, enum=["json", "csv"], required=False),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="The regulator's figures of a period (counts only; days in the operator's zone)",
    )
    def get(self, request: Request) -> Response:
        operator = _operator(request)
        start, end = _day(request, "from"), _day(request, "to")
        if start > end:
            raise ValidationError({"to": [gettext("The last day comes before the first.")]})
        report = reports.registrations_report(
            operator=operator, period=reports.Period.of(operator, start, end)
        )
        response = Response(report)
        response["Cache-Control"] = "no-store"
        return response


class TransparencyReportView(APIView):
    required_permission = "report.view"

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=False)],
        responses=OpenApiTypes.OBJECT,
        summary="Disclosure requests of a year: requested, approved, refused, released",
    )
    def get(self, request: Request) -> Response:
        operator = _operator(request)
        raw = request.query_params.get("year")
        if raw is None:
            year = timezone.localtime(timezone.now(), zone_of(operator)).year
        elif raw.isascii() and raw.isdigit() and len(raw) == 4:
            year = int(raw)
        else:
            year = 0
        if not reports.MIN_YEAR <= year <= reports.MAX_YEAR:
            raise ValidationError({"year": [gettext("A year written YYYY.")]})
        return Response(disclosures.disclosure_transparency(operator=operator, year=year))
