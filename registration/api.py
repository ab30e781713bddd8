"""The registration API: transactions (idempotent), lines, numbers, services."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Pagination
from identity import lookups
from identity import selectors as identity_selectors
from identity.api import IdentityBlockSerializer
from identity.errors import IdentityInvalid
from identity.models import ConsentChannel
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.tenancy import staff_of

from . import closing, kinds, portrait_check, representatives, reviews, selectors, services
from . import organisations as org_lines
from .errors import LineNotFound, RegistrationRefused
from .idempotency import idempotent
from .models import (
    OPERATOR_CLOSE_REASONS,
    LineKind,
    SimKind,
    Transaction,
    TransactionKind,
    TransactionState,
)
from .numbers import InvalidNumber, to_e164


class ConsentSerializer(serializers.Serializer):
    notice = serializers.CharField(max_length=64, help_text=_("The current notice's hash."))
    given = serializers.BooleanField()


class PortraitBlockSerializer(serializers.Serializer):
    """Shape only; registration.portrait_check decodes and judges the image."""

    image = serializers.CharField(
        required=False,
        trim_whitespace=False,
        max_length=3_000_000,
        help_text=_("Base64 of a PNG or JPEG, at most 2 MB."),
    )
    liveness = serializers.ChoiceField(choices=["passed", "failed", "not_checked"], required=False)
    exception = serializers.ChoiceField(choices=["cannot_capture"], required=False)
    reason = serializers.CharField(max_length=300, required=False)

    def validate(self, attrs):
        if "exception" in attrs:
            if "image" in attrs:
                raise ValidationError({"image": [gettext("An image or an exception, not both.")]})
            if not attrs.get("reason", "").strip():
                raise ValidationError({"reason": [gettext("Say why no portrait can be taken.")]})
        else:
            if "image" not in attrs:
                raise ValidationError({"image": [gettext("An image is required.")]})
            if "liveness" not in attrs:
                raise ValidationError({"liveness": [gettext("The liveness result is required.")]})
        return attrs


class SubscriberSerializer(serializers.Serializer):
    """An organisation as subscriber (issue 15); the service checks the code."""

    type = serializers.ChoiceField(choices=list(representatives.SUBSCRIBER_TYPES))
    name = serializers.CharField(max_length=300)
    uscc = serializers.CharField(max_length=40, help_text=_("Unified social credit code."))
    address = serializers.CharField(
        max_length=400, required=False, allow_null=True, allow_blank=True, default=None
    )


class AuthorizationSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=200)
    valid_until = serializers.DateField()


class GuardianBlockSerializer(IdentityBlockSerializer):
    relation = serializers.ChoiceField(choices=list(representatives.RELATIONS))


class TransactionInputSerializer(serializers.Serializer):
    """Shape only; which fields each kind needs is checked by the service
    (the kinds are registration.kinds's: read when the serializer is made)."""

    kind = serializers.ChoiceField(choices=TransactionKind.choices)
    consent = ConsentSerializer()
    applicant = IdentityBlockSerializer(required=False)
    holder = IdentityBlockSerializer(required=False)
    new_holder = IdentityBlockSerializer(required=False)
    number = serializers.CharField(max_length=24, required=False, allow_null=True, allow_blank=True)
    line = serializers.CharField(max_length=24, required=False)
    installation_address = serializers.CharField(max_length=300, required=False)
    service = serializers.CharField(max_length=40, required=False)
    # Checked (length, check digits, one of the two) by the service, on the field.
    iccid = serializers.CharField(
        max_length=40, required=False, help_text=_("A SIM card's ICCID (ITU-T E.118).")
    )
    eid = serializers.CharField(
        max_length=40, required=False, help_text=_("An eSIM's EID (GSMA SGP.29).")
    )
    stay_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("mobile_open, foreign passport only: the last day of the visa or permit."),
    )
    portrait = PortraitBlockSerializer(
        required=False,
        help_text=_("Openings, transfers (the new holder), sim_replace: the live portrait."),
    )
    # Issue 15: organisations, representatives, guardians.
    subscriber = SubscriberSerializer(
        required=False, help_text=_("An opening for an organisation: the organisation.")
    )
    handler = IdentityBlockSerializer(
        required=False, help_text=_("The organisation's handler (consenting for their own data).")
    )
    agent = IdentityBlockSerializer(
        required=False, help_text=_("A representative acting for the applicant or holder.")
    )
    guardian = GuardianBlockSerializer(
        required=False, help_text=_("The parent or guardian of an applicant under age.")
    )
    authorization = AuthorizationSerializer(
        required=False, help_text=_("The handler's or the agent's authorization.")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds.choices()

    def to_request(self) -> services.TransactionRequest:
        data = self.validated_data

        def identity(party: str):
            if party not in data:
                return None
            # Validated already, as a nested serializer of this one.
            return IdentityData.from_mapping(data[party])

        return services.TransactionRequest(
            kind=data["kind"],
            consent=ConsentInput(
                notice_hash=data["consent"]["notice"], given=data["consent"]["given"]
            ),
            applicant=identity("applicant"),
            holder=identity("holder"),
            new_holder=identity("new_holder"),
            number=data.get("number") or None,
            line=data.get("line"),
            installation_address=data.get("installation_address"),
            service=data.get("service"),
            iccid=data.get("iccid"),
            eid=data.get("eid"),
            stay_until=data.get("stay_until"),
            channel=ConsentChannel.API,
            portrait=_portrait_input(data.get("portrait")),
            **_extra_input(data),
        )


def _extra_input(data: dict) -> dict:
    """The issue-15 blocks of a validated body, as TransactionRequest fields."""
    out: dict = {}
    if (block := data.get("subscriber")) is not None:
        out["subscriber"] = representatives.OrganisationInput(
            type=block["type"], name=block["name"], uscc=block["uscc"], address=block["address"]
        )
    for party in ("handler", "agent"):
        if party in data:
            out[party] = IdentityData.from_mapping(data[party])
    if (block := data.get("guardian")) is not None:
        block = dict(block)
        out["guardian_relation"] = block.pop("relation")
        out["guardian"] = IdentityData.from_mapping(block)
    if (block := data.get("authorization")) is not None:
        out["authorization"] = representatives.AuthorizationInput(
            reference=block["reference"], valid_until=block["valid_until"]
        )
    return out


def _portrait_input(block: dict | None) -> portrait_check.PortraitInput | None:
    if block is None:
        return None
    return portrait_check.PortraitInput(
        image=block.get("image"),
        liveness=block.get("liveness"),
        exception=block.get("exception"),
        reason=block.get("reason", ""),
    )


class MaskedHolderSerializer(serializers.Serializer):
    id = serializers.CharField()
    id_type = serializers.CharField()
    name = serializers.CharField()
    id_number = serializers.CharField()


class LineSimSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SimKind.choices)
    last4 = serializers.CharField()
    changed_at = serializers.DateTimeField(allow_null=True)


class LineSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=LineKind.choices)
    status = serializers.CharField()
    status_reason = serializers.CharField()
    status_since = serializers.DateTimeField(source="status_changed_at", allow_null=True)
    holder = serializers.SerializerMethodField()
    registered_at = serializers.DateTimeField()
    store = serializers.CharField(source="store.code")
    installation_address = serializers.SerializerMethodField()
    closed_at = serializers.DateTimeField(allow_null=True)
    close_reason = serializers.SerializerMethodField()
    sim = serializers.SerializerMethodField()
    stay_until = serializers.DateField(allow_null=True)

    def get_holder(self, line) -> dict:
        return selectors.line_masked_holder(line)

    @extend_schema_field(LineSimSerializer(allow_null=True))
    def get_sim(self, line) -> dict | None:
        return selectors.line_sim(line)

    def get_close_reason(self, line) -> str | None:
        return line.close_reason or None

    def get_installation_address(self, line) -> str | None:
        return selectors.line_masked_address(line)


class TransactionLineSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    holder = serializers.SerializerMethodField()

    def get_holder(self, line) -> dict:
        return selectors.line_masked_holder(line)


class TransactionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uid")
    reference = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField()
    number = serializers.CharField()
    store = serializers.CharField(source="store.code")
    line = TransactionLineSerializer(allow_null=True)
    refusal = serializers.SerializerMethodField()
    portrait = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_portrait(self, tx: Transaction) -> dict | None:
        """The check's outcome and score (never the image)."""
        if not tx.portrait_outcome:
            return None
        return {
            "outcome": tx.portrait_outcome,
            "score": tx.portrait_score,
            "liveness": tx.portrait_liveness or None,
        }

    def get_refusal(self, tx: Transaction) -> dict | None:
        if not tx.refusal_code:
            return None
        return {"code": tx.refusal_code, "message": tx.refusal_message}


