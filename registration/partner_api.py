"""The base of the partner APIs (``/api/camara/``): what every CAMARA endpoint
shares, so each endpoint is only its input, one read and its answer.

* **Who**: partners only (``operators.Partner``), signed in with an API token
  from ``/api/v1/auth/token/``. Staff, platform admins and sessions are
  refused (403): a partner is an API client of one operator, and a staff
  token here would be a way to ask about numbers without the staff
  surfaces' look-up log. Partners in turn reach nothing else: they have no
  staff profile, so every staff surface answers 403 ``not_staff``.
* **Errors** leave in the CAMARA shape ``{"status", "code", "message"}``
  (CAMARA API Design Guidelines), never the project's ``{"error": …}``.
* **Every call is logged** (:class:`registration.models.PartnerCall`) with the
  partner, the endpoint, the number as a keyed digest and masked (never in
  clear), the status and the answer, before the answer leaves: no answer
  without its record.
* **Throttled per partner** (``THROTTLE_PARTNER``), not per address: a partner
  behind many addresses is still one client.

An endpoint subclasses :class:`PartnerAPIView`, sets ``endpoint``, parses its
number with :meth:`PartnerAPIView.phone_number` and answers.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.parsers import RequestTooLarge
from config.request_id import current_request_id
from identity import selectors as identity_selectors
from operators.models import PartnerKind
from operators.selectors import partner_of
from operators.tokens import ExpiringTokenAuthentication

from .errors import LineNotFound
from .models import PartnerCall
from .numbers import InvalidNumber, to_e164

if TYPE_CHECKING:
    from rest_framework.request import Request

    from operators.models import Partner

logger = logging.getLogger(__name__)

# CAMARA's phone number: E.164 with its leading "+", digits only.
CAMARA_PHONE_NUMBER = re.compile(r"\+[1-9][0-9]{4,14}")
PHONE_NUMBER_MAX_LENGTH = 16

# The CAMARA error codes, by status (CAMARA Commonalities, API Design Guidelines).
CAMARA_CODES = {
    status.HTTP_400_BAD_REQUEST: "INVALID_ARGUMENT",
    status.HTTP_401_UNAUTHORIZED: "UNAUTHENTICATED",
    status.HTTP_403_FORBIDDEN: "PERMISSION_DENIED",
    status.HTTP_404_NOT_FOUND: "NOT_FOUND",
    status.HTTP_405_METHOD_NOT_ALLOWED: "METHOD_NOT_SUPPORTED",
    status.HTTP_406_NOT_ACCEPTABLE: "NOT_ACCEPTABLE",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
    status.HTTP_429_TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
}
# A number this operator never had (or another operator's): CAMARA's code.
IDENTIFIER_NOT_FOUND = "IDENTIFIER_NOT_FOUND"


class CamaraError(exceptions.APIException):
    """An answer in the CAMARA error shape, raised by an endpoint: its status,
    CAMARA code and a message that never quotes the input."""

    def __init__(self, *, status_code: int, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.camara_code = code
        self.message = message


def camara_body(*, status_code: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status_code, "code": code, "message": str(message)}


def _generic_message(status_code: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Sign in with a partner's API token (POST /api/v1/auth/token/)."),
        403: _("Only partners may call this API."),
        404: _("Not found."),
        405: _("This method is not supported here."),
        413: _("The request is too large."),
        415: _("Send the body as application/json."),
        429: _("Too many requests: try again later."),
    }
    return messages.get(status_code, _("The request could not be answered."))


def _invalid_argument_message(detail: Any) -> str:
    """A 400's message: which fields are wrong and why (DRF's reasons, which
    never quote the value), or the parser's reason for the body."""
    if isinstance(detail, dict):
        parts = []
        for field, reasons in detail.items():
            text = reasons if isinstance(reasons, str) else " ".join(str(r) for r in reasons)
            parts.append(f"{field}: {text}")
        return "; ".join(parts) or _generic_message(400)
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail) or _generic_message(400)
    return str(detail)


