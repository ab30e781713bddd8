"""API views of the operators app: sign-in, the signed-in staff member, the
undertaking, and stores."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import DomainError

from . import selectors, services, tokens, two_factor
from .models import Store
from .tenancy import second_factor_required, staff_of


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "The username or password is not correct."


class AccountLocked(DomainError):
    code = "account_locked"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    message = (
        "This account is locked after too many failed sign-ins. "
        "Try again later or ask your operator admin to unlock it."
    )


class TokenObtainView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sign_in"

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        otp = serializers.CharField(
            max_length=16,
            required=False,
            allow_blank=True,
            help_text="The 6-digit code of the authenticator app: compliance officers, "
            "operator admins and platform admins.",
        )

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer},
        auth=[],
        summary="Exchange a username and password (and, for the privileged roles, the "
        "authenticator code) for an API token",
        description="401 `otp_required` without the code, 401 `otp_invalid` when it is wrong; "
        "the token expires after `TELEREG_TOKEN_TTL_HOURS` (401 `token_expired`).",
    )
    def post(self, request: Request) -> Response:
        data = self.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, so that django-axes counts failures and locks out.
        django_request = request._request
        user = authenticate(
            request=django_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if getattr(django_request, "axes_locked_out", False):
            raise AccountLocked()
        if user is None or not user.is_active:
            raise InvalidCredentials(
                fields={"password": ["The username or password is not correct."]}
            )
        if second_factor_required(user):
            two_factor.second_factor_verify(
                user=user, code=data.validated_data.get("otp", ""), request=django_request
            )
        issued = tokens.token_issue(user=user)
        return Response({"token": issued.key, "expires_at": issued.expires_at})


class MeView(APIView):
    undertaking_exempt = True

    class MeOutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        role = serializers.CharField(allow_null=True)
        operator = serializers.CharField(allow_null=True)
        store = serializers.CharField(allow_null=True)
        platform_admin = serializers.BooleanField()
        undertaking_accepted = serializers.BooleanField()

    @extend_schema(responses=MeOutputSerializer, summary="The signed-in staff member")
    def get(self, request: Request) -> Response:
        staff = staff_of(request.user)
        return Response(
            {
                "username": request.user.get_username(),
                "role": staff.role if staff else None,
                "operator": staff.operator.code if staff else None,
                "store": staff.store.code if staff and staff.store else None,
                "platform_admin": request.user.is_superuser,
                "undertaking_accepted": selectors.undertaking_pending(request.user) is None,
            }
        )


class UndertakingView(APIView):
    undertaking_exempt = True

    class UndertakingOutputSerializer(serializers.Serializer):
        version = serializers.CharField()
        text = serializers.CharField()
        published_at = serializers.DateTimeField()
        accepted = serializers.BooleanField()

    @extend_schema(
        responses=UndertakingOutputSerializer, summary="The current confidentiality undertaking"
    )
    def get(self, request: Request) -> Response:
        current = selectors.undertaking_current()
        if current is None:
            return Response({"version": "", "text": "", "published_at": None, "accepted": True})
        return Response(
            {
                "version": current.version,
                "text": current.text,
                "published_at": current.published_at,
                "accepted": selectors.undertaking_pending(request.user) is None,
            }
        )


class UndertakingAcceptView(APIView):
    undertaking_exempt = True

    class UndertakingAcceptInputSerializer(serializers.Serializer):
        version = serializers.CharField(max_length=32)

    @extend_schema(
        request=UndertakingAcceptInputSerializer,
        responses={
            200: inline_serializer(
                "UndertakingAccepted", {"accepted_at": serializers.DateTimeField()}
            )
        },
        summary="Accept the current confidentiality undertaking (by its version)",
    )
    def post(self, request: Request) -> Response:
        data = self.UndertakingAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        current = selectors.undertaking_current()
        if current is None or data.validated_data["version"] != current.version:
            raise serializers.ValidationError(
                {"version": ["Not the current version; read it again and accept that one."]}
            )
        acceptance = services.undertaking_accept(user=request.user, undertaking=current)
        return Response({"accepted_at": acceptance.accepted_at})


class StoreSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    operator = serializers.CharField(source="operator.code")
    region_code = serializers.CharField()
    address = serializers.CharField()
    active = serializers.BooleanField()


class StoreListView(generics.ListAPIView):
    serializer_class = StoreSerializer
    required_permission = "store.view"

    def get_queryset(self):
        return selectors.store_list(user=self.request.user)


class StoreDetailView(generics.RetrieveAPIView):
    serializer_class = StoreSerializer
    required_permission = "store.view"
    queryset = Store.objects.none()

    def get_queryset(self):
        return selectors.store_list(user=self.request.user)
