"""The re-verification API: campaigns, in-store re-verification of a line's
holder, extensions of a request."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Pagination
from identity.api import IdentityBlockSerializer
from identity.errors import IdentityInvalid
from identity.services import ConsentInput
from operators.models import PartnerKind
from operators.permissions import IsActiveStaff, RoleNotAllowed
from operators.selectors import partner_of
from operators.tenancy import scoped, staff_of
from registration import selectors as registration_selectors
from registration.api import ConsentSerializer, PortraitBlockSerializer
from registration.idempotency import idempotent
from registration.models import Line, LineStatus
from registration.numbers import InvalidNumber, to_e164
from registration.portrait_check import PortraitInput

from . import campaigns, risk, selectors
from .models import RISK_REASON_MAX, Campaign, ReverificationRequest, RiskFlag, RiskSource


def _e164_or_400(request: Request, number: str) -> str:
    staff = staff_of(request.user)
    country = staff.operator.country if staff else "CN"
    try:
        return to_e164(number, country=country)
    except InvalidNumber as exc:
        raise ValidationError({"number": [str(exc)]}) from None


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
    failure = serializers.CharField(help_text="Why its planning last failed, or empty.")
    failed_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.SerializerMethodField()

    def get_progress(self, campaign) -> dict:
        return campaigns.campaign_progress(campaign)


class CampaignEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    request = serializers.IntegerField(source="request_id", allow_null=True)
    actor = serializers.CharField(source="actor_label")
    note = serializers.CharField()
    at = serializers.DateTimeField()


class CampaignDetailSerializer(CampaignSerializer):
    """A campaign with who changed its state (and extended its requests), oldest first."""

    events = CampaignEventSerializer(many=True, source="events.all")


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
            raise ValidationError(
                {"operator": [gettext("Campaigns belong to an operator's staff.")]}
            )
        campaign = campaigns.campaign_create(
            operator=staff.operator,
            data=campaigns.CampaignInput(**data.validated_data),
            actor=request.user,
        )
        return Response(CampaignSerializer(campaign).data, status=201)


class CampaignDetailView(APIView):
    required_permission = "campaign.manage"

    @extend_schema(responses=CampaignDetailSerializer, summary="A campaign with its progress")
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(scoped(Campaign.objects.all(), request.user), pk=pk)
        return Response(CampaignDetailSerializer(campaign).data)


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
    stay_until = serializers.DateField(
        required=False,
        help_text=_("A visitor's line: the new last day of stay (restores a line barred for it)."),
    )
    portrait = PortraitBlockSerializer(
        required=False,
        help_text=_("The holder's live portrait (required by the operator's portrait policy)."),
    )


def _portrait_input(block: dict | None) -> PortraitInput | None:
    if block is None:
        return None
    return PortraitInput(
        image=block.get("image"),
        liveness=block.get("liveness"),
        exception=block.get("exception"),
        reason=block.get("reason", ""),
    )


def _portrait_errors(exc: IdentityInvalid) -> dict:
    """Field errors of the answer: the portrait's keep their path, the rest are the holder's."""
    return {k if k.startswith("portrait") else f"holder.{k}": v for k, v in exc.errors.items()}


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
        data = InStoreReverifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = get_object_or_404(
            registration_selectors.line_list(user=request.user).exclude(status="closed"),
            number=_e164_or_400(request, number),
        )
        block = IdentityBlockSerializer(data=request.data["holder"])
        block.is_valid(raise_exception=True)
        identity = block.to_identity()
        staff = staff_of(request.user)
        if "stay_until" in data.validated_data:
            return self._stay(request, line, identity, data.validated_data, staff)
        open_request = selectors.line_open_request(line)
        if open_request is None:
            raise ValidationError(
                {"line": [gettext("This line has no open re-verification request.")]}
            )
        try:
            done = campaigns.request_answer(
                request=open_request,
                identity=identity,
                consent=ConsentInput(data.validated_data["consent"]["notice"], True),
                channel="store",
                actor=request.user,
                store=staff.store if staff else None,
                portrait=_portrait_input(data.validated_data.get("portrait")),
            )
        except IdentityInvalid as exc:
            raise ValidationError(_portrait_errors(exc)) from None
        line.refresh_from_db()
        return Response({"request": done.pk, "state": done.state, "line_status": line.status})

    @sensitive_variables()
    def _stay(self, request: Request, line, identity, data: dict, staff) -> Response:
        """A visitor's line given a later end of stay (campaigns.line_stay_renew)."""
        try:
            renewed = campaigns.line_stay_renew(
                line=line,
                identity=identity,
                consent=ConsentInput(data["consent"]["notice"], True),
                stay_until=data["stay_until"],
                actor=request.user,
                store=staff.store if staff else None,
                portrait=_portrait_input(data["portrait"]) if "portrait" in data else None,
            )
        except IdentityInvalid as exc:
            raise ValidationError(_portrait_errors(exc)) from None
        return Response(
            {
                "line_status": renewed.status,
                "stay_until": renewed.stay_until.isoformat(),
            }
        )


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


# --- Risk flags ------------------------------------------------------------------------


class RiskFlagInputSerializer(serializers.Serializer):
    line = serializers.CharField(max_length=32)
    tier = serializers.CharField(max_length=16)
    reason = serializers.CharField(max_length=RISK_REASON_MAX, trim_whitespace=False)


class RiskFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    line = serializers.CharField(source="line.number")
    tier = serializers.CharField()
    state = serializers.CharField()
    source = serializers.CharField()
    reason = serializers.CharField()
    due_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    request = serializers.IntegerField(source="request_id", allow_null=True)
    line_status = serializers.CharField(source="line.status")


class StaffOrRiskFeed(IsActiveStaff):
    """A compliance officer (``risk_flag.manage``), or a partner of kind
    ``risk_feed`` (an anti-fraud centre), which reaches this endpoint only."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        partner = partner_of(request.user)
        if partner is not None:
            if partner.kind != PartnerKind.RISK_FEED:
                raise RoleNotAllowed()
            return True
        return super().has_permission(request, view)


class RiskFlagCreateView(APIView):
    """Flag a line as risky (high: barred at once, in-store re-verification
    within 24 hours; medium: a normal request)."""

    permission_classes = [StaffOrRiskFeed]
    required_permission = "risk_flag.manage"

    @extend_schema(
        request=RiskFlagInputSerializer,
        responses={201: RiskFlagSerializer},
        summary="Raise a risk flag on a line",
    )
    @idempotent(required=False)
    def post(self, request: Request) -> Response:
        data = RiskFlagInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner = partner_of(request.user)
        staff = staff_of(request.user)
        operator = partner.operator if partner is not None else (staff.operator if staff else None)
        if operator is None:
            raise ValidationError({"line": [gettext("Risk flags belong to an operator.")]})
        try:
            number = to_e164(data.validated_data["line"], country=operator.country)
        except InvalidNumber as exc:
            raise ValidationError({"line": [str(exc)]}) from None
        line = get_object_or_404(
            Line.objects.filter(operator=operator).exclude(status=LineStatus.CLOSED),
            number=number,
        )
        raised = risk.risk_flag_raise(
            line=line,
            tier=data.validated_data["tier"],
            reason=data.validated_data["reason"],
            source=RiskSource.RISK_FEED if partner is not None else RiskSource.COMPLIANCE,
            actor=request.user,
            actor_label=f"partner:{partner.name}" if partner is not None else "",
        )
        flag = RiskFlag.objects.select_related("line").get(pk=raised.flag.pk)
        return Response(RiskFlagSerializer(flag).data, status=201)
