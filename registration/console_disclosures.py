"""Disclosure requests in the console: the list, a filing form, the detail
page with its steps (approve or refuse by a second person, release once,
legal holds on its lines) and the yearly transparency page.

The admin itself is read-only (nothing of a request is edited or deleted);
each step is a POST to its own page that calls one service of
registration.disclosures. The release's records are shown on the answer to
that POST only, never stored, never cached."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from config.api import DomainError, status_for
from config.forms import form_errors_add
from operators.admin import ScopedAdmin, console
from operators.tenancy import can, staff_of
from operators.timezones import zone_of

from . import disclosures
from .models import (
    DISCLOSURE_FIELD_LABELS,
    DISCLOSURE_FIELDS,
    AuthorityType,
    Disclosure,
    DisclosureState,
)


class DisclosureForm(forms.Form):
    authority = forms.CharField(
        label=gettext_lazy("Requesting authority"),
        max_length=disclosures.TEXT_LIMITS["authority"],
    )
    authority_type = forms.ChoiceField(
        label=gettext_lazy("Type of authority"), choices=AuthorityType.choices
    )
    legal_basis = forms.CharField(
        label=gettext_lazy("Legal basis"),
        max_length=disclosures.TEXT_LIMITS["legal_basis"],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    case_reference = forms.CharField(
        label=gettext_lazy("Case reference"), max_length=disclosures.TEXT_LIMITS["case_reference"]
    )
    document_reference = forms.CharField(
        label=gettext_lazy("Reference of the attached document (warrant, order)"),
        max_length=disclosures.TEXT_LIMITS["document_reference"],
        required=False,
    )
    numbers = forms.CharField(
        label=gettext_lazy("Numbers (E.164, one per line)"),
        max_length=disclosures.MAX_NUMBERS * 20,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
    )
    fields = forms.MultipleChoiceField(
        label=gettext_lazy("Fields asked for"),
        choices=[(name, DISCLOSURE_FIELD_LABELS[name]) for name in DISCLOSURE_FIELDS],
        widget=forms.CheckboxSelectMultiple,
    )

    def to_input(self) -> disclosures.DisclosureInput:
        data = self.cleaned_data
        return disclosures.DisclosureInput(
            authority=data["authority"],
            authority_type=data["authority_type"],
            legal_basis=data["legal_basis"],
            case_reference=data["case_reference"],
            document_reference=data["document_reference"],
            numbers=[n.strip() for n in data["numbers"].splitlines() if n.strip()],
            fields=list(data["fields"]),
        )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for refusing (optional)"),
        max_length=disclosures.REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TransparencyForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2999)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Disclosure, site=console)
class DisclosureAdmin(ScopedAdmin):
    """The requests of the operator, read-only; the steps are their own pages."""

    list_display = [
        "id",
        "state",
        "authority",
        "authority_type",
        "case_reference",
        "numbers_named",
        "filed_by",
        "filed_at",
    ]
    list_filter = ["state", "authority_type"]
    list_select_related = ["filed_by"]
    list_display_links = ["id", "authority"]
    search_fields = ["=case_reference"]
    change_list_template = "registration/admin/disclosure_change_list.html"

    def get_queryset(self, request: HttpRequest):
        return disclosures.disclosure_list(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "disclosure.view")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return staff_of(request.user) is not None and can(request.user, "disclosure.file")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("numbers"))
    def numbers_named(self, obj: Disclosure) -> int:
        return obj.number_count

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "transparency_url": reverse("console:registration_disclosure_transparency"),
        }
        return super().changelist_view(request, extra_context)

    # --- Filing ------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DisclosureForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    filed = disclosures.disclosure_file(actor=request.user, data=form.to_input())
                except DomainError as exc:
                    status = form_errors_add(form, exc)
                else:
                    self.message_user(
                        request,
                        gettext(
                            "The request was filed. A second person (another compliance "
                            "officer or an operator admin) must approve it before it can be "
                            "released."
                        ),
                        messages.SUCCESS,
                    )
                    return redirect(
                        reverse("console:registration_disclosure_change", args=[filed.pk])
                    )
        return _no_store(
            TemplateResponse(
                request,
                "registration/admin/disclosure_add.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": gettext("File a disclosure request"),
                    "form": form,
                },
                status=status,
            )
        )

    # --- The detail and its steps ------------------------------------------------

    def _found(self, request: HttpRequest, object_id: str) -> Disclosure:
        if not self.has_view_permission(request):
            raise PermissionDenied
        found = self.get_object(request, object_id)
        if found is None:
            raise Http404
        return found

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        disclosure = self._found(request, object_id)
        return _no_store(self._detail(request, disclosure))

    def _detail(
        self, request: HttpRequest, disclosure: Disclosure, *, refuse_form=None, status=200
    ) -> TemplateResponse:
        user = request.user
        own = disclosure.filed_by_id == user.pk
        pending = disclosure.state == DisclosureState.PENDING_APPROVAL
        holds = disclosures.disclosure_holds(disclosure).select_related("line", "set_by")
        return TemplateResponse(
            request,
            "registration/admin/disclosure_detail.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": str(disclosure),
                "original": disclosure,
                "disclosure": disclosure,
                "field_labels": [str(DISCLOSURE_FIELD_LABELS[f]) for f in disclosure.fields],
                "numbers_masked": disclosures.disclosure_numbers_masked(disclosure),
                "holds_in_force": sum(1 for h in holds if h.lifted_at is None),
                "own": own,
                "can_decide": pending and not own and can(user, "disclosure.decide"),
                "four_eyes_waiting": pending and own,
                "can_release": disclosure.state == DisclosureState.APPROVED
                and can(user, "disclosure.release"),
                "can_hold": disclosure.state != DisclosureState.REFUSED
                and can(user, "line.legal_hold"),
                "refuse_form": refuse_form or RefuseForm(),
                "approve_url": reverse(
                    "console:registration_disclosure_approve", args=[disclosure.pk]
                ),
                "refuse_url": reverse(
                    "console:registration_disclosure_refuse", args=[disclosure.pk]
                ),
                "release_url": reverse(
                    "console:registration_disclosure_release", args=[disclosure.pk]
                ),
                "hold_url": reverse("console:registration_disclosure_hold", args=[disclosure.pk]),
                "list_url": reverse("console:registration_disclosure_changelist"),
            },
            status=status,
        )

    def _step(self, request: HttpRequest, object_id: str, run, done: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        disclosure = self._found(request, object_id)
        try:
            run(disclosure)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            for reasons in exc.fields.values():
                for reason in reasons:
                    messages.error(request, reason)
            return _no_store(self._detail(request, disclosure, status=status_for(exc)))
        self.message_user(request, done, messages.SUCCESS)
        return redirect(reverse("console:registration_disclosure_change", args=[disclosure.pk]))

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._step(
            request,
            object_id,
            lambda d: disclosures.disclosure_approve(disclosure=d, actor=request.user),
            gettext("The request is approved. It can now be released, once."),
        )

    def refuse_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = RefuseForm(request.POST)
        if not form.is_valid():
            disclosure = self._found(request, object_id)
            return _no_store(self._detail(request, disclosure, refuse_form=form, status=400))
        reason = form.cleaned_data["reason"]
        return self._step(
            request,
            object_id,
            lambda d: disclosures.disclosure_refuse(
                disclosure=d, actor=request.user, reason=reason
            ),
            gettext("The request is refused. Nothing will be released."),
        )

    def hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._step(
            request,
            object_id,
            lambda d: disclosures.disclosure_holds_set(disclosure=d, actor=request.user),
            gettext("Every line of the request is under a legal hold."),
        )

    def release_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        disclosure = self._found(request, object_id)
        try:
            released = disclosures.disclosure_release(disclosure=disclosure, actor=request.user)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return _no_store(self._detail(request, disclosure, status=status_for(exc)))
        fields = released.disclosure.fields
        return _no_store(
            TemplateResponse(
                request,
                "registration/admin/disclosure_released.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": gettext("Released: %(request)s") % {"request": released.disclosure},
                    "disclosure": released.disclosure,
                    "columns": [str(DISCLOSURE_FIELD_LABELS[f]) for f in fields],
                    "rows": [
                        (
                            record["number"],
                            [
                                ", ".join(record[f]) if f == "lines" else (record[f] or "—")
                                for f in fields
                            ],
                        )
                        for record in released.records
                    ],
                    "detail_url": reverse(
                        "console:registration_disclosure_change", args=[disclosure.pk]
                    ),
                },
            )
        )

    # --- Transparency -----------------------------------------------------------

    def transparency_view(self, request: HttpRequest) -> HttpResponse:
        if not can(request.user, "report.view"):
            raise PermissionDenied
        staff = staff_of(request.user)
        if staff is None:
            raise Http404  # a platform admin reads it through the API, per operator
        operator = staff.operator
        this_year = timezone.localtime(timezone.now(), zone_of(operator)).year
        form = TransparencyForm(request.GET or {"year": this_year})
        status, counts = 200, None
        if form.is_valid():
            counts = disclosures.disclosure_transparency(
                operator=operator, year=form.cleaned_data["year"]
            )
        else:
            status = 400
        rows = []
        if counts is not None:
            rows = [
                (label, [counts["by_authority_type"][kind][o] for o in disclosures.OUTCOMES])
                for kind, label in AuthorityType.choices
            ]
        return _no_store(
            TemplateResponse(
                request,
                "registration/admin/disclosure_transparency.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": gettext("Transparency report: disclosure requests"),
                    "form": form,
                    "counts": counts,
                    "rows": rows,
                    "totals": [counts[o] for o in disclosures.OUTCOMES] if counts else [],
                },
                status=status,
            )
        )

    def get_urls(self):
        def named(route: str, view, name: str):
            return path(
                route, self.admin_site.admin_view(view), name=f"registration_disclosure_{name}"
            )

        return [
            named("transparency/", self.transparency_view, "transparency"),
            named("<path:object_id>/approve/", self.approve_view, "approve"),
            named("<path:object_id>/refuse/", self.refuse_view, "refuse"),
            named("<path:object_id>/release/", self.release_view, "release"),
            named("<path:object_id>/legal-holds/", self.hold_view, "hold"),
            *super().get_urls(),
        ]
