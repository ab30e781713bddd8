"""The subscriber's pages, reached from a notice's link: no sign-in, no
JavaScript, Chinese and English. A GET only shows; only a POST acts (mail and
SMS scanners open links)."""

from __future__ import annotations

import dataclasses
import uuid

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from config import client_ip
from config.api import DomainError, InvalidInput, status_for
from config.forms import form_errors_add
from config.link_language import link_language
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.models import ConsentChannel, NoticeLanguage
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.branding import brand_context
from operators.models import Operator
from operators.tenancy import can, staff_of
from operators.timezones import operator_time_zone_activate
from registration import portrait_check
from registration import selectors as registration_selectors

from . import campaigns, risk, selectors, tokens
from . import my_lines as service
from .models import DISPUTE_REASON_TEXT_MAX, DisputeReason, MyLinesChallenge, RequestState


class AnswerForm(forms.Form):
    id_type = forms.ChoiceField(
        choices=identity_selectors.document_type_choices, label=_("Document type")
    )
    id_number = forms.CharField(max_length=40, label=_("Document number"))
    name = forms.CharField(max_length=100, label=_("Name"))
    date_of_birth = forms.DateField(label=_("Date of birth (YYYY-MM-DD)"))
    sex = forms.ChoiceField(choices=[("M", _("Male")), ("F", _("Female"))], label=_("Sex"))
    id_expiry = forms.DateField(required=False, label=_("Valid until (YYYY-MM-DD)"))
    nationality = forms.CharField(
        max_length=3, required=False, label=_("Nationality (ISO 3166 alpha-3)")
    )
    consent = forms.BooleanField(label=_("I have read the notice above and consent"))
    notice = forms.CharField(widget=forms.HiddenInput)

    def identity(self) -> IdentityData:
        return IdentityData.from_mapping(self.cleaned_data)