class TransactionListCreateView(APIView):
    required_permission = "transaction.view"
    required_permission_by_method = {"POST": "transaction.create"}
    pagination_class = Pagination

    @extend_schema(
        parameters=[
            OpenApiParameter("state", enum=TransactionState.values, required=False),
            OpenApiParameter("kind", enum=TransactionKind.values, required=False),
        ],
        responses=TransactionSerializer(many=True),
        summary="Transactions of the operator (clerks: of their store)",
    )
    def get(self, request: Request) -> Response:
        qs = selectors.transaction_list(user=request.user)
        for name in ("state", "kind"):
            if value := request.query_params.get(name):
                qs = qs.filter(**{name: value})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(TransactionSerializer(page, many=True).data)

    @extend_schema(
        request=TransactionInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", location=OpenApiParameter.HEADER, required=True, type=str
            )
        ],
        responses={201: TransactionSerializer, 202: TransactionSerializer},
        summary="Take a business transaction (201 done, 202 waiting for the authority)",
    )
    @idempotent(required=True)
    @sensitive_variables()
    def post(self, request: Request) -> Response:
        data = TransactionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tx_request = data.to_request()
        try:
            tx = services.transaction_submit(actor=request.user, request=tx_request)
        except representatives.GuardianRequired:
            raise  # its own code (guardian_required), mapped in config.api
        except IdentityInvalid as exc:
            raise ValidationError(exc.errors) from None
        except RegistrationRefused as refusal:
            tx = getattr(refusal, "transaction", None)
            if tx is not None:
                refusal.message = gettext("%(message)s (reference %(reference)s)") % {
                    "message": refusal.message,
                    "reference": tx.reference,
                }
            raise
        body = TransactionSerializer(tx).data
        code = 201 if tx.state == TransactionState.COMPLETED else 202
        return Response(body, status=code)


class TransactionDetailView(APIView):
    required_permission = "transaction.view"

    @extend_schema(responses=TransactionSerializer, summary="One transaction")
    def get(self, request: Request, uid: str) -> Response:
        tx = get_object_or_404(selectors.transaction_list(user=request.user), uid=uid)
        return Response(TransactionSerializer(tx).data)


class TransactionCancelView(APIView):
    required_permission = "transaction.create"

    @extend_schema(
        request=None, responses=TransactionSerializer, summary="Cancel a waiting transaction"
    )
    @idempotent(required=False)
    def post(self, request: Request, uid: str) -> Response:
        tx = get_object_or_404(selectors.transaction_list(user=request.user), uid=uid)
        tx = services.transaction_cancel(tx=tx, actor=request.user)
        return Response(TransactionSerializer(tx).data)


class TransactionIdentityInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
    party = serializers.ChoiceField(choices=["applicant", "holder", "new_holder"], required=False)


class TransactionIdentityView(APIView):
    required_permission = "transaction.create"

    @extend_schema(
        request=TransactionIdentityInputSerializer,
        responses={200: {"type": "object", "additionalProperties": {"type": "string"}}},
        summary="The identity as typed on your own waiting transaction (with a reason, logged)",
    )
    def post(self, request: Request, uid: str) -> Response:
        data = TransactionIdentityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tx = get_object_or_404(selectors.transaction_list(user=request.user), uid=uid)
        values = services.transaction_identity_reveal(
            tx=tx,
            actor=request.user,
            reason=data.validated_data["reason"],
            party=data.validated_data.get("party"),
        )
        response = Response(values)
        response["Cache-Control"] = "no-store"
        return response


