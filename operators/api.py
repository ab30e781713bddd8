"""API views of the operators app: sign-in, the signed-in staff member, the
undertaking, and stores."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api import DomainError

from . import selectors, services, tokens, two_factor
from .errors import StoreSuspended
from .models import StaffMember, Store
from .roles import Role
from .tenancy import second_factor_required, staff_of


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    message = gettext_lazy("The username or password is not correct.")


class AccountLocked(DomainError):
    code = "account_locked"
    message = gettext_lazy(
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
                fields={"password": [gettext("The username or password is not correct.")]}
            )
        if selectors.store_suspended_for(user):
            raise StoreSuspended()
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
                {
                    "version": [
                        gettext("Not the current version; read it again and accept that one.")
                    ]
                }
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


# --- Staff roles and role grants -------------------------------------------------


class RoleGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    staff = serializers.IntegerField(source="staff_id")
    role_from = serializers.CharField()
    role_to = serializers.CharField()
    activates = serializers.BooleanField()
    state = serializers.CharField()
    reason = serializers.CharField()
    requested_by = serializers.IntegerField(source="requested_by_id")
    requested_at = serializers.DateTimeField()
    decided_by = serializers.IntegerField(source="decided_by_id", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()


def _text(max_length: int = 300) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True)


class RoleGrantListView(generics.ListAPIView):
    """Role grants of the operator; POST files one (a second person decides)."""

    serializer_class = RoleGrantSerializer
    required_permission = "role_grant.manage"

    class RoleGrantInputSerializer(serializers.Serializer):
        staff = serializers.IntegerField(min_value=1)
        role = serializers.ChoiceField(choices=Role.choices)
        reason = _text()

    def get_queryset(self):
        return selectors.role_grant_list(user=self.request.user)

    @extend_schema(
        request=RoleGrantInputSerializer,
        responses={201: RoleGrantSerializer},
        summary="Request a privileged role for a staff member (never oneself)",
    )
    def post(self, request: Request) -> Response:
        data = self.RoleGrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = get_object_or_404(
            selectors.staff_list(user=request.user), pk=data.validated_data["staff"]
        )
        grant = services.role_grant_request(
            staff=staff,
            role=data.validated_data["role"],
            reason=data.validated_data.get("reason", ""),
            actor=request.user,
        )
        return Response(RoleGrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class RoleGrantDecisionView(APIView):
    """``approve``, ``refuse`` or ``withdraw`` a pending grant."""

    required_permission = "role_grant.manage"
    decision: str = ""

    class DecisionInputSerializer(serializers.Serializer):
        note = _text()

    @extend_schema(
        request=DecisionInputSerializer,
        responses={200: RoleGrantSerializer},
        summary="Decide a pending role grant (a second person: not the requester or grantee)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = self.DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = get_object_or_404(selectors.role_grant_list(user=request.user), pk=pk)
        note = data.validated_data.get("note", "")
        if self.decision == "withdraw":
            grant = services.role_grant_withdraw(grant=grant, actor=request.user, note=note)
        else:
            grant = services.role_grant_decide(
                grant=grant, actor=request.user, approve=self.decision == "approve", note=note
            )
        return Response(RoleGrantSerializer(grant).data)


class StaffRoleView(APIView):
    """Change a staff member's role, store (``null``: head office) or active
    flag. Lower roles, store moves and revocations apply at once (200); a
    privileged role, or reactivating a privileged member, files a grant (202)."""

    required_permission = "staff.change"

    class StaffRoleInputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)
        store = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        active = serializers.BooleanField(required=False)
        reason = _text()

    class StaffRoleOutputSerializer(serializers.Serializer):
        staff = serializers.IntegerField()
        role = serializers.CharField()
        active = serializers.BooleanField()
        applied = serializers.ListField(child=serializers.CharField())
        grant = RoleGrantSerializer(allow_null=True)

    @extend_schema(
        request=StaffRoleInputSerializer,
        responses={200: StaffRoleOutputSerializer, 202: StaffRoleOutputSerializer},
        summary="Change a staff member's role or access (never one's own)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = self.StaffRoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff: StaffMember = get_object_or_404(selectors.staff_list(user=request.user), pk=pk)
        store = services.UNCHANGED
        if "store" in data.validated_data:
            store_id = data.validated_data["store"]
            store = None
            if store_id is not None:
                store = selectors.store_list(user=request.user).filter(pk=store_id).first()
                if store is None:
                    raise serializers.ValidationError({"store": [gettext("No such store.")]})
        result = services.staff_update(
            staff=staff,
            role=data.validated_data.get("role"),
            store=store,
            active=data.validated_data.get("active"),
            reason=data.validated_data.get("reason", ""),
            actor=request.user,
        )
        body = {
            "staff": result.staff.pk,
            "role": result.staff.role,
            "active": result.staff.active,
            "applied": list(result.applied),
            "grant": RoleGrantSerializer(result.grant).data if result.grant else None,
        }
        code = status.HTTP_202_ACCEPTED if result.grant else status.HTTP_200_OK
        return Response(body, status=code)