class StayAnswerForm(AnswerForm):
    """The in-store answer for a visitor's line: the holder's passport and,
    to restore a line barred when the stay ended, its new end of stay."""

    stay_until = forms.DateField(
        required=False,
        label=_("New end of stay (YYYY-MM-DD)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _brand(operator: Operator | None) -> dict[str, str]:
    """The subscriber pages' frame (operators.branding)."""
    return brand_context(operator)


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@link_language
def answer(request: HttpRequest, token: str) -> HttpResponse:
    req = tokens.request_from_token(token)
    if req is None:
        raise Http404
    operator = req.operator
    operator_time_zone_activate(operator)
    notices = [
        n
        for n in (
            identity_selectors.notice_current(operator=operator, language=lang)
            for lang in ("zh-hans", "en")
        )
        if n is not None
    ]
    # One language at a time: the notice in the page's language, or what exists.
    notices = [n for n in notices if n.language == translation.get_language()] or notices
    context = {
        **_brand(operator),
        "req": req,
        "number": identity_selectors.phone_masked(req.line.number),
        "campaign": req.campaign,
        "notices": notices,
        "done": req.state == RequestState.VERIFIED,
        "closed": req.state
        not in (RequestState.PENDING, RequestState.EXPIRED, RequestState.VERIFIED),
        # A high risk flag: only a store answers; the page says so, no form.
        "in_store": risk.in_store_only(req),
    }
    form = AnswerForm(
        request.POST or None, initial={"notice": notices[0].content_hash if notices else ""}
    )
    status = 200
    if request.method == "POST" and context["in_store"]:
        status = 403
    elif request.method == "POST" and not context["done"] and not context["closed"]:
        if _address_blocked(request):
            form.add_error(
                None, _("Too many wrong answers from this address. Try again in an hour.")
            )
            status = 429
        elif form.is_valid():
            try:
                campaigns.request_answer(
                    request=req,
                    identity=form.identity(),
                    consent=ConsentInput(form.cleaned_data["notice"], True),
                )
            except DomainError as exc:
                status = form_errors_add(form, exc)
                if isinstance(exc, campaigns.AnswerRefused):
                    _address_failed(request)
            else:
                context["done"] = True
        else:
            status = 400
    context["form"] = form
    return render(request, "reverification/subscriber/answer.html", context, status=status)


def _address_key(request: HttpRequest) -> str:
    return f"answer-fail:{client_ip(request)}"


def _address_blocked(request: HttpRequest) -> bool:
    return cache.get(_address_key(request), 0) >= settings.TELEREG_ANSWER_ADDRESS_LIMIT


def _address_failed(request: HttpRequest) -> None:
    cache.add(_address_key(request), 0, timeout=3600)
    cache.incr(_address_key(request))


# --- Lines under my ID ----------------------------------------------------------------


class MyLinesStartForm(forms.Form):
    operator = forms.ModelChoiceField(
        queryset=None, to_field_name="code", label=_("Operator"), empty_label=None
    )
    id_type = forms.ChoiceField(
        choices=identity_selectors.document_type_choices, label=_("Document type")
    )
    id_number = forms.CharField(max_length=40, label=_("Document number"))
    name = forms.CharField(max_length=100, label=_("Name"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["operator"].queryset = Operator.objects.order_by("name")


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label=_("Code"))


class DisputeForm(forms.Form):
    """ "Not mine": which line, why (a choice), and a few words of one's own."""

    line = forms.CharField(max_length=36, widget=forms.HiddenInput)
    reason = forms.ChoiceField(
        choices=DisputeReason.choices, widget=forms.RadioSelect, label=_("Why is it not yours?")
    )
    reason_text = forms.CharField(
        max_length=DISPUTE_REASON_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Anything else we should know (optional)"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # In the page's language: translated when the form is made, not at import.
        self.fields["reason_text"].help_text = gettext("At most %(limit)s characters.") % {
            "limit": DISPUTE_REASON_TEXT_MAX
        }


class CorrectionForm(forms.Form):
    """What the person wants corrected; empty fields stay as they are."""

    name = forms.CharField(max_length=100, required=False, label=_("Name"))
    date_of_birth = forms.DateField(required=False, label=_("Date of birth (YYYY-MM-DD)"))
    sex = forms.ChoiceField(
        choices=[("", _("No change")), ("M", _("Male")), ("F", _("Female"))],
        required=False,
        label=_("Sex"),
    )
    id_expiry = forms.DateField(required=False, label=_("Valid until (YYYY-MM-DD)"))
    nationality = forms.CharField(
        max_length=3, required=False, label=_("Nationality (ISO 3166 alpha-3)")
    )
    address = forms.CharField(
        max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}), label=_("Address")
    )

    def values(self) -> dict[str, str]:
        return {
            name: value.isoformat() if hasattr(value, "isoformat") else str(value or "")
            for name, value in self.cleaned_data.items()
        }


@dataclasses.dataclass
class MyLinesPage:
    """What one request to /my-lines/ renders: the state (ask, code, lines,
    dispute, reported, correct, corrected), its forms and its status."""

    challenge: MyLinesChallenge | None
    state: str = "ask"
    status: int = 200
    context: dict = dataclasses.field(default_factory=dict)


def _challenge_of(request: HttpRequest) -> MyLinesChallenge | None:
    uid = request.session.get("my_lines_challenge")
    if not uid:
        return None
    return MyLinesChallenge.objects.filter(uid=uid).select_related("operator").first()


def _step_start(request: HttpRequest, page: MyLinesPage) -> None:
    form = MyLinesStartForm(request.POST)
    page.context["start_form"] = form
    if not form.is_valid():
        page.status = 400
        return
    try:
        page.challenge = service.challenge_start(
            operator=form.cleaned_data["operator"],
            id_type=form.cleaned_data["id_type"],
            id_number=form.cleaned_data["id_number"],
            name=form.cleaned_data["name"],
            address=client_ip(request),
        )
    except DomainError as exc:
        page.status = form_errors_add(form, exc)
        return
    request.session["my_lines_challenge"] = str(page.challenge.uid)
    page.state = "code"


def _step_code(request: HttpRequest, page: MyLinesPage) -> None:
    form = CodeForm(request.POST)
    page.context["code_form"] = form
    if page.challenge is None:  # no look-up started in this session
        return
    page.state = "code"
    if not form.is_valid():
        page.status = 400
        return
    try:
        service.challenge_verify(challenge=page.challenge, code=form.cleaned_data["code"])
    except DomainError as exc:
        form.add_error("code", exc.message)
        page.status = 400
        return
    page.challenge.refresh_from_db()
    page.state = "lines"


def _dispute_line(page: MyLinesPage, form: DisputeForm) -> dict | None:
    """The masked line the dispute form is about, when it is one of the person's."""
    uid = form.data.get("line", "")
    lines = service.masked_lines(service.challenge_lines(challenge=page.challenge))
    return next((line for line in lines if line["uid"] == uid), None)


def _step_dispute(request: HttpRequest, page: MyLinesPage, *, submit: bool) -> None:
    """ "Not mine" first asks for confirmation and a reason; the second POST
    records the dispute (once) and says what happens next."""
    form = DisputeForm(request.POST if submit else {"line": request.POST.get("line", "")})
    line = _dispute_line(page, form)
    if line is None:
        page.state, page.status = "lines", 404
        page.context["error"] = _("This line is not one of yours.")
        return
    page.state = "dispute"
    page.context.update({"dispute_form": form, "line": line})
    if not submit:
        page.context["dispute_form"] = DisputeForm(initial={"line": line["uid"]})
        return
    if not form.is_valid():
        page.status = 400
        return
    try:
        dispute = service.dispute_report(
            challenge=page.challenge,
            line_uid=line["uid"],
            reason=form.cleaned_data["reason"],
            reason_text=form.cleaned_data["reason_text"],
        )
    except DomainError as exc:
        page.status = form_errors_add(form, exc)
        return
    page.state = "reported"
    page.context["dispute"] = dispute


def _step_correct(request: HttpRequest, page: MyLinesPage, *, submit: bool) -> None:
    """Self-service correction (the privacy notice's promise): a form with the
    current values masked; the submit files it to the compliance queue."""
    form = CorrectionForm(request.POST if submit else None)
    page.state = "correct"
    page.context["correction_form"] = form
    page.context["current"] = identity_selectors.person_masked(
        page.challenge.person, fields=("name", "date_of_birth", "address")
    )
    if not submit:
        return
    if not form.is_valid():
        page.status = 400
        return
    try:
        filed = service.correction_file(challenge=page.challenge, values=form.values())
    except DomainError as exc:
        page.status = form_errors_add(form, exc)
        return
    page.state = "corrected"
    page.context["filed"] = filed


class RiskDisputeForm(forms.Form):
    """Dispute the risk flag on one of my lines, in a few words."""

    line = forms.CharField(max_length=36, widget=forms.HiddenInput)
    reason_text = forms.CharField(
        max_length=DISPUTE_REASON_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Why do you dispute it? (optional)"),
    )


def _step_risk_dispute(request: HttpRequest, page: MyLinesPage) -> None:
    """File a dispute of a line's risk flag; errors are shown beside the field
    on the lines page, under that line."""
    form = RiskDisputeForm(request.POST)
    page.state = "lines"
    page.context["risk_dispute_form"] = form
    if not form.is_valid():
        page.status = 400
        return
    try:
        dispute = service.risk_dispute_file(
            challenge=page.challenge,
            line_uid=form.cleaned_data["line"],
            reason_text=form.cleaned_data["reason_text"],
        )
    except service.CodeRefused:
        page.status = 404
        page.context["error"] = _("This line is not one of yours.")
        return
    except DomainError as exc:
        page.status = form_errors_add(form, exc)
        # The line is a hidden field: its reason is shown at the top of the page.
        if "line" in exc.fields:
            page.context["error"] = " ".join(str(m) for m in exc.fields["line"])
        return
    page.state = "risk_disputed"
    page.context["dispute"] = dispute


STEPS_AFTER_CODE = {
    "risk_dispute": _step_risk_dispute,
    "dispute": lambda request, page: _step_dispute(request, page, submit=False),
    "report": lambda request, page: _step_dispute(request, page, submit=True),
    "correct": lambda request, page: _step_correct(request, page, submit=False),
    "correction": lambda request, page: _step_correct(request, page, submit=True),
}


def _my_lines_step(request: HttpRequest) -> MyLinesPage:
    """Run the POSTed step; a step after the code without a verified code (a
    stranger, an expired session) is refused and asks for the document."""
    page = MyLinesPage(challenge=_challenge_of(request))
    step = request.POST.get("step", "") if request.method == "POST" else ""
    if step == "start":
        _step_start(request, page)
    elif step == "code":
        _step_code(request, page)
    elif step in STEPS_AFTER_CODE:
        if service.challenge_verified(page.challenge):
            STEPS_AFTER_CODE[step](request, page)
        else:
            page.status = 403
            page.context["error"] = _("Enter the code first.")
    elif service.challenge_verified(page.challenge):
        page.state = "lines"
    return page


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@link_language
def my_lines(request: HttpRequest) -> HttpResponse:
    page = _my_lines_step(request)
    challenge = page.challenge
    operator = challenge.operator if challenge is not None else _operator_from_link(request)
    if operator is not None:
        operator_time_zone_activate(operator)
    context = {
        **_brand(operator),
        "state": page.state,
        "challenge": challenge,
        "start_form": MyLinesStartForm(initial={"operator": operator.code if operator else None}),
        "code_form": CodeForm(),
        **page.context,
    }
    if page.state == "lines":
        context["lines"] = service.masked_lines(service.challenge_lines(challenge=challenge))
        context["history"] = service.access_history(challenge=challenge)
        context["corrections"] = service.corrections_of(challenge=challenge)
    return render(request, "reverification/subscriber/my_lines.html", context, status=page.status)


def _operator_from_link(request: HttpRequest) -> Operator | None:
    """The operator a link names (``?operator=<code>``): its brand and the
    look-up's default. Anything else is ignored."""
    code = request.GET.get("operator", "")
    if not code or len(code) > 32:
        return None
    return Operator.objects.filter(code=code).first()


# --- The operator's brand ------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def brand_css(request: HttpRequest, operator_code: str) -> HttpResponse:
    """The operator's colours for its subscriber pages, as a small style sheet
    (the strict CSP allows no inline style). Written only from validated
    values (selectors.brand_stylesheet); cacheable: it holds no personal data."""
    operator = get_object_or_404(Operator, code=operator_code)
    response = HttpResponse(
        selectors.brand_stylesheet(operator), content_type="text/css; charset=utf-8"
    )
    patch_cache_control(response, public=True, max_age=BRAND_CSS_MAX_AGE)
    return response


BRAND_CSS_MAX_AGE = 3600


# --- In store ------------------------------------------------------------------------


def _require(request: HttpRequest, permission: str) -> None:
    if not can(request.user, permission):
        raise PermissionDenied


@login_required
@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def reverify_in_store(request: HttpRequest, line_uid: uuid.UUID) -> HttpResponse:
    """A clerk re-verifies a line's holder in person: the same rules as the
    subscriber's own answer (holder, authority, consent), through the store."""
    _require(request, "transaction.create")
    line = get_object_or_404(registration_selectors.line_list(user=request.user), uid=line_uid)
    open_request = selectors.line_open_request(line)
    visitor = line.stay_until is not None
    if open_request is None and not visitor:
        raise Http404
    staff = staff_of(request.user)
    notices = identity_services.current_notices(line.operator)
    form = (StayAnswerForm if visitor else AnswerForm)(
        request.POST or None, initial={"notice": notices[0].content_hash if notices else ""}
    )
    portrait_step = line.operator.portrait_policy == portrait_check.POLICY_REQUIRED
    done, status, portrait_errors = False, 200, []
    if request.method == "POST":
        if form.is_valid():
            portrait = (
                portrait_check.portrait_from_upload(request.POST, request.FILES)
                if portrait_step
                else None
            )
            try:
                _answer_in_store(request, line, open_request, form, staff, portrait)
            except DomainError as exc:
                status, portrait_errors = _errors_add(form, exc)
            else:
                done = True
                line.refresh_from_db()
        else:
            status = 400
    return render(
        request,
        "reverification/reverify.html",
        {
            "line": line,
            "holder": registration_selectors.line_masked_holder(line),
            "form": form,
            "done": done,
            "notices": notices,
            "open_request": open_request,
            "portrait_step": portrait_step,
            "portrait_errors": portrait_errors,
        },
        status=status,
    )


def _errors_add(form, exc: DomainError) -> tuple[int, list[str]]:
    """Copy a domain error onto the form, the portrait's reasons apart (shown
    beside the capture step); returns the status and those reasons."""
    if not isinstance(exc, InvalidInput) or not exc.fields:
        return form_errors_add(form, exc), []
    portrait_errors: list[str] = []
    for name, reasons in exc.fields.items():
        if name.startswith("portrait"):
            portrait_errors += [str(r) for r in reasons]
        else:
            form.add_error(name if name in form.fields else None, reasons)
    return status_for(exc), portrait_errors


def _answer_in_store(request: HttpRequest, line, open_request, form, staff, portrait=None) -> None:
    """A visitor's line given a new end of stay (or without an open request)
    is renewed; otherwise the open request is answered."""
    consent = ConsentInput(form.cleaned_data["notice"], True)
    store = staff.store if staff else None
    if "stay_until" in form.fields and (form.cleaned_data["stay_until"] or open_request is None):
        campaigns.line_stay_renew(
            line=line,
            identity=form.identity(),
            consent=consent,
            stay_until=form.cleaned_data["stay_until"],
            actor=request.user,
            store=store,
            portrait=portrait,
        )
        return
    campaigns.request_answer(
        request=open_request,
        identity=form.identity(),
        consent=consent,
        channel=ConsentChannel.STORE,
        actor=request.user,
        store=store,
        portrait=portrait,
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=NoticeLanguage.choices, label=_("Language of notices"))


@login_required
@require_POST
def language_in_store(request: HttpRequest, line_uid: uuid.UUID) -> HttpResponse:
    """A clerk changes the language of the holder's notices (the subscriber
    asked at the counter); recorded with the clerk as the actor."""
    _require(request, "transaction.create")
    line = get_object_or_404(
        registration_selectors.line_list(user=request.user).select_related("holder"), uid=line_uid
    )
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "reverification/language.html",
            {"line": line, "form": form},
            status=400,
        )
    identity_services.person_language_set(
        person=line.holder,
        language=form.cleaned_data["language"],
        actor=request.user,
        reason="changed in store",
    )
    messages.success(request, _("The holder's notices will be written in the chosen language."))
    return redirect("registration:lines")
