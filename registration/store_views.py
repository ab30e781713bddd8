"""Store pages that follow a transaction up, and the receipt's public check.

- ``receipt_check``: anyone holding a printed receipt opens its QR code's URL
  and learns whether it is genuine; no sign-in, masked data only, never cached
  nor indexed, and throttled per client address (the token is unguessable, but
  a flood of guesses is still refused).
- ``correction_for_line`` / ``correction_for_transaction``: a clerk files a
  subscriber's correction request for the holder of a line or the party of a
  receipt; identity.services validates and stores it, the compliance officer
  decides it in the console."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from config import client_ip
from config.api import DomainError
from config.link_language import link_language
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.errors import IdentityInvalid
from identity.models import Person
from operators.tenancy import can

from . import receipts, selectors
from .models import TransactionState
from .store_forms import CorrectionForm

RECEIPT_CHECK_WINDOW_SECONDS = 3600

# --- The receipt's public check ------------------------------------------------------------


def _check_key(request: HttpRequest) -> str:
    return f"receipt-check:{client_ip(request)}"


def _check_allowed(request: HttpRequest) -> bool:
    """Count this check against the client address's hourly allowance."""
    key = _check_key(request)
    cache.add(key, 0, timeout=RECEIPT_CHECK_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.set(key, 1, timeout=RECEIPT_CHECK_WINDOW_SECONDS)
        count = 1
    return count <= settings.TELEREG_RECEIPT_CHECK_LIMIT


def _public(response: HttpResponse) -> HttpResponse:
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_GET
@link_language
def receipt_check(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """Genuine (200, the receipt's masked facts) or not genuine (404): a forged,
    tampered or malformed token, or a reference that is not the signed one's."""
    if not _check_allowed(request):
        return _public(
            render(request, "registration/receipt_check.html", {"throttled": True}, status=429)
        )
    uid = receipts.receipt_uid(token)
    found = selectors.receipt_public(uid=uid) if uid is not None else None
    if found is None or found["reference"] != reference:
        return _public(
            render(request, "registration/receipt_check.html", {"genuine": False}, status=404)
        )
    return _public(
        render(
            request,
            "registration/receipt_check.html",
            {
                "genuine": True,
                "receipt": found,
                "pending": found["state"] == TransactionState.PENDING_VERIFICATION,
            },
        )
    )


# --- Corrections from the store -----------------------------------------------------------


def _correction_page(
    request: HttpRequest, *, person: Person, back: str, context: dict
) -> HttpResponse:
    """The correction form for ``person`` (shown masked); on a valid POST the
    request is filed through identity.services and the clerk sent ``back``."""
    if not can(request.user, "person.correction_request"):
        raise PermissionDenied
    form = CorrectionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                correction = identity_services.correction_request_create(
                    person=person,
                    values=form.values(),
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
            except IdentityInvalid as exc:
                # Whichever identity field the new value breaks, the reason is
                # about the value the clerk typed: shown beside it.
                for reasons in exc.errors.values():
                    form.add_error("value", reasons)
            except DomainError as exc:
                # A field the service will not correct: its reason beside the choice.
                reasons = [r for rs in (exc.fields or {}).values() for r in rs]
                form.add_error("field", reasons or exc.message)
            else:
                messages.success(
                    request,
                    gettext(
                        "Correction request %(number)s filed: the compliance officer "
                        "decides it; the data changes only when approved."
                    )
                    % {"number": correction.pk},
                )
                return redirect(back)
    masked = identity_selectors.person_masked(person, fields=("name", "id_number"))
    return render(
        request,
        "registration/correction.html",
        {"form": form, "person": masked, "back": back, **context},
        status=status,
    )


@login_required
@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def correction_for_line(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """A correction for the holder of a line the clerk may see."""
    if not can(request.user, "person.correction_request"):
        raise PermissionDenied
    line = get_object_or_404(selectors.line_list(user=request.user), uid=uid)
    return _correction_page(
        request,
        person=line.holder,
        back=reverse("registration:lines"),
        context={"line": line, "tx": None},
    )


@login_required
@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def correction_for_transaction(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """A correction for the party of a completed transaction whose receipt the
    clerk may open (the new holder of a transfer, the applicant otherwise)."""
    if not can(request.user, "person.correction_request"):
        raise PermissionDenied
    tx = get_object_or_404(
        selectors.transaction_list(user=request.user).select_related("applicant", "new_holder"),
        uid=uid,
        state=TransactionState.COMPLETED,
    )
    person = tx.new_holder or tx.applicant
    if person is None:
        raise PermissionDenied
    return _correction_page(
        request,
        person=person,
        back=reverse("registration:receipt", kwargs={"uid": tx.uid}),
        context={"line": tx.line, "tx": tx},
    )
