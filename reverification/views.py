"""The subscriber's pages, reached from a notice's link: no sign-in, no
JavaScript, Chinese and English. A GET only shows; only a POST acts (mail and
SMS scanners open links)."""

from __future__ import annotations

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
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from config import client_ip
from config.api import DomainError
from config.forms import form_errors_add
from config.link_language import link_language
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.models import ConsentChannel, NoticeLanguage
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.models import Operator
from operators.tenancy import can, staff_of
from operators.timezones import operator_time_zone_activate
from registration import selectors as registration_selectors

from . import campaigns, selectors, tokens
from . import my_lines as service
from .models import MyLinesChallenge, RequestState


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


def _masked_number(number: str) -> str:
    return f"{number[:-8]}****{number[-4:]}" if len(number) > 8 else "****"


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
        "req": req,
        "operator": operator,
        "number": _masked_number(req.line.number),
        "campaign": req.campaign,
        "notices": notices,
        "done": req.state == RequestState.VERIFIED,
        "closed": req.state
        not in (RequestState.PENDING, RequestState.EXPIRED, RequestState.VERIFIED),
    }
    form = AnswerForm(
        request.POST or None, initial={"notice": notices[0].content_hash if notices else ""}
    )
    status = 200
    if request.method == "POST" and not context["done"] and not context["closed"]:
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


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@link_language
def my_lines(request: HttpRequest) -> HttpResponse:
    challenge = None
    if uid := request.session.get("my_lines_challenge"):
        challenge = MyLinesChallenge.objects.filter(uid=uid).select_related("operator").first()
    step = request.POST.get("step", "")
    context: dict = {"sent": False, "lines": None}
    start_form = MyLinesStartForm(request.POST if step == "start" else None)
    code_form = CodeForm(request.POST if step == "code" else None)
    status = 200
    if step == "start" and not start_form.is_valid():
        status = 400
    elif step == "code" and not code_form.is_valid():
        status = 400
        context["sent"] = True
    elif step == "start":
        try:
            challenge = service.challenge_start(
                operator=start_form.cleaned_data["operator"],
                id_type=start_form.cleaned_data["id_type"],
                id_number=start_form.cleaned_data["id_number"],
                name=start_form.cleaned_data["name"],
                address=client_ip(request),
            )
        except DomainError as exc:
            status = form_errors_add(start_form, exc)
        else:
            request.session["my_lines_challenge"] = str(challenge.uid)
            context["sent"] = True
    elif step == "code" and challenge is not None:
        try:
            service.challenge_verify(challenge=challenge, code=code_form.cleaned_data["code"])
        except DomainError as exc:
            code_form.add_error("code", exc.message)
            context["sent"] = True
            status = 400
    elif step == "report" and challenge is not None:
        try:
            service.dispute_report(challenge=challenge, line_uid=request.POST.get("line", ""))
            context["reported"] = True
        except DomainError as exc:
            context["error"] = exc.message
    if challenge is not None:
        operator_time_zone_activate(challenge.operator)
        challenge.refresh_from_db()
        if challenge.verified_at:
            context["lines"] = service.masked_lines(service.challenge_lines(challenge=challenge))
        elif step != "start":
            context["sent"] = context["sent"] or step == "code"
    context.update({"start_form": start_form, "code_form": code_form})
    return render(request, "reverification/subscriber/my_lines.html", context, status=status)


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
    if open_request is None:
        raise Http404
    staff = staff_of(request.user)
    notices = identity_services.current_notices(line.operator)
    form = AnswerForm(
        request.POST or None, initial={"notice": notices[0].content_hash if notices else ""}
    )
    done, status = False, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                campaigns.request_answer(
                    request=open_request,
                    identity=form.identity(),
                    consent=ConsentInput(form.cleaned_data["notice"], True),
                    channel=ConsentChannel.STORE,
                    actor=request.user,
                    store=staff.store if staff else None,
                )
            except DomainError as exc:
                status = form_errors_add(form, exc)
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
        },
        status=status,
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