class LineListView(generics.ListAPIView):
    required_permission = "line.lookup"
    serializer_class = LineSerializer

    @extend_schema(parameters=[OpenApiParameter("number", str, required=False)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        number = self.request.query_params.get("number")
        if number:
            # A handful of rows at most (one open line, its closed forerunners):
            # a list, which the pagination pages like a queryset.
            return selectors.lines_by_number(
                user=self.request.user, number=_e164_or_400(self.request, number)
            )
        return selectors.line_list(user=self.request.user).order_by("number")


def _e164_or_400(request: Request, number: str) -> str:
    staff = staff_of(request.user)
    country = staff.operator.country if staff else "CN"
    try:
        return to_e164(number, country=country)
    except InvalidNumber as exc:
        raise ValidationError({"number": [str(exc)]}) from None


class PersonLookupInputSerializer(serializers.Serializer):
    id_type = serializers.CharField(max_length=40)
    id_number = serializers.CharField(max_length=40)
    purpose = serializers.ChoiceField(
        choices=lookups.LOOKUP_PURPOSE_CHOICES,
        required=False,
        default=lookups.DEFAULT_PURPOSE,
        help_text="Why the person is looked up; written to the access log.",
    )


class PersonLookupLineSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    registered_at = serializers.DateTimeField()
    store = serializers.CharField(source="store.code")


class PersonLookupView(APIView):
    """Who holds lines under a document, masked. A POST, so the document
    number never appears in a URL or an access log line."""

    required_permission = "line.lookup"

    @extend_schema(
        request=PersonLookupInputSerializer,
        responses={200: {"type": "object"}},
        summary="A person by document (blind index), masked, with the open lines they hold",
    )
    @sensitive_variables("data")
    def post(self, request: Request) -> Response:
        data = PersonLookupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        operator = selectors.lookup_operator(user=request.user)
        if operator is None:
            raise NotFound(gettext("No person is registered with this document."))
        try:
            # Counted against the caller's hourly limit and written to the
            # access log (found or not) before anything is answered.
            person = lookups.person_lookup_by_document(
                operator=operator,
                actor=request.user,
                id_type=data.validated_data["id_type"],
                id_number=data.validated_data["id_number"],
                purpose=data.validated_data["purpose"],
                surface="api.persons.lookup",
            )
        except IdentityInvalid as exc:
            raise ValidationError(exc.errors) from None
        if person is None:
            raise NotFound(gettext("No person is registered with this document."))
        person, lines = selectors.person_lines(
            user=request.user,
            id_type=data.validated_data["id_type"],
            id_number=data.validated_data["id_number"],
        )
        if person is None:
            raise NotFound(gettext("No person is registered with this document."))
        response = Response(
            {
                "person": identity_selectors.person_masked(person),
                "verification_status": person.verification_status,
                "lines": PersonLookupLineSerializer(lines, many=True).data,
            }
        )
        response["Cache-Control"] = "no-store"
        return response


class LineDetailView(APIView):
    required_permission = "line.lookup"

    @extend_schema(
        responses=LineSerializer,
        summary="One line by its number (a closed one until its number is given again)",
    )
    def get(self, request: Request, number: str) -> Response:
        line = selectors.line_current(user=request.user, number=_e164_or_400(request, number))
        if line is None:
            raise NotFound(LineNotFound.message)
        return Response(LineSerializer(line).data)


class LineCloseInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=[(r.value, r.label) for r in OPERATOR_CLOSE_REASONS])
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class LineCloseView(APIView):
    """The operator closes a line (compliance officers, operator admins): the
    same effects as the holder's ``line_close``, and the holder is told."""

    required_permission = "line.close"

    @extend_schema(
        request=LineCloseInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", location=OpenApiParameter.HEADER, required=False, type=str
            )
        ],
        responses=LineSerializer,
        summary="Close a line for the operator, with a reason (closing twice is harmless)",
    )
    @idempotent(required=False)
    def post(self, request: Request, number: str) -> Response:
        e164 = _e164_or_400(request, number)
        data = LineCloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        closing.close_input_check(**data.validated_data)
        line = selectors.line_current(user=request.user, number=e164)
        if line is None:
            raise NotFound(LineNotFound.message)
        closing.line_close(line=line, actor=request.user, **data.validated_data)
        line = selectors.line_list(user=request.user).get(pk=line.pk)
        return Response(LineSerializer(line).data)


class NumberSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.CharField()


class NumbersAvailableView(generics.ListAPIView):
    required_permission = "transaction.create"
    serializer_class = NumberSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=LineKind.values, required=True),
            OpenApiParameter(
                "pattern", str, required=False, description="Digits the number contains"
            ),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        kind = self.request.query_params.get("kind")
        if kind not in LineKind.values:
            raise ValidationError(
                {"kind": [gettext("One of: %(kinds)s.") % {"kinds": ", ".join(LineKind.values)}]}
            )
        return selectors.numbers_available(
            user=self.request.user, kind=kind, pattern=self.request.query_params.get("pattern", "")
        )


class ServiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    line_kinds = serializers.ListField(child=serializers.CharField())


class ServiceListView(generics.ListAPIView):
    required_permission = "transaction.view"
    serializer_class = ServiceSerializer

    def get_queryset(self):
        return selectors.service_list(user=self.request.user).order_by("code")


# --- The portrait review queue ---------------------------------------------------------------


class ReviewSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uid")
    state = serializers.CharField()
    cause = serializers.CharField()
    due_at = serializers.DateTimeField()
    transaction = serializers.UUIDField(source="transaction.uid")
    reference = serializers.CharField(source="transaction.reference")
    kind = serializers.CharField(source="transaction.kind")
    number = serializers.CharField(source="transaction.number")
    store = serializers.CharField(source="store.code")
    clerk = serializers.CharField(source="transaction.staff.username")
    score = serializers.FloatField(source="transaction.portrait_score", allow_null=True)
    liveness = serializers.CharField(source="transaction.portrait_liveness")
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReviewDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(reviews.DECISIONS))
    reason = serializers.CharField(max_length=300)


class ReviewRevealSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ReviewListView(APIView):
    required_permission = "portrait.review"
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("state", enum=["open", "approved", "refused", "expired"])],
        responses=ReviewSerializer(many=True),
        summary="Portrait reviews of the operator (store managers: of their store)",
    )
    def get(self, request: Request) -> Response:
        qs = reviews.review_list(user=request.user, state=request.query_params.get("state"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ReviewSerializer(page, many=True).data)


class ReviewDecideView(APIView):
    required_permission = "portrait.review"

    @extend_schema(
        request=ReviewDecideSerializer,
        responses=ReviewSerializer,
        summary="Approve or refuse a portrait review (never the clerk who took it: 403 four_eyes)",
    )
    @idempotent(required=False)
    def post(self, request: Request, uid: str) -> Response:
        data = ReviewDecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = get_object_or_404(reviews.review_list(user=request.user), uid=uid)
        review = reviews.review_decide(
            actor=request.user,
            review=review,
            decision=data.validated_data["decision"],
            reason=data.validated_data["reason"],
        )
        return Response(ReviewSerializer(review).data)


class ReviewRevealView(APIView):
    required_permission = "portrait.review"

    @extend_schema(
        request=ReviewRevealSerializer,
        responses={200: {"type": "object"}},
        summary="Both images of a review, base64 (an audited reveal, purpose portrait_review)",
    )
    def post(self, request: Request, uid: str) -> Response:
        data = ReviewRevealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = get_object_or_404(reviews.review_list(user=request.user), uid=uid)
        values = reviews.review_reveal(
            actor=request.user, review=review, reason=data.validated_data["reason"]
        )
        response = Response(values)
        response["Cache-Control"] = "no-store"
        return response


# --- Organisations' lines: the end user (issue 15) -------------------------------------------


class LineUserInputSerializer(serializers.Serializer):
    handler = IdentityBlockSerializer()
    user = IdentityBlockSerializer()
    consent = ConsentSerializer()


class LineUserView(APIView):
    """The organisation's handler names the verified person who uses one of
    its lines; the line then counts toward that person's own cap."""

    required_permission = "transaction.create"

    @extend_schema(
        request=LineUserInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", location=OpenApiParameter.HEADER, required=False, type=str
            )
        ],
        responses=LineSerializer,
        summary="Record the end user of an organisation's line (403 handler_replaced)",
    )
    @idempotent(required=False)
    @sensitive_variables()
    def post(self, request: Request, number: str) -> Response:
        e164 = _e164_or_400(request, number)
        data = LineUserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        try:
            line = org_lines.line_user_record(
                actor=request.user,
                number=e164,
                handler=IdentityData.from_mapping(body["handler"]),
                user=IdentityData.from_mapping(body["user"]),
                consent=ConsentInput(
                    notice_hash=body["consent"]["notice"], given=body["consent"]["given"]
                ),
            )
        except IdentityInvalid as exc:
            raise ValidationError(exc.errors) from None
        line = selectors.line_list(user=request.user).get(pk=line.pk)
        return Response(LineSerializer(line).data)
