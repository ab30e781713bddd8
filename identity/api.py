"""API views of the identity app: identity check, privacy notices, reveal,
subject-access export."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from operators.models import Operator
from operators.tenancy import staff_of

from . import documents, lookups, selectors, services
from .models import ENCRYPTED_FIELDS, AccessPurpose, NoticeLanguage
from .types import IdentityData


class IdentityBlockSerializer(serializers.Serializer):
    """The identity block of the API contract. Shape only: the rules live in
    identity.documents, whose reasons come back per field."""

    id_type = serializers.ChoiceField(choices=documents.ID_TYPE_CHOICES)
    id_number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=[("M", "M"), ("F", "F")])
    id_expiry = serializers.DateField(required=False, allow_null=True, default=None)
    nationality = serializers.CharField(
        max_length=3, required=False, allow_null=True, allow_blank=True, default=None
    )
    address = serializers.CharField(
        max_length=300, required=False, allow_null=True, allow_blank=True, default=None
    )
    language = serializers.ChoiceField(
        choices=NoticeLanguage.values,
        required=False,
        allow_null=True,
        default=None,
        help_text="The language of the person's notices (default: the operator's).",
    )

    def to_identity(self) -> IdentityData:
        return IdentityData.from_mapping(self.validated_data)


def identity_errors(exc: documents.IdentityInvalid, prefix: str = "") -> ValidationError:
    """The document rules' reasons as a 400 with each field named."""
    return ValidationError({f"{prefix}{field}": reasons for field, reasons in exc.errors.items()})


def operator_of(request: Request) -> Operator:
    staff = staff_of(request.user)
    if staff is None:
        raise ValidationError(
            {"operator": [gettext("Platform admins act through an operator's staff.")]}
        )
    return staff.operator


class IdentityCheckView(APIView):
    required_permission = "transaction.view"

    class CheckOutputSerializer(serializers.Serializer):
        valid = serializers.BooleanField()
        authority = serializers.ChoiceField(
            choices=["match", "mismatch", "not_found", "revoked", "unavailable"]
        )
        reference = serializers.CharField()

    @extend_schema(
        request=IdentityBlockSerializer,
        responses={200: CheckOutputSerializer},
        summary="Validate an identity block and check it with the authority",
        description="Stores nothing but an access-log entry of the check.",
    )
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        block = IdentityBlockSerializer(data=request.data)
        block.is_valid(raise_exception=True)
        identity = block.to_identity()
        staff = staff_of(request.user)
        try:
            check = lookups.identity_check_counted(
                operator=operator_of(request),
                identity=identity,
                actor=request.user,
                store=staff.store if staff else None,
            )
        except documents.IdentityInvalid as exc:
            raise identity_errors(exc) from None
        return Response(
            {
                "valid": True,
                "authority": str(check.result.outcome),
                "reference": check.result.reference,
            }
        )


class NoticeSerializer(serializers.Serializer):
    operator = serializers.CharField(source="operator.code")
    version = serializers.IntegerField()
    hash = serializers.CharField(source="content_hash")
    language = serializers.CharField()
    purpose = serializers.CharField()
    manner = serializers.CharField()
    scope = serializers.CharField()
    retention = serializers.CharField()
    query_and_correction = serializers.CharField()
    consequences_of_refusal = serializers.CharField()
    published_at = serializers.DateTimeField()


class NoticeCurrentView(APIView):
    """The operator's current privacy notice. Staff get their operator's; anyone
    may ask for an operator's by ``?operator=<code>`` (notices are public)."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("language", enum=NoticeLanguage.values, required=False),
            OpenApiParameter("operator", str, required=False),
        ],
        responses=NoticeSerializer,
        summary="The current privacy notice",
    )
    def get(self, request: Request) -> Response:
        language = request.query_params.get("language", NoticeLanguage.ZH)
        if language not in NoticeLanguage.values:
            raise ValidationError(
                {
                    "language": [
                        gettext("One of: %(languages)s.")
                        % {"languages": ", ".join(NoticeLanguage.values)}
                    ]
                }
            )
        code = request.query_params.get("operator")
        staff = staff_of(request.user)
        if code:
            operator = get_object_or_404(Operator, code=code)
        elif staff is not None:
            operator = staff.operator
        else:
            raise ValidationError({"operator": [gettext("Name the operator (?operator=<code>).")]})
        notice = selectors.notice_current(operator=operator, language=language)
        if notice is None:
            from django.http import Http404

            raise Http404
        return Response(NoticeSerializer(notice).data)


class RevealInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
    purpose = serializers.ChoiceField(
        choices=AccessPurpose.choices, default=AccessPurpose.COMPLIANCE_REVIEW
    )
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=ENCRYPTED_FIELDS), required=False, allow_empty=False
    )


class PersonRevealView(APIView):
    @extend_schema(
        request=RevealInputSerializer,
        responses={200: {"type": "object", "additionalProperties": {"type": "string"}}},
        summary="Unmasked personal data, with a reason; written to the access log",
    )
    @sensitive_variables()
    def post(self, request: Request, uid: str) -> Response:
        data = RevealInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = get_object_or_404(selectors.person_list(user=request.user), uid=uid)
        values = services.person_reveal(
            person=person,
            actor=request.user,
            reason=data.validated_data["reason"],
            purpose=data.validated_data["purpose"],
            fields=data.validated_data.get("fields"),
        )
        response = Response(values)
        response["Cache-Control"] = "no-store"
        return response


class ExportInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class PersonExportView(APIView):
    required_permission = "person.reveal"

    @extend_schema(
        request=ExportInputSerializer,
        responses={200: {"type": "object"}},
        summary="Subject-access export: everything held about a person (logged)",
    )
    @sensitive_variables()
    def post(self, request: Request, uid: str) -> Response:
        data = ExportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = get_object_or_404(selectors.person_list(user=request.user), uid=uid)
        export = services.person_export(
            person=person, actor=request.user, reason=data.validated_data["reason"]
        )
        response = Response(export)
        response["Cache-Control"] = "no-store"
        return response


class CorrectionInputSerializer(serializers.Serializer):
    values = serializers.DictField(
        child=serializers.CharField(max_length=300, allow_null=True),
        help_text="Field → corrected value (name, date_of_birth, sex, id_expiry, "
        "nationality, address).",
    )


class PersonCorrectionView(APIView):
    required_permission = "person.correction_request"

    @extend_schema(
        request=CorrectionInputSerializer,
        responses={201: {"type": "object"}},
        summary="File a subject's correction request (compliance approves or refuses)",
    )
    @sensitive_variables()
    def post(self, request: Request, uid: str) -> Response:
        data = CorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = get_object_or_404(selectors.person_list(user=request.user), uid=uid)
        try:
            correction = services.correction_request_create(
                person=person, values=data.validated_data["values"], actor=request.user
            )
        except documents.IdentityInvalid as exc:
            raise identity_errors(exc, prefix="values.") from None
        return Response(
            {
                "id": correction.pk,
                "status": correction.status,
                "fields": sorted(correction.proposed),
            },
            status=201,
        )
