"""Store pages: the transaction wizard (identity → notice and consent →
details → confirm → receipt), the clerk's transactions, and the line look-up.

Views are thin: check access, parse with a form, call one service, render.
What the clerk typed about a person stays on the server while the wizard runs:
in the session, sealed with the key ring (the session table must not hold
identity data in clear), never in a URL or a log, and dropped when the flow
completes, is refused or abandoned, or grows stale. Pages that show personal
data are never cached."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from config.api import DomainError, status_for
from config.forms import form_errors_add
from identity import lookups
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.authority import Outcome
from identity.errors import ConsentRequired, IdentityInvalid, NoCurrentNotice
from identity.models import ConsentChannel, NoticeLanguage, PrivacyNotice
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.models import Operator, StaffMember
from operators.tenancy import can, staff_of

from . import hooks, kinds, portrait_check, precheck, receipts, recycling, selectors, services
from . import lookups as line_lookups
from . import organisations as org_lines
from .errors import CapReached, NotCancellable, RegistrationRefused
from .forms import (
    BIRTH_IN_NUMBER_TYPES,
    NUMBERS_OFFERED,
    ConsentForm,
    DetailsForm,
    IdentityForm,
    LineForm,
    LineLookupForm,
    NumberFilterForm,
    autofocus,
    identity_from_json,
    identity_to_json,
)
from .models import LineKind, SimKind, Transaction, TransactionState
from .store_forms import TransactionFilterForm

WIZARD_SESSION_KEY = "registration.wizard"
WIZARD_MAX_AGE_SECONDS = 60 * 60  # a transaction left alone this long starts again
STEPS = (
    ("identity", gettext_lazy("Identity")),
    ("notice", gettext_lazy("Privacy notice")),
    ("details", gettext_lazy("Details")),
    ("confirm", gettext_lazy("Confirm")),
)
PARTY_LABELS = {
    "applicant": gettext_lazy("Applicant"),
    "holder": gettext_lazy("Current holder"),
    "new_holder": gettext_lazy("New holder"),
}
AUTHORITY_TEXT = {
    Outcome.MATCH: gettext_lazy("confirmed by the authority"),
    Outcome.MISMATCH: gettext_lazy("the details do not match the authority's record"),
    Outcome.NOT_FOUND: gettext_lazy("the authority has no such document"),
    Outcome.REVOKED: gettext_lazy("the document was revoked by the authority"),
    Outcome.UNAVAILABLE: gettext_lazy(
        "the authority cannot be reached now: the transaction will wait for it "
        "and complete automatically"
    ),
}


def parties_of(kind: str) -> list[str]:
    """The identity blocks a kind takes (registration.kinds)."""
    return list(kinds.get(kind).parties)


def detail_fields(kind: str) -> set[str]:
    """What the transaction's details are (the request shape of the API)."""
    return set(kinds.get(kind).fields)


def asks_line(kind: str) -> bool:
    """A kind on an open line asks for the line at the identity step, so that
    its holder and state are checked before consent and details."""
    return "line" in kinds.get(kind).fields


def details_step_fields(kind: str) -> set[str]:
    """What the details step asks for: the details but the line."""
    return detail_fields(kind) - {"line"}


def shown_steps(kind: str) -> list[str]:
    """The kind's wizard steps, without a details step left with nothing to ask."""
    return [
        step for step in kinds.get(kind).steps if step != "details" or details_step_fields(kind)
    ]


# --- Wizard state ---------------------------------------------------------------------------