def camara_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every refusal of a partner endpoint in the CAMARA shape."""
    if isinstance(exc, CamaraError):
        return Response(
            camara_body(status_code=exc.status_code, code=exc.camara_code, message=exc.message),
            status=exc.status_code,
        )
    if isinstance(exc, LineNotFound):
        return Response(
            camara_body(
                status_code=404,
                code=IDENTIFIER_NOT_FOUND,
                message=_("The phone number is not one of this operator's subscribers."),
            ),
            status=404,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if not isinstance(exc, exceptions.APIException):
        return None
    status_code = exc.status_code
    if isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
        message = _invalid_argument_message(exc.detail)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # 401 whatever DRF chose (it answers 403 without an authenticate header).
        status_code = status.HTTP_401_UNAUTHORIZED
        message = str(exc.detail)
    else:
        message = _generic_message(status_code)
    response = Response(
        camara_body(
            status_code=status_code,
            code=CAMARA_CODES.get(status_code, "UNKNOWN"),
            message=message,
        ),
        status=status_code,
    )
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait))
    return response


class IsPartner(permissions.BasePermission):
    """Signed in, and an active partner's account: nobody else (staff and
    platform admins included) calls a partner endpoint."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        partner = partner_of(user)
        # A risk-feed partner (an anti-fraud centre) reaches only /risk-flags/.
        if partner is None or partner.kind != PartnerKind.FRAUD_CHECKS:
            raise exceptions.PermissionDenied()
        return True


class PartnerRateThrottle(SimpleRateThrottle):
    """Calls per partner (``THROTTLE_PARTNER``), whichever address they come from."""

    scope = "partner"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        partner = partner_of(request.user)
        if partner is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": partner.pk}


# The error answer as the schema shows it, for every partner endpoint.
CamaraErrorSerializer = inline_serializer(
    name="CamaraError",
    fields={
        "status": serializers.IntegerField(),
        "code": serializers.CharField(),
        "message": serializers.CharField(),
    },
)
CAMARA_ERROR_RESPONSES = {
    code: CamaraErrorSerializer for code in (400, 401, 403, 404, 413, 415, 429)
}


def number_digest(number: str) -> str:
    """The keyed digest a partner call keeps of its number: equal numbers give
    equal digests (one can find every call about a number by computing it),
    and it tells nothing without the index key."""
    return identity_selectors.keyed_digest("partner-call-number", number)


def partner_call_record(
    *, partner: Partner, endpoint: str, number: str, status_code: int, answer: dict[str, Any]
) -> PartnerCall:
    """Write one partner call: who, which endpoint, the number (digest and
    masked only), the status and the answer (which holds no personal data)."""
    call = PartnerCall.objects.create(
        partner=partner,
        operator_id=partner.operator_id,
        endpoint=endpoint,
        number_digest=number_digest(number) if number else "",
        number_masked=identity_selectors.phone_masked(number) if number else "",
        status_code=status_code,
        answer=answer,
        request_id=current_request_id() or "",
    )
    logger.info(
        "Partner call %s by partner %s (%s): %s answered %s",
        call.pk,
        partner.pk,
        partner.name,
        endpoint,
        status_code,
    )
    return call


class PartnerAPIView(APIView):
    """The base of a CAMARA endpoint: partner tokens only, CAMARA errors, a
    per-partner throttle, and one :class:`PartnerCall` per call.

    Subclasses set ``endpoint`` (e.g. ``"number-recycling/check"``) and parse
    their number with :meth:`phone_number`, which also keeps it for the log."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsPartner]
    throttle_classes = [PartnerRateThrottle]
    endpoint = ""

    def get_exception_handler(self):
        return camara_exception_handler

    @property
    def partner(self) -> Partner:
        partner = partner_of(self.request.user)
        if partner is None:  # the permission refused it already
            raise exceptions.PermissionDenied()
        return partner

    def phone_number(self, value: str) -> str:
        """``value`` as E.164 if it is a CAMARA phone number of the partner's
        operator's country, else 400 ``INVALID_ARGUMENT`` on ``phoneNumber``."""
        if not CAMARA_PHONE_NUMBER.fullmatch(value):
            raise CamaraError(
                status_code=400,
                code="INVALID_ARGUMENT",
                message=_(
                    "phoneNumber: an E.164 number, a + then the country code and the number, "
                    "digits only."
                ),
            )
        try:
            number = to_e164(value, country=self.partner.operator.country)
        except InvalidNumber as exc:
            raise CamaraError(
                status_code=400, code="INVALID_ARGUMENT", message=f"phoneNumber: {exc}"
            ) from None
        self._call_number = number
        return number

    def finalize_response(self, request: Request, response: Response, *args, **kwargs):
        partner = partner_of(getattr(request, "user", None))
        if partner is not None:
            data = response.data if isinstance(response.data, dict) else {}
            answer = {"code": data["code"]} if "code" in data else data
            partner_call_record(
                partner=partner,
                endpoint=self.endpoint,
                number=getattr(self, "_call_number", ""),
                status_code=response.status_code,
                answer=answer,
            )
        return super().finalize_response(request, response, *args, **kwargs)
