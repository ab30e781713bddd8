"""What every API view shares: the one error shape, pagination, and the
mapping of domain errors to HTTP statuses.

Every error leaves as
``{"error": {"code": ..., "message": ..., "fields": {field: [reason, ...]}}}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.paginator import Page as DjangoPage
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.parsers import RequestTooLarge


class Pagination(PageNumberPagination):
    """Page-number pagination that spares the ``COUNT`` when the first page
    holds every row (an exact look-up such as ``/lines/?number=`` is then one
    query, not two). Longer lists count as before."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        page_size = self.get_page_size(request)
        if not page_size or request.query_params.get(self.page_query_param, "1") != "1":
            return super().paginate_queryset(queryset, request, view)
        first = list(queryset[: page_size + 1])
        if len(first) > page_size:
            paginator = self.django_paginator_class(queryset, page_size)
            self.page = DjangoPage(first[:page_size], 1, paginator)
        else:
            self.page = self.django_paginator_class(first, page_size).page(1)
        self.request = request
        if self.page.paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)


class DomainError(Exception):
    """An error a person can act on, raised by services and mapped once here.

    Subclasses set ``code`` and a message that never carries personal data;
    they know nothing of HTTP: :data:`STATUS_BY_ERROR` gives each its status."""

    code = "conflict"
    message = gettext_lazy("The request conflicts with the current state.")

    def __init__(
        self, message: str | None = None, *, fields: dict[str, list[str]] | None = None
    ) -> None:
        self.message = message or self.message
        self.fields = fields or {}
        super().__init__(self.message)


class InvalidInput(DomainError):
    """Bad input: ``fields`` name what is wrong (copied onto forms field by field)."""

    code = "invalid"
    message = gettext_lazy("Some fields are not valid.")