@dataclass
class Wizard:
    """One transaction being taken at the counter, kept between steps."""

    kind: str
    flow: str = field(default_factory=lambda: secrets.token_hex(16))
    started: float = field(default_factory=time.time)
    identities: dict[str, dict[str, str | None]] = field(default_factory=dict)
    authority: dict[str, str] = field(default_factory=dict)
    consent: dict[str, Any] | None = None
    details: dict[str, str] | None = None
    line: str = ""
    # What the identity step found (precheck.Holding as JSON; holder yes/no).
    holding: dict[str, Any] | None = None
    holder_confirmed: bool = False
    # The last refusal at confirm, answered again for the same inputs so that
    # retries do not record a rejected transaction each.
    refusal: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Wizard(kind={self.kind!r}, <personal data hidden>)"

    @staticmethod
    def _subject(flow: str) -> str:
        return f"store-wizard:{flow}"

    @classmethod
    def load(cls, request: HttpRequest, kind: str) -> Wizard | None:
        stored = request.session.get(WIZARD_SESSION_KEY)
        if not stored or stored.get("kind") != kind:
            return None
        if time.time() - stored.get("started", 0) > WIZARD_MAX_AGE_SECONDS:
            cls.clear(request)
            return None
        subject = cls._subject(stored["flow"])
        try:
            opened = identity_services.transient_open(
                subject=subject,
                field="state",
                wrapped_key=base64.b64decode(stored["key"]),
                blob=base64.b64decode(stored["state"]),
            )
            if opened is None:
                raise ValueError("the wizard's state cannot be opened")
            payload = json.loads(opened)
        except (KeyError, ValueError):
            # A rotated-away key or a damaged session: start the flow again.
            cls.clear(request)
            return None
        return cls(kind=kind, flow=stored["flow"], started=stored["started"], **payload)

    def save(self, request: HttpRequest) -> None:
        subject = self._subject(self.flow)
        payload = json.dumps(
            {
                "identities": self.identities,
                "authority": self.authority,
                "consent": self.consent,
                "details": self.details,
                "line": self.line,
                "holding": self.holding,
                "holder_confirmed": self.holder_confirmed,
                "refusal": self.refusal,
            }
        )
        wrapped_key, blob = identity_services.transient_seal(
            subject=subject, field="state", value=payload
        )
        request.session[WIZARD_SESSION_KEY] = {
            "kind": self.kind,
            "flow": self.flow,
            "started": self.started,
            "key": base64.b64encode(wrapped_key).decode(),
            "state": base64.b64encode(blob).decode(),
        }

    @staticmethod
    def clear(request: HttpRequest) -> None:
        request.session.pop(WIZARD_SESSION_KEY, None)

    @staticmethod
    def kind_in_progress(request: HttpRequest) -> str | None:
        stored = request.session.get(WIZARD_SESSION_KEY)
        return stored.get("kind") if stored else None

    def identity(self, party: str) -> IdentityData | None:
        data = self.identities.get(party)
        return identity_from_json(data) if data else None

    def next_step(self) -> str:
        if not self.identities:
            return "identity"
        if not self.consent:
            return "notice"
        if self.details is None and "details" in shown_steps(self.kind):
            return "details"
        return "confirm"

    def inputs_digest(self) -> str:
        """A fingerprint of everything the submit would send (kept sealed with
        the state): the same digest means the same transaction request."""
        inputs = json.dumps(
            [self.identities, self.consent, self.details, self.line], sort_keys=True
        )
        return hashlib.sha256(f"{self.flow}:{inputs}".encode()).hexdigest()

    def holding_text(self) -> str:
        return precheck.Holding.from_json(self.holding).text() if self.holding else ""

    def transaction_request(self) -> services.TransactionRequest:
        details = self.details or {}
        consent = self.consent or {}
        return services.TransactionRequest(
            kind=self.kind,
            consent=ConsentInput(notice_hash=consent.get("hash", ""), given=True),
            applicant=self.identity("applicant"),
            holder=self.identity("holder"),
            new_holder=self.identity("new_holder"),
            number=details.get("number") or None,
            line=self.line or details.get("line") or None,
            installation_address=details.get("installation_address") or None,
            service=details.get("service") or None,
            iccid=details.get("iccid") or None,
            eid=details.get("eid") or None,
            stay_until=_date_or_none(details.get("stay_until")),
            channel=ConsentChannel.STORE,
        )


