"""The registration API: transactions (idempotent), lines, numbers, services."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from operators.tenancy import scoped, staff_of

from . import campaigns, kinds, selectors, services
from .errors import RegistrationRefused
from .idempotency import idempotent
from .models import Campaign, LineKind, Transaction, TransactionKind, TransactionState
from .numbers import InvalidNumber, to_e164


class ConsentSerializer(serializers.Serializer):
    notice = serializers.CharField(max_length=64, help_text="The current notice's hash.")
    given = serializers.BooleanField()


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
            channel=ConsentChannel.API,
        )


class MaskedHolderSerializer(serializers.Serializer):
    id = serializers.CharField()
    id_type = serializers.CharField()
    name = serializers.CharField()
    id_number = serializers.CharField()


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

    def get_holder(self, line) -> dict:
        return selectors.line_masked_holder(line)

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
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

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
        except IdentityInvalid as exc:
            raise ValidationError(exc.errors) from None
        except RegistrationRefused as refusal:
            tx = getattr(refusal, "transaction", None)
            if tx is not None:
                refusal.message = f"{refusal.message} (reference {tx.reference})"
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
            raise NotFound("No person is registered with this document.")
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
            raise NotFound("No person is registered with this document.")
        person, lines = selectors.person_lines(
            user=request.user,
            id_type=data.validated_data["id_type"],
            id_number=data.validated_data["id_number"],
        )
        if person is None:
            raise NotFound("No person is registered with this document.")
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

    @extend_schema(responses=LineSerializer, summary="One line by its number")
    def get(self, request: Request, number: str) -> Response:
        qs = selectors.line_list(user=request.user).exclude(status="closed")
        line = get_object_or_404(qs, number=_e164_or_400(request, number))
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
            raise ValidationError({"kind": [f"One of: {', '.join(LineKind.values)}."]})
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


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    criteria = serializers.DictField()
    deadline = serializers.DateField()
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=campaigns.REMINDER_DAYS_MAX),
        max_length=campaigns.REMINDER_DAYS_COUNT_MAX,
        default=[14, 7, 2],
    )
    channels = serializers.ListField(
        child=serializers.CharField(max_length=16),
        max_length=len(campaigns.CHANNELS),
        default=["file"],
    )
    notice_text_zh = serializers.CharField(required=False, allow_blank=True, default="")
    notice_text_en = serializers.CharField(required=False, allow_blank=True, default="")


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    criteria = serializers.DictField()
    deadline = serializers.DateField()
    reminder_days = serializers.ListField(child=serializers.IntegerField())
    channels = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    launched_at = serializers.DateTimeField(allow_null=True)
    cycle_error = serializers.CharField(help_text="The last failure in the cycle, or empty.")
    cycle_failed_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.SerializerMethodField()

    def get_progress(self, campaign) -> dict:
        return campaigns.campaign_progress(campaign)


class CampaignListCreateView(APIView):
    required_permission = "campaign.manage"
    pagination_class = Pagination

    @extend_schema(responses=CampaignSerializer(many=True), summary="Campaigns of the operator")
    def get(self, request: Request) -> Response:
        qs = scoped(Campaign.objects.all(), request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(CampaignSerializer(page, many=True).data)

    @extend_schema(
        request=CampaignInputSerializer,
        responses={201: CampaignSerializer},
        summary="Define a re-verification campaign (a draft)",
    )
    @idempotent(required=False)
    def post(self, request: Request) -> Response:
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = staff_of(request.user)
        if staff is None:
            raise ValidationError({"operator": ["Campaigns belong to an operator's staff."]})
        campaign = campaigns.campaign_create(
            operator=staff.operator,
            data=campaigns.CampaignInput(**data.validated_data),
            actor=request.user,
        )
        return Response(CampaignSerializer(campaign).data, status=201)


class CampaignDetailView(APIView):
    required_permission = "campaign.manage"

    @extend_schema(responses=CampaignSerializer, summary="A campaign with its progress")
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(scoped(Campaign.objects.all(), request.user), pk=pk)
        return Response(CampaignSerializer(campaign).data)


class CampaignPreviewView(APIView):
    required_permission = "campaign.manage"

    @extend_schema(
        responses={200: {"type": "object", "properties": {"lines": {"type": "integer"}}}},
        summary="How many lines the campaign would ask, before launching",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(scoped(Campaign.objects.all(), request.user), pk=pk)
        return Response({"lines": campaigns.campaign_preview(campaign=campaign)})


def _campaign_action(action):
    class View(APIView):
        required_permission = "campaign.manage"

        @extend_schema(request=None, responses=CampaignSerializer, summary=f"{action.__name__}")
        @idempotent(required=False)
        def post(self, request: Request, pk: int) -> Response:
            campaign = get_object_or_404(scoped(Campaign.objects.all(), request.user), pk=pk)
            campaign = action(campaign=campaign, actor=request.user)
            return Response(CampaignSerializer(campaign).data)

    View.__name__ = f"Campaign{action.__name__.split('_')[-1].title()}View"
    return View


CampaignLaunchView = _campaign_action(campaigns.campaign_launch)
CampaignPauseView = _campaign_action(campaigns.campaign_pause)
CampaignResumeView = _campaign_action(campaigns.campaign_resume)
CampaignCloseView = _campaign_action(campaigns.campaign_close)


class InStoreReverifyInputSerializer(serializers.Serializer):
    holder = IdentityBlockSerializer()
    consent = ConsentSerializer()


class InStoreReverifyView(APIView):
    """A clerk completes a line's open re-verification request after checking
    the holder's identity in person."""

    required_permission = "transaction.create"

    @extend_schema(
        request=InStoreReverifyInputSerializer,
        responses={200: {"type": "object"}},
        summary="Re-verify a line's holder in store (completes the open request)",
    )
    @idempotent(required=False)
    @sensitive_variables()
    def post(self, request: Request, number: str) -> Response:
        from .models import RequestState, ReverificationRequest

        data = InStoreReverifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = get_object_or_404(
            selectors.line_list(user=request.user).exclude(status="closed"),
            number=_e164_or_400(request, number),
        )
        open_request = (
            ReverificationRequest.objects.filter(
                line=line, state__in=[RequestState.PENDING, RequestState.EXPIRED]
            )
            .order_by("-created_at")
            .first()
        )
        if open_request is None:
            raise ValidationError({"line": ["This line has no open re-verification request."]})
        block = IdentityBlockSerializer(data=request.data["holder"])
        block.is_valid(raise_exception=True)
        identity = block.to_identity()
        staff = staff_of(request.user)
        try:
            done = campaigns.request_answer(
                request=open_request,
                identity=identity,
                consent=ConsentInput(data.validated_data["consent"]["notice"], True),
                channel="store",
                actor=request.user,
                store=staff.store if staff else None,
            )
        except IdentityInvalid as exc:
            raise ValidationError({f"holder.{k}": v for k, v in exc.errors.items()}) from None
        line.refresh_from_db()
        return Response({"request": done.pk, "state": done.state, "line_status": line.status})


class ExtendInputSerializer(serializers.Serializer):
    deadline = serializers.DateField()
    reason = serializers.CharField(max_length=200)


class RequestExtendView(APIView):
    required_permission = "campaign.manage"

    @extend_schema(
        request=ExtendInputSerializer,
        responses={200: {"type": "object"}},
        summary="Grant a re-verification request more time (moves its deadline)",
    )
    @idempotent(required=False)
    def post(self, request: Request, pk: int) -> Response:
        from .models import ReverificationRequest

        data = ExtendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        req = get_object_or_404(scoped(ReverificationRequest.objects.all(), request.user), pk=pk)
        req = campaigns.request_extend(
            request=req,
            deadline=data.validated_data["deadline"],
            reason=data.validated_data["reason"],
            actor=request.user,
        )
        return Response({"id": req.pk, "state": req.state, "deadline": req.deadline.isoformat()})
