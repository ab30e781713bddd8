"""Disclosure requests over the API (registration.disclosures does the work).

No personal data in the list or the detail (numbers are masked); the one
answer with data in clear is the release's, given once and never stored
(no Idempotency-Key on it: a replay would keep the records)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Pagination

from . import disclosures
from .idempotency import idempotent
from .models import DISCLOSURE_FIELDS, AuthorityType, Disclosure

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", location=OpenApiParameter.HEADER, required=False, type=str
)


class DisclosureInputSerializer(serializers.Serializer):
    """Shape only (lengths, types); the rules are the service's."""

    authority = serializers.CharField(max_length=200)
    authority_type = serializers.ChoiceField(
        choices=AuthorityType.choices, required=False, default=AuthorityType.OTHER
    )
    legal_basis = serializers.CharField(max_length=300)
    case_reference = serializers.CharField(max_length=100)
    document_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    # Lists checked by the service item by item, so that every problem is
    # reported on ``numbers`` / ``fields`` themselves (by position, never
    # quoting a number).
    numbers = serializers.JSONField(help_text=_("E.164 numbers of the operator's lines."))
    fields = serializers.JSONField(help_text=_("Any of: name, id_number, address, lines."))

    def validate_numbers(self, value):
        if not isinstance(value, list) or len(value) > disclosures.MAX_NUMBERS:
            raise serializers.ValidationError(
                _("A list of at most %(count)d numbers.") % {"count": disclosures.MAX_NUMBERS}
            )
        return value

    def validate_fields(self, value):
        if not isinstance(value, list) or len(value) > len(DISCLOSURE_FIELDS):
            raise serializers.ValidationError(
                _("A list of: %(fields)s.") % {"fields": ", ".join(DISCLOSURE_FIELDS)}
            )
        return value

    def to_input(self) -> disclosures.DisclosureInput:
        return disclosures.DisclosureInput(**self.validated_data)


class DisclosureSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    state = serializers.CharField()
    authority = serializers.CharField()
    authority_type = serializers.CharField()
    legal_basis = serializers.CharField()
    case_reference = serializers.CharField()
    document_reference = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())
    number_count = serializers.IntegerField()
    filed_by = serializers.CharField(source="filed_by.get_username")
    filed_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.get_username", default=None)
    decided_at = serializers.DateTimeField()
    refusal_reason = serializers.CharField()
    released_by = serializers.CharField(source="released_by.get_username", default=None)
    released_at = serializers.DateTimeField()


class DisclosureDetailSerializer(DisclosureSerializer):
    numbers_masked = serializers.SerializerMethodField()
    legal_holds = serializers.SerializerMethodField()

    def get_numbers_masked(self, obj: Disclosure) -> list[str]:
        return disclosures.disclosure_numbers_masked(obj)

    def get_legal_holds(self, obj: Disclosure) -> int:
        return disclosures.disclosure_holds(obj).filter(lifted_at__isnull=True).count()


class DisclosureListCreateView(generics.ListAPIView):
    required_permission_by_method = {"GET": "disclosure.view", "POST": "disclosure.file"}
    required_permission = "disclosure.view"
    serializer_class = DisclosureSerializer
    pagination_class = Pagination

    def get_queryset(self):
        return disclosures.disclosure_list(user=self.request.user)

    @extend_schema(
        request=DisclosureInputSerializer,
        parameters=[IDEMPOTENCY],
        responses={201: DisclosureDetailSerializer},
        summary="File a disclosure request (compliance officer)",
    )
    @idempotent(required=False)
    def post(self, request: Request) -> Response:
        data = DisclosureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = disclosures.disclosure_file(actor=request.user, data=data.to_input())
        return Response(_detail(request, created.pk), status=201)


def _find(request: Request, pk: int) -> Disclosure:
    """The request if ``request.user`` may see it; 404 otherwise (another
    operator's is indistinguishable from a missing one)."""
    found = disclosures.disclosure_list(user=request.user).filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def _detail(request: Request, pk: int) -> dict:
    return DisclosureDetailSerializer(_find(request, pk)).data


class DisclosureDetailView(APIView):
    required_permission = "disclosure.view"

    @extend_schema(responses=DisclosureDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(request, pk))


class RefuseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DisclosureApproveView(APIView):
    required_permission = "disclosure.decide"

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY],
        responses=DisclosureDetailSerializer,
        summary="Approve (a second person: not the filer)",
    )
    @idempotent(required=False)
    def post(self, request: Request, pk: int) -> Response:
        disclosures.disclosure_approve(disclosure=_find(request, pk), actor=request.user)
        return Response(_detail(request, pk))


class DisclosureRefuseView(APIView):
    required_permission = "disclosure.decide"

    @extend_schema(
        request=RefuseInputSerializer,
        parameters=[IDEMPOTENCY],
        responses=DisclosureDetailSerializer,
        summary="Refuse (a second person: not the filer)",
    )
    @idempotent(required=False)
    def post(self, request: Request, pk: int) -> Response:
        data = RefuseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        disclosures.disclosure_refuse(
            disclosure=_find(request, pk), actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_detail(request, pk))


class ReleaseRecordSerializer(serializers.Serializer):
    number = serializers.CharField()
    name = serializers.CharField(required=False, allow_null=True)
    id_number = serializers.CharField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_null=True)
    lines = serializers.ListField(child=serializers.CharField(), required=False)


class ReleaseSerializer(serializers.Serializer):
    records = ReleaseRecordSerializer(many=True)


class DisclosureReleaseView(APIView):
    required_permission = "disclosure.release"

    @extend_schema(
        request=None,
        responses=ReleaseSerializer,
        summary="Release an approved request, once (the records in clear; a second call is 409)",
    )
    def post(self, request: Request, pk: int) -> Response:
        released = disclosures.disclosure_release(disclosure=_find(request, pk), actor=request.user)
        response = Response({"records": released.records})
        response["Cache-Control"] = "no-store"
        return response
