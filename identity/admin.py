"""Identity in the console: persons (masked), privacy notices, consents,
corrections and the access log. Nothing here shows personal data in clear
except the reveal and export pages, which go through person_reveal (logged)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy, ngettext

from config.api import DomainError, status_for
from config.forms import form_errors_add
from operators.admin import OperatorScopedAdmin, ScopedAdmin, console
from operators.tenancy import can, staff_of

from . import console_corrections, lookups, selectors, services
from .console_urls import UidSearchOnlyMixin
from .errors import IdentityInvalid
from .exports import ACCESS_LOG, CsvExportMixin
from .field_labels import fields_label
from .forms import PersonFindForm, RevealForm
from .models import (
    ENCRYPTED_FIELDS,
    AccessLogEntry,
    Consent,
    CorrectionRequest,
    CorrectionStatus,
    LookupAlert,
    Person,
    PrivacyNotice,
)


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Person, site=console)
class PersonAdmin(UidSearchOnlyMixin, ReadOnlyMixin, ScopedAdmin):
    """Persons, masked. Searched by id only; found by document through the
    POST "find" view (counted and logged, never in a URL)."""

    find_url_name = "console:identity_person_find"
    find_label = gettext_lazy("Find by document")

    permission_prefix = "transaction"
    list_display = [
        "masked_name",
        "id_type",
        "masked_document",
        "verification_status",
        "lines_held",
        "created_at",
        "erased",
    ]
    list_filter = ["verification_status", "id_type"]
    list_select_related = ["operator"]
    fields = [
        "uid",
        "operator",
        "id_type",
        "masked_name",
        "masked_document",
        "masked_birth",
        "masked_address",
        "verification_status",
        "verified_at",
        "lines_held",
        "last_line_closed_at",
        "version",
        "created_at",
        "updated_at",
        "shredded_at",
        "actions_links",
    ]
    readonly_fields = fields

    def _masked(self, obj: Person) -> dict[str, str | None]:
        cache = getattr(obj, "_masked_cache", None)
        if cache is None:
            cache = selectors.person_masked(obj)
            obj._masked_cache = cache
        return cache

    @admin.display(description=gettext_lazy("name"))
    def masked_name(self, obj: Person) -> str:
        return self._masked(obj)["name"] or ""

    @admin.display(description=gettext_lazy("document"))
    def masked_document(self, obj: Person) -> str:
        return self._masked(obj)["id_number"] or ""

    @admin.display(description=gettext_lazy("birth date"))
    def masked_birth(self, obj: Person) -> str:
        return self._masked(obj)["date_of_birth"] or ""

    @admin.display(description=gettext_lazy("address"))
    def masked_address(self, obj: Person) -> str:
        return self._masked(obj)["address"] or ""

    @admin.display(boolean=True, description=gettext_lazy("erased"))
    def erased(self, obj: Person) -> bool:
        return obj.is_shredded

    @admin.display(description=gettext_lazy("compliance"))
    def actions_links(self, obj: Person) -> str:
        if obj.pk is None or obj.is_shredded:
            return "—"
        return format_html(
            '<a href="{}">Reveal (logged)</a> · <a href="{}">Subject-access export (logged)</a>',
            reverse("console:identity_person_reveal", args=[obj.pk]),
            reverse("console:identity_person_export", args=[obj.pk]),
        )

    def get_urls(self):
        urls = super().get_urls()
        extra = [
            path(
                "find/",
                self.admin_site.admin_view(self.find_view),
                name="identity_person_find",
            ),
            path(
                "<int:pk>/reveal/",
                self.admin_site.admin_view(self.reveal_view),
                name="identity_person_reveal",
            ),
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="identity_person_export",
            ),
        ]
        return extra + urls

    def find_view(self, request: HttpRequest) -> HttpResponse:
        """Find a person by document: a POST, counted against the hourly limit
        and logged with its purpose, then a redirect to the person's page by id.
        The number typed is never put in a URL or shown back."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        staff = staff_of(request.user)
        ask_operator = staff is None
        form = PersonFindForm(request.POST or None, ask_operator=ask_operator)
        not_found, status = "", 200
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                person = lookups.person_lookup_by_document(
                    operator=data["operator"] if ask_operator else staff.operator,
                    actor=request.user,
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    purpose=data["purpose"],
                    surface="console.person.find",
                )
            except IdentityInvalid as exc:
                status = form_errors_add(form, exc)
            except DomainError as exc:
                not_found, status = exc.message, status_for(exc)
            else:
                if person is not None and self.get_queryset(request).filter(pk=person.pk).exists():
                    return redirect(reverse("console:identity_person_change", args=[person.pk]))
                not_found = gettext("No person with this document at this operator.")
            if status != 400:  # answered: the number typed is not shown back
                form = PersonFindForm(
                    initial={"id_type": data["id_type"], "purpose": data["purpose"]},
                    ask_operator=ask_operator,
                )
        elif request.method == "POST":
            status = 400
        response = TemplateResponse(
            request,
            "identity/admin/find.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "not_found": not_found,
                "title": gettext("Find a person by document"),
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response

    def _person_or_404(self, request: HttpRequest, pk: int) -> Person:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def reveal_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = self._person_or_404(request, pk)
        if not services.can_reveal(request.user, person):
            raise PermissionDenied
        form = RevealForm(request.POST or None)
        values = None
        if request.method == "POST" and form.is_valid():
            try:
                values = services.person_reveal(
                    person=person,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    purpose=form.cleaned_data["purpose"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
        response = TemplateResponse(
            request,
            "identity/admin/reveal.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "person": person,
                "form": form,
                "values": values,
                "field_order": ENCRYPTED_FIELDS,
                "title": "Reveal personal data",
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        person = self._person_or_404(request, pk)
        if not can(request.user, "person.reveal"):
            raise PermissionDenied
        form = RevealForm(request.POST or None, purpose_fixed=True)
        export = None
        if request.method == "POST" and form.is_valid():
            try:
                export = services.person_export(
                    person=person, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if request.POST.get("format") == "json":
                    response = HttpResponse(
                        json.dumps(export, ensure_ascii=False, indent=2),
                        content_type="application/json; charset=utf-8",
                    )
                    response["Content-Disposition"] = (
                        f'attachment; filename="subject-access-{person.uid}.json"'
                    )
                    response["Cache-Control"] = "no-store"
                    return response
        response = TemplateResponse(
            request,
            "identity/admin/export.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "person": person,
                "form": form,
                "export": export,
                "title": "Subject-access export",
            },
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(PrivacyNotice, site=console)
class PrivacyNoticeAdmin(OperatorScopedAdmin):
    permission_prefix = "privacy_notice"
    list_display = ["operator", "language", "version", "published_at", "short_hash"]
    list_filter = ["language"]
    list_select_related = ["operator"]
    readonly_fields = ["version", "content_hash", "published_at", "created_at"]
    actions = ["publish"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "console.access")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False  # published notices are immutable
        return can(request.user, "privacy_notice.manage")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return can(request.user, "privacy_notice.manage")

    @admin.display(description=gettext_lazy("hash"))
    def short_hash(self, obj: PrivacyNotice) -> str:
        return obj.content_hash[:12] if obj.content_hash else "draft"

    def save_model(self, request: HttpRequest, obj: PrivacyNotice, form, change: bool) -> None:
        from .models import NOTICE_PARTS

        parts = {part: form.cleaned_data.get(part, "") for part in NOTICE_PARTS}
        if change:
            services.notice_save_draft(notice=obj, parts=parts)
            return
        operator = obj.operator if obj.operator_id else None
        if operator is None:
            operator = staff_of(request.user).operator
        created = services.notice_draft_create(
            operator=operator, language=form.cleaned_data["language"], parts=parts
        )
        obj.pk, obj.operator, obj.version = created.pk, created.operator, created.version
        obj.created_at = created.created_at
        obj._state.adding = False

    @admin.action(description=gettext_lazy("Publish the selected drafts"), permissions=["manage"])
    def publish(self, request: HttpRequest, queryset) -> None:
        for notice in queryset:
            try:
                services.notice_publish(notice=notice, actor=request.user)
            except DomainError as exc:
                self.message_user(
                    request,
                    gettext("Version %(version)s (%(language)s): %(message)s")
                    % {
                        "version": notice.version,
                        "language": notice.get_language_display(),
                        "message": exc.message,
                    },
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    gettext("Published version %(version)s (%(language)s).")
                    % {"version": notice.version, "language": notice.get_language_display()},
                )

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "privacy_notice.manage")


@admin.register(Consent, site=console)
class ConsentAdmin(ReadOnlyMixin, ScopedAdmin):
    permission_prefix = "access_log"
    list_display = [
        "pk",
        "given",
        "channel",
        "notice",
        "store",
        "recorded_by",
        "created_at",
        "withdrawn_at",
    ]
    list_filter = ["given", "channel"]
    list_select_related = ["notice__operator", "store", "recorded_by"]
    date_hierarchy = "created_at"
    actions = ["record_withdrawal"]

    def has_withdraw_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "privacy_notice.manage")

    @admin.action(
        description=gettext_lazy("Record the person's withdrawal of consent"),
        permissions=["withdraw"],
    )
    def record_withdrawal(self, request: HttpRequest, queryset) -> None:
        count = 0
        for consent in queryset.filter(given=True, withdrawn_at__isnull=True):
            services.consent_withdraw(consent=consent, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("Recorded %(count)d withdrawal.", "Recorded %(count)d withdrawals.", count)
            % {"count": count},
        )


@admin.register(AccessLogEntry, site=console)
class AccessLogEntryAdmin(CsvExportMixin, ReadOnlyMixin, ScopedAdmin):
    """The access log: filter by actor, person and date; never shows personal
    data (fields are names of fields, not values)."""

    permission_prefix = "access_log"
    csv_export = ACCESS_LOG
    list_display = [
        "created_at",
        "actor_label",
        "purpose",
        "person_ref",
        "field_list",
        "store",
        "reason",
    ]
    list_filter = ["purpose", "actor_label"]
    list_select_related = ["store", "person"]
    date_hierarchy = "created_at"
    search_fields = ["actor_label", "request_id", "=person__uid"]
    search_help_text = "Actor username, request id, or a person's id (exact)."
    readonly_fields = [
        "chain",
        "seq",
        "created_at",
        "actor_label",
        "store",
        "person_ref",
        "fields",
        "purpose",
        "reason",
        "detail",
        "request_id",
        "prev_hash",
        "entry_hash",
    ]
    fields = readonly_fields

    @admin.display(description=gettext_lazy("person"))
    def person_ref(self, obj: AccessLogEntry) -> str:
        return str(obj.person.uid) if obj.person_id else "—"

    @admin.display(description=gettext_lazy("fields"))
    def field_list(self, obj: AccessLogEntry) -> str:
        return fields_label(obj.fields) or "—"

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "access_log.view")


CORRECTION_FIELD_LABELS = {
    "name": gettext_lazy("Name as on the document"),
    "date_of_birth": gettext_lazy("Date of birth"),
    "sex": gettext_lazy("Sex"),
    "id_expiry": gettext_lazy("Valid until"),
    "nationality": gettext_lazy("Nationality"),
    "address": gettext_lazy("Address"),
}


@admin.register(CorrectionRequest, site=console)
class CorrectionRequestAdmin(ReadOnlyMixin, ScopedAdmin):
    """Corrections are decided one at a time on their own page, where the
    values held and proposed stand side by side (console_corrections): no
    bulk action approves values nobody looked at."""

    permission_prefix = "person"
    list_display = [
        "reference",
        "person_ref",
        "fields_proposed",
        "status",
        "requested_by",
        "created_at",
        "decided_by",
    ]
    list_filter = ["status"]
    list_select_related = ["person", "requested_by", "decided_by"]
    list_display_links = ["reference"]
    actions = []

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "person.reveal")

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "person.reveal")

    @admin.display(description=gettext_lazy("person"))
    def person_ref(self, obj: CorrectionRequest) -> str:
        return str(obj.person.uid)

    @admin.display(description=gettext_lazy("fields"))
    def fields_proposed(self, obj: CorrectionRequest) -> str:
        return selectors.correction_fields_text(obj) or "—"

    @admin.display(description=gettext_lazy("No."), ordering="pk")
    def reference(self, obj: CorrectionRequest) -> str:
        return f"#{obj.pk}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.correction_view(request, object_id)

    def correction_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the correction side by side, masked. POST ``action=reveal``:
        the same in clear, through the audited reveal. POST ``decision``:
        approve or refuse with a note, through correction_decide."""
        if not str(object_id).isdigit():
            raise Http404
        queryset = self.get_queryset(request).select_related(
            "person__operator", "requested_by", "decided_by"
        )
        correction = get_object_or_404(queryset, pk=int(object_id))
        if not self.has_view_permission(request, correction):
            raise PermissionDenied
        pending = correction.status == CorrectionStatus.PENDING
        may_decide = pending and self.has_decide_permission(request)
        decision_form = console_corrections.CorrectionDecisionForm()
        reveal_form = console_corrections.CorrectionRevealForm()
        rows, status = None, 200
        if request.method == "POST" and request.POST.get("action") == "reveal":
            reveal_form = console_corrections.CorrectionRevealForm(request.POST)
            if reveal_form.is_valid():
                try:
                    rows = services.correction_reveal(
                        correction=correction,
                        actor=request.user,
                        reason=reveal_form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    reveal_form.add_error(None, exc.message)
                    status = status_for(exc)
            else:
                status = 400
        elif request.method == "POST":
            if not may_decide:
                raise PermissionDenied
            decision_form = console_corrections.CorrectionDecisionForm(request.POST)
            if decision_form.is_valid():
                data = decision_form.cleaned_data
                try:
                    services.correction_decide(
                        correction=correction,
                        approve=data["decision"] == console_corrections.APPROVE,
                        actor=request.user,
                        note=data["note"],
                    )
                except DomainError as exc:
                    decision_form.add_error(None, exc.message)
                    status = status_for(exc)
                else:
                    correction.refresh_from_db()
                    self.message_user(
                        request,
                        gettext("Correction #%(id)s: %(status)s.")
                        % {"id": correction.pk, "status": correction.get_status_display()},
                    )
                    return redirect(request.path)
            else:
                status = 400
        response = TemplateResponse(
            request,
            "identity/admin/correction.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": correction,
                "correction": correction,
                "rows": rows if rows is not None else selectors.correction_masked(correction),
                "revealed": rows is not None,
                "may_reveal": services.can_reveal(request.user, correction.person),
                "may_decide": may_decide,
                "own_request": correction.requested_by_id == request.user.pk,
                "decided": console_corrections.decided_text(correction),
                "decision_form": decision_form,
                "reveal_form": reveal_form,
                "title": gettext("Correction request #%(id)s") % {"id": correction.pk},
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response


@admin.register(LookupAlert, site=console)
class LookupAlertAdmin(ReadOnlyMixin, ScopedAdmin):
    """Staff members who looked up more documents than the hourly limit
    allows (identity.lookups). Compliance officers acknowledge them."""

    permission_prefix = "access_log"
    list_display = [
        "window_end",
        "staff",
        "count",
        "window_start",
        "acknowledged_by",
        "acknowledged_at",
    ]
    list_filter = [("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["staff", "acknowledged_by", "operator"]
    search_fields = ["staff__username"]
    search_help_text = gettext_lazy("Staff member's username.")
    fields = [
        "operator",
        "staff",
        "count",
        "window_start",
        "window_end",
        "created_at",
        "acknowledged_by",
        "acknowledged_at",
    ]
    readonly_fields = fields
    actions = ["acknowledge"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "access_log.view")

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "access_log.view")

    @admin.action(
        description=gettext_lazy("Acknowledge the selected alerts"), permissions=["acknowledge"]
    )
    def acknowledge(self, request: HttpRequest, queryset) -> None:
        done = sum(
            lookups.alert_acknowledge(alert=alert, actor=request.user)
            for alert in queryset.filter(acknowledged_at__isnull=True)
        )
        self.message_user(request, gettext("%(count)d alert(s) acknowledged.") % {"count": done})


# --- Organisations (issue 15): masked, their handlers, their caps -----------------------------

from django import forms  # noqa: E402

from . import organisations  # noqa: E402
from .models import Organisation, OrganisationAuthorization, OrganisationCapChange  # noqa: E402


class OrganisationAuthorizationInline(admin.TabularInline):
    model = OrganisationAuthorization
    extra = 0
    can_delete = False
    fields = [
        "handler_name",
        "handler_document",
        "reference",
        "valid_until",
        "started_at",
        "ended_at",
    ]
    readonly_fields = fields
    verbose_name = gettext_lazy("handler authorization")

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "organisation.view")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("handler (masked)"))
    def handler_name(self, obj: OrganisationAuthorization) -> str:
        return selectors.person_masked(obj.handler, fields=("name",))["name"] or ""

    @admin.display(description=gettext_lazy("document (masked)"))
    def handler_document(self, obj: OrganisationAuthorization) -> str:
        return selectors.person_masked(obj.handler, fields=("id_number",))["id_number"] or ""


class OrganisationCapChangeInline(admin.TabularInline):
    model = OrganisationCapChange
    extra = 0
    can_delete = False
    fields = ["cap_before", "cap_after", "reason", "actor", "at"]
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "organisation.view")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class OrganisationCapForm(forms.Form):
    cap = forms.IntegerField(
        label=gettext_lazy("New line cap"), min_value=1, max_value=organisations.CAP_MAX
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


@admin.register(Organisation, site=console)
class OrganisationAdmin(ReadOnlyMixin, ScopedAdmin):
    """Organisations, name and code masked, with their handlers and caps."""

    permission_prefix = "organisation"
    list_display = [
        "masked_name",
        "masked_uscc",
        "status",
        "cap",
        "lines_held",
        "current_handler",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["operator"]
    search_fields = ["=uid"]
    fields = [
        "uid",
        "operator",
        "masked_name",
        "masked_uscc",
        "status",
        "cap",
        "lines_held",
        "last_line_closed_at",
        "created_at",
        "shredded_at",
        "cap_link",
    ]
    readonly_fields = fields
    inlines = [OrganisationAuthorizationInline, OrganisationCapChangeInline]

    def _masked(self, obj: Organisation) -> dict[str, str]:
        cache = getattr(obj, "_masked_cache", None)
        if cache is None:
            cache = obj._masked_cache = organisations.organisation_masked(obj)
        return cache

    @admin.display(description=gettext_lazy("name"))
    def masked_name(self, obj: Organisation) -> str:
        return self._masked(obj)["name"]

    @admin.display(description=gettext_lazy("unified social credit code"))
    def masked_uscc(self, obj: Organisation) -> str:
        return self._masked(obj)["uscc"]

    @admin.display(description=gettext_lazy("line cap"))
    def cap(self, obj: Organisation) -> int:
        return organisations.organisation_cap(obj)

    @admin.display(description=gettext_lazy("handler (masked)"))
    def current_handler(self, obj: Organisation) -> str:
        current = organisations.handler_current(obj)
        if current is None:
            return "—"
        return selectors.person_masked(current.handler, fields=("name",))["name"] or ""

    @admin.display(description=gettext_lazy("compliance"))
    def cap_link(self, obj: Organisation) -> str:
        if obj.pk is None or obj.is_shredded:
            return "—"
        return format_html(
            '<a id="cap-link" href="{}">{}</a>',
            reverse("console:identity_organisation_cap", args=[obj.pk]),
            gettext("Raise the line cap"),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/cap/",
                self.admin_site.admin_view(self.cap_view),
                name="identity_organisation_cap",
            ),
            *super().get_urls(),
        ]

    def cap_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        org = get_object_or_404(self.get_queryset(request), pk=pk)
        if not can(request.user, "organisation.cap_raise"):
            raise PermissionDenied
        form = OrganisationCapForm(request.POST or None)
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                organisations.organisation_cap_raise(
                    org=org,
                    actor=request.user,
                    cap=form.cleaned_data["cap"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                status = form_errors_add(form, exc)
            else:
                messages.success(request, gettext("The organisation's line cap was changed."))
                return redirect("console:identity_organisation_change", org.pk)
        elif request.method == "POST":
            status = 400
        return TemplateResponse(
            request,
            "identity/admin/organisation_cap.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "cap": organisations.organisation_cap(org),
                "title": gettext("Raise this organisation's line cap"),
            },
            status=status,
        )