# Each domain error class and the HTTP status it leaves the API with, by the
# class's dotted path (the apps import this module, so it cannot import them).
# A class not listed takes its nearest listed base's status.
STATUS_BY_ERROR: dict[str, int] = {
    "config.api.DomainError": status.HTTP_409_CONFLICT,
    "config.api.InvalidInput": status.HTTP_400_BAD_REQUEST,
    # identity
    "identity.errors.NoticeIncomplete": status.HTTP_400_BAD_REQUEST,
    "identity.errors.ConsentRequired": status.HTTP_400_BAD_REQUEST,
    "identity.errors.PersonShredded": status.HTTP_410_GONE,
    "identity.errors.RevealNotAllowed": status.HTTP_403_FORBIDDEN,
    "identity.services.RevealReasonRequired": status.HTTP_400_BAD_REQUEST,
    "identity.lookups.LookupLimitReached": status.HTTP_429_TOO_MANY_REQUESTS,
    "identity.lookups.LookupPurposeInvalid": status.HTTP_400_BAD_REQUEST,
    "identity.errors.CorrectionFourEyes": status.HTTP_403_FORBIDDEN,
    # operators
    "operators.errors.SelfRoleChange": status.HTTP_403_FORBIDDEN,
    "operators.errors.RoleChangeNotAllowed": status.HTTP_403_FORBIDDEN,
    "operators.errors.FourEyes": status.HTTP_403_FORBIDDEN,
    "operators.errors.StaffChangeInvalid": status.HTTP_400_BAD_REQUEST,
    "operators.errors.PartnerAccountInvalid": status.HTTP_400_BAD_REQUEST,
    "operators.errors.StoreStatusNotAllowed": status.HTTP_403_FORBIDDEN,
    "operators.errors.StoreStatusInvalid": status.HTTP_400_BAD_REQUEST,
    "operators.errors.StoreSuspended": status.HTTP_403_FORBIDDEN,
    "operators.two_factor.SecondFactorRequired": status.HTTP_401_UNAUTHORIZED,
    "operators.two_factor.SecondFactorInvalid": status.HTTP_401_UNAUTHORIZED,
    "operators.two_factor.SecondFactorLocked": status.HTTP_429_TOO_MANY_REQUESTS,
    "operators.api.InvalidCredentials": status.HTTP_400_BAD_REQUEST,
    "operators.api.AccountLocked": status.HTTP_429_TOO_MANY_REQUESTS,
    # registration
    "registration.errors.StoreInactive": status.HTTP_403_FORBIDDEN,
    "registration.errors.LineNotFound": status.HTTP_404_NOT_FOUND,
    "registration.errors.ServiceNotFound": status.HTTP_400_BAD_REQUEST,
    "registration.inventory.InventoryLoadRefused": status.HTTP_400_BAD_REQUEST,
    "registration.errors.DisclosureFourEyes": status.HTTP_403_FORBIDDEN,
    "registration.errors.DisclosureNotAllowed": status.HTTP_403_FORBIDDEN,
    # reverification
    "reverification.campaigns.CampaignInvalid": status.HTTP_400_BAD_REQUEST,
    "reverification.campaigns.AnswerRefused": status.HTTP_400_BAD_REQUEST,
    "reverification.campaigns.TooManyAttempts": status.HTTP_429_TOO_MANY_REQUESTS,
    "reverification.campaigns.AuthorityUnavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "reverification.campaigns.RequestClosed": status.HTTP_410_GONE,
    "reverification.my_lines.CodeRefused": status.HTTP_400_BAD_REQUEST,
    # registration: the portrait review queue
    "registration.reviews.ReviewNotAllowed": status.HTTP_403_FORBIDDEN,
    "reverification.risk.InStoreOnly": status.HTTP_403_FORBIDDEN,
    "reverification.risk.RiskLineClosed": status.HTTP_409_CONFLICT,
    "reverification.risk.RiskFlagOpen": status.HTTP_409_CONFLICT,
    "reverification.risk.RiskFlagClosed": status.HTTP_409_CONFLICT,
    # identity and registration: organisations, representatives, guardians (issue 15)
    "identity.organisations.HandlerReplaced": status.HTTP_403_FORBIDDEN,
    "identity.organisations.OrganisationCapInvalid": status.HTTP_400_BAD_REQUEST,
    "identity.organisations.OrganisationCapNotAllowed": status.HTTP_403_FORBIDDEN,
    "registration.representatives.GuardianRequired": status.HTTP_400_BAD_REQUEST,
    "registration.representatives.PartyUnavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    # reverification: the portrait check of an in-store re-verification
    "reverification.campaigns.PortraitReviewNeeded": status.HTTP_409_CONFLICT,
    "reverification.campaigns.PortraitUnavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error: its class's in STATUS_BY_ERROR, or
    its nearest listed base's."""
    for cls in type(exc).__mro__:
        found = STATUS_BY_ERROR.get(f"{cls.__module__}.{cls.__qualname__}")
        if found is not None:
            return found
    return status.HTTP_409_CONFLICT


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    # Texts rendered now (a lazy translation is not JSON): an Idempotency-Key
    # stores this body as JSON for its replays.
    fields = {
        name: [str(r) for r in reasons] if isinstance(reasons, list | tuple) else [str(reasons)]
        for name, reasons in (fields or {}).items()
    }
    return {"error": {"code": code, "message": str(message), "fields": fields}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as ``{"applicant.id_number": [reasons]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                for k, v in _flatten(item, name).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=status_for(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # Django's own request-shape limits (too many fields, a bad multipart body...).
        # Its message may quote the input: say only that the request was refused.
        return Response(
            error_body("bad_request", _("The request is malformed."), {"body": [_("Refused.")]}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", _("Some fields are not valid."), _flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        if isinstance(exc, exceptions.Throttled):
            code = "throttled"
        fields = None
        if isinstance(exc, exceptions.ParseError | RequestTooLarge):
            # A 400 names what was wrong: here the body as a whole.
            fields = {"body": [str(detail)]}
        body = error_body(code, str(detail), fields)
    response.data = body
    return response
