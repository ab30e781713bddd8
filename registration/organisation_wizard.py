"""The store wizard "for an organisation" (issue 15): organisation → handler
→ authorization → notice and consent → details, then the opening is taken by
``services.transaction_submit`` like any other. What the clerk typed is kept
between steps sealed under a data key of its own (``transient_seal``), never
in clear in the session. Each step checks its own block with the services'
rules; the submit's refusals come back on the details page."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import secrets
import time
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from config.api import DomainError
from config.forms import form_errors_add
from identity import organisations as orgs
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.errors import IdentityInvalid
from identity.masking import mask_id_number, mask_name
from identity.models import ConsentChannel
from identity.services import ConsentInput
from operators.tenancy import can, staff_of

from . import representatives, services
from .forms import DATE_INPUT, ConsentForm, IdentityForm, identity_from_json, identity_to_json
from .models import LineKind

SESSION_KEY = "telereg.organisation_wizard"
MAX_AGE_SECONDS = 30 * 60
STEPS = ("organisation", "handler", "authorization", "notice", "details")
STEP_LABELS = {
    "organisation": gettext_lazy("Organisation"),
    "handler": gettext_lazy("Handler"),
    "authorization": gettext_lazy("Authorization"),
    "notice": gettext_lazy("Notice and consent"),
    "details": gettext_lazy("Details"),
}
KIND_BY_LINE = {LineKind.MOBILE: "mobile_open", LineKind.LANDLINE: "landline_install"}


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=300, label=gettext_lazy("Organisation name"))
    uscc = forms.CharField(max_length=40, label=gettext_lazy("Unified social credit code"))
    address = forms.CharField(
        max_length=400, required=False, label=gettext_lazy("Registered address")
    )


class AuthorizationForm(forms.Form):
    reference = forms.CharField(max_length=200, label=gettext_lazy("Authorization reference"))
    valid_until = forms.DateField(label=gettext_lazy("Valid until"), widget=DATE_INPUT)


class OrgDetailsForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Line"),
        choices=[
            ("mobile_open", gettext_lazy("Mobile account opening")),
        ],
    )
    number = forms.CharField(
        max_length=24,
        required=False,
        label=gettext_lazy("Number (optional)"),
        help_text=gettext_lazy("Leave empty and the system picks one."),
    )


def _subject(flow: str) -> str:
    return f"organisation-wizard:{flow}"


@sensitive_variables()
def _load(request: HttpRequest) -> dict[str, Any]:
    stored = request.session.get(SESSION_KEY)
    if not stored or time.time() - stored.get("started", 0) > MAX_AGE_SECONDS:
        return {}
    opened = identity_services.transient_open(
        subject=_subject(stored["flow"]),
        field="state",
        wrapped_key=base64.b64decode(stored["key"]),
        blob=base64.b64decode(stored["state"]),
    )
    if opened is None:
        return {}
    return {**json.loads(opened), "_flow": stored["flow"], "_started": stored["started"]}


@sensitive_variables()
def _save(request: HttpRequest, state: dict[str, Any]) -> None:
    flow = state.get("_flow") or secrets.token_hex(16)
    started = state.get("_started") or time.time()
    payload = json.dumps({k: v for k, v in state.items() if not k.startswith("_")})
    wrapped, blob = identity_services.transient_seal(
        subject=_subject(flow), field="state", value=payload
    )
    request.session[SESSION_KEY] = {
        "flow": flow,
        "started": started,
        "key": base64.b64encode(wrapped).decode(),
        "state": base64.b64encode(blob).decode(),
    }


def _clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def _next(state: dict[str, Any]) -> str:
    for step in ("organisation", "handler", "authorization", "notice"):
        if not state.get(step):
            return step
    return "details"


def wizard_step(step: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest) -> HttpResponse:
            if not can(request.user, "transaction.create"):
                raise PermissionDenied
            staff = staff_of(request.user)
            if staff is None or staff.store is None:
                raise PermissionDenied
            state = _load(request)
            if STEPS.index(step) > STEPS.index(_next(state)):
                return redirect(reverse(f"registration:org-{_next(state)}"))
            return view(request, staff, state)

        return login_required(
            never_cache(sensitive_post_parameters()(require_http_methods(["GET", "POST"])(wrapper)))
        )

    return decorate


def _render(request, step: str, state: dict, context: dict, status: int = 200) -> HttpResponse:
    summary = []
    if state.get("organisation"):
        org = state["organisation"]
        summary.append(
            (gettext("Organisation"), f"{mask_name(org['name'])} · {mask_id_number(org['uscc'])}")
        )
    if state.get("handler"):
        masked = identity_selectors.identity_masked(identity_from_json(state["handler"]))
        summary.append((gettext("Handler"), f"{masked['name']} · {masked['id_number']}"))
    steps = [
        {
            "key": key,
            "label": STEP_LABELS[key],
            "current": key == step,
            "done": STEPS.index(key) < STEPS.index(step),
        }
        for key in STEPS
    ]
    return render(
        request,
        f"registration/org_{step}.html",
        {
            "title": gettext("Opening for an organisation"),
            "org_steps": steps,
            "summary": summary,
            **context,
        },
        status=status,
    )


@wizard_step("organisation")
@sensitive_variables()
def step_organisation(request: HttpRequest, staff, state: dict) -> HttpResponse:
    form = OrganisationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                data = orgs.organisation_validate(**form.cleaned_data)
            except IdentityInvalid as exc:
                status = form_errors_add(form, exc)
            else:
                state = {
                    "organisation": {"name": data.name, "uscc": data.uscc, "address": data.address}
                }
                _save(request, state)
                return redirect("registration:org-handler")
        else:
            status = 400
    return _render(request, "organisation", state, {"form": form}, status)


@wizard_step("handler")
@sensitive_variables()
def step_handler(request: HttpRequest, staff, state: dict) -> HttpResponse:
    form = IdentityForm(request.POST or None, prefix="handler")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                identity = identity_services.identity_validate(
                    operator=staff.operator, identity=form.to_identity()
                )
            except IdentityInvalid as exc:
                status = form_errors_add(form, exc)
            else:
                state["handler"] = identity_to_json(identity)
                _save(request, state)
                return redirect("registration:org-authorization")
        else:
            status = 400
    return _render(request, "handler", state, {"form": form}, status)


@wizard_step("authorization")
def step_authorization(request: HttpRequest, staff, state: dict) -> HttpResponse:
    form = AuthorizationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                data = orgs.authorization_validate(**form.cleaned_data)
            except IdentityInvalid as exc:
                status = form_errors_add(form, exc)
            else:
                state["authorization"] = {
                    "reference": data.reference,
                    "valid_until": data.valid_until.isoformat(),
                }
                _save(request, state)
                return redirect("registration:org-notice")
        else:
            status = 400
    return _render(request, "authorization", state, {"form": form}, status)


@wizard_step("notice")
def step_notice(request: HttpRequest, staff, state: dict) -> HttpResponse:
    notices = identity_services.current_notices(staff.operator)
    form = ConsentForm(request.POST if request.method == "POST" else None, notices=notices)
    status = 200
    if request.method == "POST" and notices:
        by_hash = {n.content_hash: n for n in notices}
        if request.POST.get("action") == "refuse":
            notice = by_hash.get(request.POST.get("notice", ""), notices[0])
            identity_services.consent_refusal_record(
                operator=staff.operator,
                consent=ConsentInput(notice_hash=notice.content_hash, given=False),
                channel=ConsentChannel.STORE,
                actor=request.user,
                store=staff.store,
            )
            _clear(request)
            return render(
                request,
                "registration/consent_refused.html",
                {"kind": "mobile_open", "kind_label": gettext("Opening for an organisation")},
            )
        if form.require_consent():
            state["notice"] = {"hash": form.cleaned_data["notice"]}
            _save(request, state)
            return redirect("registration:org-details")
        status = 400
    elif request.method == "POST":
        status = 409
    return _render(request, "notice", state, {"form": form, "notices": notices}, status)


@wizard_step("details")
@sensitive_variables()
def step_details(request: HttpRequest, staff, state: dict) -> HttpResponse:
    form = OrgDetailsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            org, auth = state["organisation"], state["authorization"]
            tx_request = services.TransactionRequest(
                kind=form.cleaned_data["kind"],
                consent=ConsentInput(notice_hash=state["notice"]["hash"], given=True),
                number=form.cleaned_data["number"] or None,
                subscriber=representatives.OrganisationInput(
                    name=org["name"], uscc=org["uscc"], address=org["address"]
                ),
                handler=identity_from_json(state["handler"]),
                authorization=representatives.AuthorizationInput(
                    reference=auth["reference"],
                    valid_until=dt.date.fromisoformat(auth["valid_until"]),
                ),
                channel=ConsentChannel.STORE,
            )
            try:
                tx = services.transaction_submit(actor=request.user, request=tx_request)
            except IdentityInvalid as exc:
                status = form_errors_add(form, exc)
            except DomainError as exc:
                status = form_errors_add(form, exc)
                tx = getattr(exc, "transaction", None)
                if tx is not None:
                    form.add_error(
                        None, gettext("Reference %(reference)s.") % {"reference": tx.reference}
                    )
            else:
                _clear(request)
                return redirect("registration:receipt", uid=tx.uid)
        else:
            status = 400
    return _render(request, "details", state, {"form": form}, status)