def _date_or_none(value: str | None) -> dt.date | None:
    """A wizard's stored ISO date (the session holds JSON), or None."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- Access ---------------------------------------------------------------------------------


def _require(request: HttpRequest, permission: str) -> None:
    if not can(request.user, permission):
        raise PermissionDenied


FlowView = Callable[[HttpRequest, str, StaffMember], HttpResponse]


def flow_step(view: FlowView) -> Callable[..., HttpResponse]:
    """A step of the wizard: signed in, allowed to take transactions, a staff
    member of an operator (platform admins act through an operator's staff),
    a known kind; never cached, POST data kept out of error reports."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, kind: str) -> HttpResponse:
        if not kinds.known(kind):
            raise Http404
        _require(request, "transaction.create")
        staff = staff_of(request.user)
        if staff is None:
            raise PermissionDenied
        return view(request, kind, staff)

    return login_required(
        never_cache(sensitive_post_parameters()(require_http_methods(["GET", "POST"])(wrapper)))
    )


def _step_url(kind: str, step: str) -> str:
    return reverse(f"registration:{step}", kwargs={"kind": kind})


def _redirect_to(wizard: Wizard | None, kind: str) -> HttpResponse:
    return redirect(_step_url(kind, wizard.next_step() if wizard else "identity"))


def _step_context(kind: str, current: str, wizard: Wizard | None) -> dict[str, Any]:
    order = [name for name, _ in STEPS]
    reached = order.index(wizard.next_step()) if wizard else 0
    shown = shown_steps(kind)
    return {
        "kind": kind,
        "kind_label": kinds.label(kind),
        "steps": [
            {
                "name": name,
                "label": label,
                "current": name == current,
                "url": _step_url(kind, name) if order.index(name) <= reached else None,
            }
            for name, label in STEPS
            if name in shown
        ],
        "parties_summary": _parties_summary(wizard) if wizard else [],
        "summary_line": wizard.line if wizard else "",
    }


def _error_text(key: str, reason: str) -> str:
    """A reason about a party's field, named by the field's label (never by
    its code): "Document number: …"; a reason about the party alone as is."""
    field = IdentityForm.base_fields.get(key.partition(".")[2])
    return f"{field.label}: {reason}" if field is not None else str(reason)


def _parties_summary(wizard: Wizard, errors: dict[str, list[str]] | None = None) -> list[dict]:
    """Each party as the wizard shows it after the identity step: masked,
    with what the identity step found about them (a count, a yes)."""
    spec = kinds.get(wizard.kind)
    rows = []
    for party in parties_of(wizard.kind):
        identity = wizard.identity(party)
        if identity is None:
            continue
        outcome = wizard.authority.get(party, "")
        rows.append(
            {
                "party": party,
                "label": PARTY_LABELS[party],
                **identity_selectors.identity_masked(identity),
                "id_type": identity.id_type,
                "outcome": outcome,
                "outcome_text": AUTHORITY_TEXT.get(outcome, outcome),
                "errors": [
                    _error_text(key, reason)
                    for key, reasons in (errors or {}).items()
                    if key == party or key.startswith(f"{party}.")
                    for reason in reasons
                ],
                "holding_text": wizard.holding_text()
                if wizard.holding and wizard.holding.get("party") == party
                else "",
                "holder_confirmed": wizard.holder_confirmed and party == spec.holder_party,
            }
        )
    return rows


# --- Wizard steps -------------------------------------------------------------------------


def _identity_forms(
    request: HttpRequest, kind: str, staff: StaffMember, wizard: Wizard | None
) -> tuple[dict[str, IdentityForm], LineForm | None]:
    """The identity step's forms: one identity block per party, and the line
    for a kind on an open line; bound on a POST, else filled from the wizard."""
    spec = kinds.get(kind)
    data = request.POST if request.method == "POST" else None
    forms_by_party = {
        party: IdentityForm(
            data,
            prefix=party,
            address_required=spec.identity_address_required,
            initial=IdentityForm.initial_from(wizard.identity(party))
            if wizard and wizard.identity(party)
            else None,
        )
        for party in spec.parties
    }
    line_form = None
    if asks_line(kind):
        line_form = LineForm(
            data,
            country=staff.operator.country,
            line_kind=spec.line_kind,
            initial={"line": wizard.line} if wizard else None,
        )
    return forms_by_party, line_form


@sensitive_variables()
def _authority_checks(
    request: HttpRequest, kind: str, staff: StaffMember, forms_by_party: dict[str, IdentityForm]
) -> tuple[dict[str, Any], int]:
    """Each party's identity validated and put to the authority (counted
    against the clerk's hourly look-up limit, like /identity/check/): the
    checks by party, and the page's status when one could not be made."""
    checks: dict[str, Any] = {}
    for party, form in forms_by_party.items():
        try:
            checks[party] = lookups.identity_check_counted(
                operator=staff.operator,
                identity=form.to_identity(),
                actor=request.user,
                store=staff.store,
                require_address=kinds.get(kind).identity_address_required,
                surface="store.wizard.identity",
            )
        except IdentityInvalid as exc:
            form_errors_add(form, exc)
        except DomainError as exc:
            return checks, form_errors_add(form, exc)
    return checks, 400


def _refused_by_authority(forms_by_party: dict[str, IdentityForm], checks: dict) -> bool:
    """A definitive "no" of the authority, told on the party's block."""
    refused = False
    for party, check in checks.items():
        if check.result.is_definitive and not check.result.is_match:
            forms_by_party[party].add_error(
                None,
                gettext("Not confirmed: %(reason)s. Check every field.")
                % {"reason": AUTHORITY_TEXT[check.result.outcome]},
            )
            refused = True
    return refused


def _precheck(
    request: HttpRequest,
    kind: str,
    staff: StaffMember,
    checks: dict,
    forms_by_party: dict[str, IdentityForm],
    line_form: LineForm | None,
) -> precheck.Precheck | None:
    """The early conflicts (cap, holder, line), once the authority matched
    every party; each reason beside its field. None when the authority could
    not be asked now: the submit checks everything when it can."""
    if not all(check.result.is_match for check in checks.values()):
        return None
    found = precheck.wizard_precheck(
        actor=request.user,
        operator=staff.operator,
        store=staff.store,
        kind=kind,
        identities={party: check.identity for party, check in checks.items()},
        line_number=line_form.cleaned_data["line"] if line_form else None,
    )
    for key, reasons in found.problems.items():
        party, _, name = key.partition(".")
        form = forms_by_party.get(party) if name else line_form
        for reason in reasons:
            form.add_error(name or party, reason)
    return found


@sensitive_variables()
def _identified(
    request: HttpRequest,
    wizard: Wizard,
    checks: dict,
    line_form: LineForm | None,
    found: precheck.Precheck | None,
) -> None:
    """The identity step passed: its findings kept for the next steps."""
    wizard.identities = {p: identity_to_json(c.identity) for p, c in checks.items()}
    wizard.authority = {p: str(c.result.outcome) for p, c in checks.items()}
    wizard.line = line_form.cleaned_data["line"] if line_form else ""
    wizard.holding = found.holding.as_json() if found and found.holding else None
    wizard.holder_confirmed = bool(found and found.holder_confirmed)
    # Consent belongs to the person: a changed identity asks again.
    wizard.consent = None
    wizard.refusal = None
    wizard.save(request)


@flow_step
@sensitive_variables()
def step_identity(request: HttpRequest, kind: str, staff: StaffMember) -> HttpResponse:
    wizard = Wizard.load(request, kind)
    spec = kinds.get(kind)
    forms_by_party, line_form = _identity_forms(request, kind, staff, wizard)
    shown = [f for f in (line_form, *forms_by_party.values()) if f is not None]
    status = 200
    if request.method == "POST":
        status = 400
        if all([form.is_valid() for form in shown]):
            checks, status = _authority_checks(request, kind, staff, forms_by_party)
            if len(checks) == len(forms_by_party):
                status = 409
                if not _refused_by_authority(forms_by_party, checks):
                    try:
                        found = _precheck(request, kind, staff, checks, forms_by_party, line_form)
                    except DomainError as exc:
                        # The look-up limit reached at the line: said on the page.
                        status = form_errors_add(line_form or shown[0], exc)
                    else:
                        if found is None or found.ok:
                            wizard = wizard or Wizard(kind=kind)
                            _identified(request, wizard, checks, line_form, found)
                            return redirect(_step_url(kind, "notice"))
    autofocus(shown)
    context = _step_context(kind, "identity", wizard)
    context["parties_summary"] = []
    context["party_forms"] = [
        {"party": party, "label": PARTY_LABELS[party], "form": form}
        for party, form in forms_by_party.items()
    ]
    context["line_form"] = line_form
    context["consenting"] = spec.consenting
    context["birth_in_number"] = " ".join(BIRTH_IN_NUMBER_TYPES)
    return render(request, "registration/wizard_identity.html", context, status=status)


def _current_notices(operator: Operator) -> list[PrivacyNotice]:
    return [
        notice
        for notice in (
            identity_selectors.notice_current(operator=operator, language=language)
            for language in NoticeLanguage.values
        )
        if notice is not None
    ]


@flow_step
def step_notice(request: HttpRequest, kind: str, staff: StaffMember) -> HttpResponse:
    wizard = Wizard.load(request, kind)
    if wizard is None or not wizard.identities:
        return _redirect_to(wizard, kind)
    notices = _current_notices(staff.operator)
    form = ConsentForm(request.POST if request.method == "POST" else None, notices=notices)
    status = 200
    if request.method == "POST" and notices:
        by_hash = {n.content_hash: n for n in notices}
        notice = by_hash.get(request.POST.get("notice", ""), notices[0])
        if request.POST.get("action") == "refuse":
            identity_services.consent_refusal_record(
                operator=staff.operator,
                consent=ConsentInput(notice_hash=notice.content_hash, given=False),
                channel=ConsentChannel.STORE,
                actor=request.user,
                store=staff.store,
            )
            Wizard.clear(request)
            return render(
                request,
                "registration/consent_refused.html",
                {"kind": kind, "kind_label": kinds.label(kind)},
            )
        if form.require_consent():
            notice = by_hash[form.cleaned_data["notice"]]
            wizard.consent = {
                "hash": notice.content_hash,
                "version": notice.version,
                "language": notice.language,
            }
            wizard.save(request)
            # The step after consent: details, for a kind whose wizard has them.
            after = "details" if "details" in shown_steps(kind) else "confirm"
            return redirect(_step_url(kind, after))
        status = 400
        # Focus only on an error: on arrival the subscriber reads from the top.
        autofocus([form])
    elif request.method == "POST":
        status = 409  # no published notice: consent cannot be taken
    context = _step_context(kind, "notice", wizard)
    context.update({"notices": notices, "form": form, "no_notice_message": NoCurrentNotice.message})
    return render(request, "registration/wizard_notice.html", context, status=status)


@flow_step
def step_details(request: HttpRequest, kind: str, staff: StaffMember) -> HttpResponse:
    wizard = Wizard.load(request, kind)
    if wizard is None or not wizard.consent or "details" not in shown_steps(kind):
        return _redirect_to(wizard, kind)
    fields = details_step_fields(kind)
    if not _is_visitor(wizard):
        fields.discard("stay_until")
    line_kind = kinds.get(kind).line_kind
    filter_form = NumberFilterForm(request.GET or None)
    pattern = filter_form.cleaned_data["pattern"] if filter_form.is_valid() else ""
    options: dict[str, Any] = {}
    if "number" in fields and line_kind:
        options["available"] = selectors.numbers_available(user=request.user, kind=line_kind)
        options["offered"] = selectors.numbers_available(
            user=request.user, kind=line_kind, pattern=pattern
        )[:NUMBERS_OFFERED]
    if "service" in fields:
        options["services"] = selectors.service_list(user=request.user)
    form = DetailsForm(
        request.POST if request.method == "POST" else None,
        initial=wizard.details or {},
        fields=fields,
        country=staff.operator.country,
        line_kind=line_kind,
        sim_required=kinds.get(kind).sim_required,
        **options,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            wizard.details = {name: value or "" for name, value in form.cleaned_data.items()}
            wizard.save(request)
            return redirect(_step_url(kind, "confirm"))
        status = 400
    autofocus([form])
    context = _step_context(kind, "details", wizard)
    context.update(
        {
            "form": form,
            "filter_form": filter_form if "number" in fields else None,
            "pattern": pattern,
            "line_kind": line_kind,
        }
    )
    return render(request, "registration/wizard_details.html", context, status=status)


def _is_visitor(wizard: Wizard) -> bool:
    """The consenting party holds a foreign passport: the details ask their stay."""
    party = wizard.identity(kinds.get(wizard.kind).consenting)
    return party is not None and party.id_type == services.VISITOR_DOCUMENT


def _detail_rows(
    wizard: Wizard, services_by_code: dict[str, str], errors: dict[str, list[str]]
) -> list[dict]:
    details = wizard.details or {}
    shown = {
        "number": (gettext("Number"), details.get("number") or gettext("Any available number")),
        "line": (gettext("Line"), wizard.line or details.get("line", "")),
        "installation_address": (
            gettext("Installation address"),
            identity_selectors.address_masked(details.get("installation_address")),
        ),
        "service": (
            gettext("Service"),
            services_by_code.get(details.get("service", ""), details.get("service", "")),
        ),
        # A SIM's identifier is shown by its last 4 digits only.
        "iccid": (gettext("SIM card (ICCID)"), _sim_masked(details.get("iccid"))),
        "eid": (gettext("eSIM (EID)"), _sim_masked(details.get("eid"))),
        "stay_until": (gettext("End of stay"), details.get("stay_until") or "—"),
    }
    return [
        {
            "name": name,
            "label": label,
            "value": value,
            "errors": errors.get(name, []),
            "url": _step_url(wizard.kind, _step_of(wizard.kind, name)),
        }
        for name, (label, value) in shown.items()
        if name in detail_fields(wizard.kind)
        and (name not in kinds.SIM_FIELDS or details.get(name) or name in errors)
        and (name != "stay_until" or _is_visitor(wizard))
    ]


def _sim_masked(value: str | None) -> str:
    digits = "".join((value or "").split())
    return gettext("ending %(last4)s") % {"last4": digits[-4:]} if digits else "—"


def _step_of(kind: str, key: str) -> str:
    """The wizard step where an error's field is changed."""
    name = key.partition(".")[0]
    if name in parties_of(kind) or name == "line":
        return "identity"
    if name == "consent":
        return "notice"
    return "details" if name in details_step_fields(kind) else "confirm"


def _change_links(kind: str, errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """The steps a refusal sends the clerk back to, each once, in wizard order."""
    wanted = {_step_of(kind, key) for key in errors} - {"confirm"}
    return [
        {"url": _step_url(kind, name), "label": label}
        for name, label in STEPS
        if name in wanted and name in shown_steps(kind)
    ]


def _refusal_errors(kind: str, exc: RegistrationRefused) -> dict[str, list[str]]:
    """Where a refusal belongs on the page, in the reader's language: beside
    each field it names (a cap beside the consenting party's document)."""
    keys = list(exc.fields) or (
        [f"{kinds.get(kind).consenting}.id_number"] if isinstance(exc, CapReached) else []
    )
    return {key: [str(exc.message)] for key in keys}


def _portrait_step(kind: str, staff: StaffMember) -> bool:
    """The confirm step takes a portrait: the kind takes one and the operator requires it."""
    return (
        portrait_check.takes_portrait(kinds.get(kind))
        and staff.operator.portrait_policy == portrait_check.POLICY_REQUIRED
    )


@sensitive_variables()
def _portrait_from_post(request: HttpRequest) -> portrait_check.PortraitInput | None:
    """The capture step's portrait, read from the upload (never kept in the
    session: it goes straight to the service), or None when none was given."""
    return portrait_check.portrait_from_upload(request.POST, request.FILES)


@sensitive_variables()
def _submit(
    request: HttpRequest, wizard: Wizard, portrait: portrait_check.PortraitInput | None = None
) -> Transaction | dict[str, Any]:
    """Submit the wizard's transaction: the transaction taken, or what went
    wrong (``errors``, ``message``, ``status``, ``rejected``). A refusal is
    kept on the wizard with its inputs' digest, and the same inputs submitted
    again are answered from it: retries record no new rejected transaction."""
    digest = wizard.inputs_digest()
    stored = wizard.refusal
    # A new portrait is a new attempt: only retries without one are answered again.
    if stored and stored.get("digest") == digest and portrait is None:
        rejected = selectors.transaction_list(user=request.user).filter(uid=stored["uid"]).first()
        return {**stored, "rejected": rejected}
    try:
        tx_request = wizard.transaction_request()
        tx_request.portrait = portrait
        return services.transaction_submit(actor=request.user, request=tx_request)
    except IdentityInvalid as exc:
        message = gettext("Some details are not valid: correct them and confirm again.")
        return {"errors": exc.errors, "message": message, "status": 400, "rejected": None}
    except RegistrationRefused as exc:
        rejected = getattr(exc, "transaction", None)
        outcome = {
            "errors": _refusal_errors(wizard.kind, exc),
            "message": str(exc.message),
            "status": status_for(exc),
        }
        if rejected is not None and portrait is None:
            wizard.refusal = {**outcome, "digest": digest, "uid": str(rejected.uid)}
            wizard.save(request)
        return {**outcome, "rejected": rejected}
    except DomainError as exc:
        # The reason beside each field it names, in the reader's language.
        errors = {key: [str(exc.message)] for key in exc.fields}
        return {"errors": errors, "message": str(exc.message), "status": status_for(exc)}


@flow_step
@sensitive_variables()
def step_confirm(request: HttpRequest, kind: str, staff: StaffMember) -> HttpResponse:
    wizard = Wizard.load(request, kind)
    if wizard is None or wizard.next_step() != "confirm":
        return _redirect_to(wizard, kind)
    outcome: dict[str, Any] = {"errors": {}, "message": "", "status": 200, "rejected": None}
    if request.method == "POST":
        portrait = _portrait_from_post(request) if _portrait_step(kind, staff) else None
        try:
            submitted = _submit(request, wizard, portrait)
        except (ConsentRequired, NoCurrentNotice) as exc:
            # The notice changed since the subscriber consented: ask again.
            wizard.consent = None
            wizard.save(request)
            messages.error(request, exc.message)
            return redirect(_step_url(kind, "notice"))
        if isinstance(submitted, Transaction):
            Wizard.clear(request)
            messages.success(
                request,
                gettext("Transaction %(reference)s recorded.") % {"reference": submitted.reference},
            )
            return redirect("registration:receipt", uid=submitted.uid)
        outcome = {**outcome, **submitted}
    errors = outcome["errors"]
    context = _step_context(kind, "confirm", wizard)
    services_by_code = {s.code: s.name for s in selectors.service_list(user=request.user)}
    known = {*parties_of(kind), *detail_fields(kind)}
    context.update(
        {
            "parties_summary": _parties_summary(wizard, errors),
            "detail_rows": _detail_rows(wizard, services_by_code, errors),
            "consent": wizard.consent,
            # The notice's language by its own name (简体中文, English), not its code.
            "consent_language": dict(NoticeLanguage.choices).get(
                (wizard.consent or {}).get("language"), ""
            ),
            "consent_errors": [
                r for k, rs in errors.items() if k.startswith("consent") for r in rs
            ],
            "other_errors": [
                r
                for k, rs in errors.items()
                if k.partition(".")[0] not in known
                and not k.startswith("consent")
                and not k.startswith("portrait")
                for r in rs
            ],
            "message": outcome["message"],
            "rejected": outcome.get("rejected"),
            "change_links": _change_links(kind, errors),
            "portrait_step": _portrait_step(kind, staff),
            "portrait_errors": [
                r for k, rs in errors.items() if k.startswith("portrait") for r in rs
            ],
        }
    )
    return render(request, "registration/wizard_confirm.html", context, status=outcome["status"])


@login_required
@require_POST
def abandon(request: HttpRequest) -> HttpResponse:
    Wizard.clear(request)
    messages.info(
        request, gettext("The transaction was abandoned: nothing about the person was stored.")
    )
    return redirect("registration:index")


# --- Index, receipts, transactions, look-up --------------------------------------------------


@login_required
@never_cache
def index(request: HttpRequest) -> HttpResponse:
    _require(request, "transaction.view")
    can_create = can(request.user, "transaction.create") and staff_of(request.user) is not None
    in_progress = Wizard.kind_in_progress(request)
    return render(
        request,
        "registration/index.html",
        {
            "kinds": kinds.choices() if can_create else [],
            "in_progress": in_progress,
            "in_progress_label": kinds.label(in_progress) if in_progress else "",
        },
    )


# The receipt's element ids: the one who holds the line by it is #holder.
RECEIPT_PARTY_IDS = {"applicant": "holder", "holder": "transfer-holder", "new_holder": "new-holder"}
# Once a transfer is done, its "current holder" held the line before it.
RECEIPT_PARTY_LABELS = {
    TransactionState.COMPLETED: {"holder": gettext_lazy("Previous holder")},
}


@login_required
@never_cache
def receipt(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    _require(request, "transaction.view")
    tx = get_object_or_404(
        selectors.transaction_list(user=request.user).select_related(
            "operator", "consent__notice", "applicant", "new_holder"
        ),
        uid=uid,
    )
    notice = tx.consent.notice if tx.consent else None
    if notice is None and tx.notice_hash:
        notice = identity_selectors.notice_by_hash(
            operator=tx.operator, content_hash=tx.notice_hash
        )
    address = None
    if (
        tx.line is not None
        and tx.state == TransactionState.COMPLETED
        and tx.line.kind == LineKind.LANDLINE
        and kinds.known(tx.kind)
        and "installation_address" in kinds.get(tx.kind).fields
    ):
        address = selectors.line_masked_address(tx.line)
    labels = {**PARTY_LABELS, **RECEIPT_PARTY_LABELS.get(tx.state, {})}
    parties = [
        {
            **party,
            "label": labels.get(party["party"], labels["applicant"]),
            "element_id": RECEIPT_PARTY_IDS.get(party["party"], "holder"),
        }
        for party in selectors.transaction_parties_masked(tx)
    ]
    return render(
        request,
        "registration/receipt.html",
        {
            "tx": tx,
            "parties": parties,
            # Issue 15: organisation, handler, agent, guardian (masked).
            "extra_parties": org_lines.transaction_extra_parties(tx),
            "services": selectors.transaction_services(tx),
            "notice": notice,
            "notice_short_hash": tx.notice_hash[:12],
            "address": address,
            "sim_kind": SimKind(tx.sim_kind).label if tx.sim_kind else "",
            "pending": tx.state == TransactionState.PENDING_VERIFICATION,
            "can_cancel": tx.state == TransactionState.PENDING_VERIFICATION
            and can(request.user, "transaction.create"),
            "can_correct": bool(parties)
            and tx.state == TransactionState.COMPLETED
            and can(request.user, "person.correction_request"),
            "check_url": receipts.receipt_check_url(tx),
            "qr_svg": receipts.receipt_qr_svg(tx),
            "number_used_before": recycling.receipt_number_used_before(tx),
        },
    )


TRANSACTIONS_PER_PAGE = 25


@login_required
@never_cache
def transactions(request: HttpRequest) -> HttpResponse:
    """The transactions the clerk may see (their store's; head office: the
    operator's), filtered by a GET form and paged; the ones waiting for the
    authority first, where they can be cancelled."""
    _require(request, "transaction.view")
    scope = selectors.transaction_list(user=request.user)
    form = TransactionFilterForm(request.GET or None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    found = selectors.transaction_search(user=request.user, criteria=form.criteria())
    page = Paginator(found, TRANSACTIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "registration/transactions.html",
        {
            "pending": scope.filter(state=TransactionState.PENDING_VERIFICATION)[:100],
            "form": form,
            "page": page,
            "query": query.urlencode() if status == 200 else "",
            "filtered": any(request.GET.get(name) for name in form.fields),
            "can_cancel": can(request.user, "transaction.create"),
        },
        status=status,
    )


@login_required
@require_POST
def cancel(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    _require(request, "transaction.create")
    tx = get_object_or_404(selectors.transaction_list(user=request.user), uid=uid)
    try:
        services.transaction_cancel(tx=tx, actor=request.user)
    except NotCancellable as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, gettext("Transaction %(reference)s cancelled.") % {"reference": tx.reference}
        )
    if request.POST.get("back") == "receipt":
        return redirect("registration:receipt", uid=tx.uid)
    return redirect("registration:transactions")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def lines(request: HttpRequest) -> HttpResponse:
    # A POST, so that the number looked up never sits in a URL or an access log.
    _require(request, "line.lookup")
    staff = staff_of(request.user)
    country = staff.operator.country if staff else Operator._meta.get_field("country").default
    form = LineLookupForm(request.POST or None, country=country)
    found = []
    status = 200 if not form.is_bound or form.is_valid() else 400
    lines_found = []
    if form.is_valid():
        try:
            lines_found = line_lookups.line_lookup_by_number(
                user=request.user,
                number=form.cleaned_data["number"],
                purpose=form.cleaned_data["purpose"],
                surface="store.lines",
            )
        except DomainError as exc:
            status = form_errors_add(form, exc)
    if status == 200:
        for line in lines_found:
            found.append(
                {
                    "line": line,
                    "open_request": hooks.line_open_request(line),
                    "holder": selectors.line_masked_holder(line),
                    "address": selectors.line_masked_address(line)
                    if line.kind == LineKind.LANDLINE
                    else None,
                    "services": selectors.line_services_active(line),
                    "history": selectors.line_history(user=request.user, line=line),
                }
            )
    return render(
        request,
        "registration/lines.html",
        {
            "form": form,
            "found": found,
            "searched": form.is_bound and status == 200,
            "can_correct": can(request.user, "person.correction_request"),
        },
        status=status,
    )
