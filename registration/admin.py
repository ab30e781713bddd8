"""Registration in the console: transactions and lines (read-only, holders
and addresses masked), the number inventory with its quarantine actions, and
the service catalog. Every admin is scoped to the signed-in staff member's
operator through ScopedAdmin; inventory and catalog writes need
``inventory.manage``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy

from config.api import DomainError, status_for
from config.forms import form_errors_add
from identity import lookups
from identity import selectors as identity_selectors
from identity.console_urls import UidSearchOnlyMixin
from identity.exports import CsvExportMixin
from identity.phone_format import phone_for_reading
from operators.admin import OperatorScopedAdmin, ScopedAdmin, console
from operators.models import Operator
from operators.tenancy import can, is_platform_admin, staff_of

from . import closing, exports, inventory, selectors
from . import lookups as line_lookups
from .console_disclosures import DisclosureAdmin  # noqa: F401 - registers on the console
from .console_inventory import NumberLoadMixin
from .errors import LineAlreadyClosed
from .models import (
    LINE_STATUS_REASONS,
    OPERATOR_CLOSE_REASONS,
    HolderAlert,
    LegalHold,
    Line,
    LineAddress,
    LineClosure,
    LineHolding,
    LineKind,
    LineService,
    LineStatus,
    PartnerCall,
    PhoneNumber,
    Service,
    SimCard,
    Transaction,
    TransactionEvent,
    line_status_reason_label,
)
from .numbers import InvalidNumber, to_e164


@admin.display(description=gettext_lazy("number"), ordering="number")
def number_for_reading(obj: Line | PhoneNumber) -> str:
    """The number grouped for reading (138 0013 8000); stored and searched in E.164."""
    return phone_for_reading(obj.number)


class ReadOnlyInline(admin.TabularInline):
    """History rows shown under their parent, never edited. Visible to whoever
    may see the parent (the parent's queryset already scopes by operator)."""

    extra = 0
    # No "add another" row for Django's inline script to build (under the
    # strict CSP its markup would be refused).
    max_num = 0
    can_delete = False
    show_change_link = False
    view_permission = ""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, self.view_permission)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyScopedAdmin(ScopedAdmin):
    """Read-only rows of the operator; platform admins also see which operator."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_list_display(self, request: HttpRequest):
        columns = list(super().get_list_display(request))
        return [*columns, "operator"] if is_platform_admin(request.user) else columns

    def get_list_filter(self, request: HttpRequest):
        filters = list(super().get_list_filter(request))
        return [*filters, "operator"] if is_platform_admin(request.user) else filters


def _masked_holder(line: Line) -> dict[str, str | None]:
    """Decrypted and masked once per line object, however many columns show it."""
    cache = getattr(line, "_masked_holder", None)
    if cache is None:
        cache = selectors.line_masked_holder(line)
        line._masked_holder = cache
    return cache


def _search_countries(request: HttpRequest) -> list[str]:
    """Countries a typed national number is read in: the staff member's operator's."""
    staff = staff_of(request.user)
    if staff is not None:
        return [staff.operator.country]
    if is_platform_admin(request.user):
        return sorted(set(Operator.objects.values_list("country", flat=True)))
    return []


def _as_e164(request: HttpRequest, term: str) -> str | None:
    for country in _search_countries(request):
        try:
            return to_e164(term, country=country)
        except InvalidNumber:
            continue
    return None


def failed_text(error: str, when) -> str:
    """A task failure as the console shows it: when, and the recorded reason
    (the step and the error's class, never data)."""
    if not error:
        return gettext("ok")
    return gettext("failed %(when)s (%(error)s)") % {
        "when": date_format(timezone.localtime(when), "DATETIME_FORMAT") if when else "—",
        "error": error,
    }


# Transactions ---------------------------------------------------------------


class TransactionEventInline(ReadOnlyInline):
    model = TransactionEvent
    view_permission = "transaction.view"
    fields = ["at", "from_state", "to_state", "actor_label", "note"]
    readonly_fields = fields
    verbose_name = "state change"
    verbose_name_plural = "history"


@admin.register(Transaction, site=console)
class TransactionAdmin(CsvExportMixin, ReadOnlyScopedAdmin):
    """Business transactions as an audit trail: read-only, searched by reference."""

    permission_prefix = "transaction"
    csv_export = exports.TRANSACTIONS
    list_display = [
        "reference",
        "kind",
        "state",
        "store",
        "staff",
        "line_number",
        "created_at",
        "refusal",
    ]
    list_filter = ["kind", "state", ("store", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["store", "staff", "line", "operator"]
    date_hierarchy = "created_at"
    search_fields = ["^reference"]
    search_help_text = gettext_lazy("Transaction reference (or its beginning).")
    fields = [
        "reference",
        "kind",
        "state",
        "operator",
        "store",
        "staff",
        "line_kind",
        "line_number",
        "holder_masked",
        "service",
        "refusal_code",
        "refusal_message",
        "verification_attempts",
        "next_verification_at",
        "task_error",
        "holder_alert_status",
        "holder_alert_messages",
        "notice_hash",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [TransactionEventInline]

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def line_number(self, obj: Transaction) -> str:
        return phone_for_reading(obj.line.number if obj.line_id else obj.number) or "—"

    @admin.display(description=gettext_lazy("refusal"), ordering="refusal_code")
    def refusal(self, obj: Transaction) -> str:
        # The message the clerk was given, not its code; kept short for the list.
        return Truncator(obj.refusal_message).chars(60) if obj.refusal_code else "—"

    @admin.display(description=gettext_lazy("line holder (masked)"))
    def holder_masked(self, obj: Transaction) -> str:
        return (_masked_holder(obj.line)["name"] or "—") if obj.line_id else "—"

    @admin.display(description=gettext_lazy("last task error"))
    def task_error(self, obj: Transaction) -> str:
        return failed_text(obj.last_error, obj.last_error_at)

    @admin.display(description=gettext_lazy("holder alert"))
    def holder_alert_status(self, obj: Transaction) -> str:
        alert = HolderAlert.objects.filter(transaction=obj).first()
        if alert is None:
            return "—"
        if alert.done_at is not None:
            return gettext("sent to %(count)s line(s)") % {"count": alert.sent}
        if alert.error:
            return gettext("failed (%(error)s)") % {"error": alert.error}
        return gettext("waiting")

    @admin.display(description=gettext_lazy("holder alert messages"))
    def holder_alert_messages(self, obj: Transaction) -> str:
        rows = selectors.holder_alert_messages(obj)
        if not rows:
            return "—"
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            "{} · {} · {} {}",
            (
                (
                    phone_for_reading(row["number"]),
                    row["channel"],
                    row["state"],
                    _alert_outcome(row),
                )
                for row in rows
            ),
        )


def _alert_outcome(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"({row['error']})"
    if row["sent_at"] is None:
        return ""
    return date_format(timezone.localtime(row["sent_at"]), "SHORT_DATETIME_FORMAT")


# Lines ----------------------------------------------------------------------


class LineHoldingInline(ReadOnlyInline):
    model = LineHolding
    view_permission = "line.lookup"
    fields = ["holder_uid", "holder_name", "started_at", "ended_at", "transaction_reference"]
    readonly_fields = fields
    verbose_name = gettext_lazy("holder")
    verbose_name_plural = gettext_lazy("holder history")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("holder", "transaction")

    @admin.display(description=gettext_lazy("person"))
    def holder_uid(self, obj: LineHolding) -> str:
        return str(obj.holder.uid)

    @admin.display(description=gettext_lazy("name (masked)"))
    def holder_name(self, obj: LineHolding) -> str:
        return identity_selectors.person_masked(obj.holder)["name"] or ""

    @admin.display(description=gettext_lazy("transaction"))
    def transaction_reference(self, obj: LineHolding) -> str:
        return obj.transaction.reference


class LineAddressInline(ReadOnlyInline):
    model = LineAddress
    view_permission = "line.lookup"
    fields = ["address_masked", "holder_uid", "started_at", "ended_at", "transaction_reference"]
    readonly_fields = fields
    verbose_name = gettext_lazy("installation address")
    verbose_name_plural = gettext_lazy("address history")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("holder", "line", "transaction")

    @admin.display(description=gettext_lazy("address (masked)"))
    def address_masked(self, obj: LineAddress) -> str:
        return (
            identity_selectors.value_masked(
                obj.holder,
                context=obj.line.address_subject,
                field="installation_address",
                blob=obj.address_enc,
            )
            or "—"
        )

    @admin.display(description=gettext_lazy("sealed for person"))
    def holder_uid(self, obj: LineAddress) -> str:
        return str(obj.holder.uid)

    @admin.display(description=gettext_lazy("transaction"))
    def transaction_reference(self, obj: LineAddress) -> str:
        return obj.transaction.reference


class LineServiceInline(ReadOnlyInline):
    model = LineService
    view_permission = "line.lookup"
    fields = ["service", "activated_at", "deactivated_at", "transaction_reference"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("services")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("service", "transaction")

    @admin.display(description=gettext_lazy("transaction"))
    def transaction_reference(self, obj: LineService) -> str:
        return obj.transaction.reference


class NumberFindForm(forms.Form):
    """Find by number in the console: POSTed, never in a URL."""

    number = forms.CharField(
        max_length=24,
        label=gettext_lazy("Number (international +86… or national)"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    purpose = forms.ChoiceField(
        choices=lookups.LOOKUP_PURPOSE_CHOICES,
        initial=lookups.DEFAULT_PURPOSE,
        label=gettext_lazy("Purpose (written to the access log)"),
    )


class FindByNumberMixin:
    """A POST "find" view that redirects to the row's page by id. The number
    typed is never put in a URL or shown back."""

    find_title = ""

    def find_rows(self, request: HttpRequest, number: str, purpose: str) -> list:
        """The rows a number finds (counted and logged as a look-up): each admin
        that uses the mixin says which."""
        raise TypeError(f"{type(self).__name__} must define find_rows()")

    def find_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = NumberFindForm(request.POST or None)
        not_found, status = "", 200
        if request.method == "POST" and form.is_valid():
            number = _as_e164(request, form.cleaned_data["number"])
            if number is None:
                form.add_error("number", gettext("Not a valid number."))
                status = 400
            else:
                try:
                    rows = self.find_rows(request, number, form.cleaned_data["purpose"])
                except DomainError as exc:
                    not_found, status = exc.message, status_for(exc)
                    form = NumberFindForm(initial={"purpose": form.cleaned_data["purpose"]})
                else:
                    visible = set(
                        self.get_queryset(request)
                        .filter(pk__in=[r.pk for r in rows])
                        .values_list("pk", flat=True)
                    )
                    first = next((r for r in rows if r.pk in visible), None)
                    if first is not None:
                        opts = self.model._meta
                        return redirect(
                            reverse(
                                f"console:{opts.app_label}_{opts.model_name}_change",
                                args=[first.pk],
                            )
                        )
                    not_found = gettext("Nothing with this number at this operator.")
                    form = NumberFindForm(initial={"purpose": form.cleaned_data["purpose"]})
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
                "title": self.find_title,
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response

    def get_urls(self):
        opts = self.model._meta
        extra = [
            path(
                "find/",
                self.admin_site.admin_view(self.find_view),
                name=f"{opts.app_label}_{opts.model_name}_find",
            )
        ]
        return extra + super().get_urls()


class LineStatusReasonFilter(admin.SimpleListFilter):
    """Why the status changed, by its label (the field stores a code)."""

    title = gettext_lazy("status reason")
    parameter_name = "status_reason"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(code, line_status_reason_label(code)) for code in LINE_STATUS_REASONS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status_reason=self.value()) if self.value() else queryset


class LineCloseForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason"),
        choices=[("", "—"), *((r.value, r.label) for r in OPERATOR_CLOSE_REASONS)],
    )
    note = forms.CharField(
        label=gettext_lazy("Note (optional, no personal data)"),
        max_length=closing.NOTE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LegalHoldForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (e.g. the disclosure request's reference)"),
        max_length=closing.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LegalHoldInline(ReadOnlyInline):
    model = LegalHold
    view_permission = "line.lookup"
    fields = ["reason", "set_by", "set_at", "lift_reason", "lifted_by", "lifted_at", "disclosure"]
    readonly_fields = fields
    verbose_name = gettext_lazy("legal hold")
    verbose_name_plural = gettext_lazy("legal holds")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("set_by", "lifted_by")


@admin.register(Line, site=console)
class LineAdmin(CsvExportMixin, FindByNumberMixin, UidSearchOnlyMixin, ReadOnlyScopedAdmin):
    """Lines, holders masked. Searched by id only; found by number through
    the POST "find" view (counted and logged like a look-up by document)."""

    csv_export = exports.LINES

    find_url_name = "console:registration_line_find"
    find_label = gettext_lazy("Find by number")
    find_title = gettext_lazy("Find a line by number")

    list_display = [
        number_for_reading,
        "kind",
        "status",
        "status_reason_label",
        "status_changed_at",
        "store",
        "holder_name",
        "registered_at",
    ]
    list_filter = ["kind", "status", LineStatusReasonFilter, "close_reason"]
    list_select_related = ["store", "holder", "operator"]
    fields = [
        "uid",
        "number",
        "kind",
        "status",
        "status_reason_label",
        "status_changed_at",
        "operator",
        "store",
        "holder_uid",
        "holder_name",
        "holder_document",
        "address_masked",
        "registered_at",
        "updated_at",
        "closed_at",
        "close_reason",
        "closing_summary",
        "legal_hold_summary",
    ]
    readonly_fields = fields
    inlines = [LineHoldingInline, LineAddressInline, LineServiceInline, LegalHoldInline]
    change_form_template = "registration/admin/line_change_form.html"

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "line.lookup")

    @admin.display(description=gettext_lazy("status reason"), ordering="status_reason")
    def status_reason_label(self, obj: Line) -> str:
        return line_status_reason_label(obj.status_reason) or "—"

    @admin.display(description=gettext_lazy("holder (masked)"))
    def holder_name(self, obj: Line) -> str:
        return _masked_holder(obj)["name"] or ""

    @admin.display(description=gettext_lazy("holder"))
    def holder_uid(self, obj: Line) -> str:
        return str(obj.holder.uid)

    @admin.display(description=gettext_lazy("holder document (masked)"))
    def holder_document(self, obj: Line) -> str:
        return _masked_holder(obj)["id_number"] or ""

    @admin.display(description=gettext_lazy("installation address (masked)"))
    def address_masked(self, obj: Line) -> str:
        return selectors.line_masked_address(obj) or "—"

    def find_rows(self, request: HttpRequest, number: str, purpose: str) -> list:
        return line_lookups.line_lookup_by_number(
            user=request.user, number=number, purpose=purpose, surface="console.line.find"
        )

    # Closing and legal holds: one page each, a form with a reason, the
    # service called on POST (registration.closing).

    @admin.display(description=gettext_lazy("closing"))
    def closing_summary(self, obj: Line) -> str:
        closure = LineClosure.objects.filter(line=obj).first()
        if closure is None:
            return "—"
        return gettext("%(reason)s, by %(actor)s; the number is available again from %(date)s") % {
            "reason": closure.get_reason_display(),
            "actor": closure.actor_label,
            "date": date_format(timezone.localtime(closure.number_available_at), "DATE_FORMAT"),
        }

    @admin.display(description=gettext_lazy("legal hold"))
    def legal_hold_summary(self, obj: Line) -> str:
        hold = closing.line_hold_in_force(obj)
        if hold is None:
            return gettext("none")
        return gettext("in force since %(date)s") % {
            "date": date_format(timezone.localtime(hold.set_at), "DATETIME_FORMAT")
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        line = self.get_object(request, object_id)
        links = []
        if line is not None and line.status != LineStatus.CLOSED:
            if can(request.user, "line.close"):
                links.append(("close-link", "close", gettext("Close this line")))
        if line is not None and can(request.user, "line.legal_hold"):
            held = closing.line_hold_in_force(line) is not None
            links.append(
                ("hold-link", "legal_hold", gettext("Lift the legal hold"))
                if held
                else ("hold-link", "legal_hold", gettext("Set a legal hold"))
            )
        extra_context = {
            **(extra_context or {}),
            "line_links": [
                (css_id, reverse(f"console:registration_line_{name}", args=[line.pk]), label)
                for css_id, name, label in links
            ],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _line_for(self, request: HttpRequest, object_id: str, permission: str) -> Line:
        """The line of the operator the page names, or 404 (another
        operator's is not found); 403 without the permission."""
        if not can(request.user, permission):
            raise PermissionDenied
        line = self.get_object(request, object_id)
        if line is None:
            raise Http404
        return line

    def _line_page(self, request, line, form, template, title, status=200) -> HttpResponse:
        response = TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": line,
                "form": form,
                "title": title,
                "masked_number": identity_selectors.phone_masked(line.number),
                "hold": closing.line_hold_in_force(line),
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response

    def close_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        line = self._line_for(request, object_id, "line.close")
        title = gettext("Close a line")
        form = LineCloseForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    closing.line_close(
                        line=line,
                        reason=form.cleaned_data["reason"],
                        note=form.cleaned_data["note"],
                        actor=request.user,
                    )
                except DomainError as exc:
                    status = form_errors_add(form, exc)
                else:
                    self.message_user(request, gettext("The line was closed."), messages.SUCCESS)
                    return redirect(reverse("console:registration_line_change", args=[line.pk]))
        elif line.status == LineStatus.CLOSED:
            form.add_error(None, str(LineAlreadyClosed.message))
        return self._line_page(
            request, line, form, "registration/admin/line_close.html", title, status
        )

    def legal_hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        line = self._line_for(request, object_id, "line.legal_hold")
        held = closing.line_hold_in_force(line) is not None
        title = gettext("Lift the legal hold") if held else gettext("Set a legal hold")
        form = LegalHoldForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                action = closing.legal_hold_lift if held else closing.legal_hold_set
                try:
                    action(line=line, reason=form.cleaned_data["reason"], actor=request.user)
                except DomainError as exc:
                    status = form_errors_add(form, exc)
                else:
                    done = (
                        gettext("The legal hold was lifted.")
                        if held
                        else gettext("The legal hold is in force.")
                    )
                    self.message_user(request, done, messages.SUCCESS)
                    return redirect(reverse("console:registration_line_change", args=[line.pk]))
        return self._line_page(
            request, line, form, "registration/admin/line_legal_hold.html", title, status
        )

    def get_urls(self):
        extra = [
            path(
                "<path:object_id>/close/",
                self.admin_site.admin_view(self.close_view),
                name="registration_line_close",
            ),
            path(
                "<path:object_id>/legal-hold/",
                self.admin_site.admin_view(self.legal_hold_view),
                name="registration_line_legal_hold",
            ),
        ]
        return extra + super().get_urls()


# Number inventory -------------------------------------------------------------


@admin.register(PhoneNumber, site=console)
class PhoneNumberAdmin(NumberLoadMixin, FindByNumberMixin, ReadOnlyScopedAdmin):
    """The inventory: head office reads it; operator admins add numbers (a
    block or a file: registration.console_inventory, the loader of
    ``load_numbers``), put available numbers to rest and give rested ones back."""

    list_display = [number_for_reading, "kind", "status", "quarantined_until", "updated_at"]
    list_select_related = ["operator"]
    list_filter = ["kind", "status"]
    search_fields = ["number"]
    search_help_text = gettext_lazy(
        "Up to six digits the number contains; a whole number through “Find by number”."
    )
    change_list_template = "registration/admin/phonenumber_change_list.html"
    find_title = gettext_lazy("Find a number in the inventory")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "find_url": reverse("console:registration_phonenumber_find"),
            "find_label": gettext("Find by number"),
        }
        return super().changelist_view(request, extra_context)

    def find_rows(self, request: HttpRequest, number: str, purpose: str) -> list:
        # The inventory shows no holder: a plain exact match, not a person look-up.
        return list(self.get_queryset(request).filter(number=number))

    fields = ["number", "kind", "status", "reserved_for", "quarantined_until", "updated_at"]
    readonly_fields = fields
    actions = ["quarantine_selected", "release_selected"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "console.access")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "inventory.manage")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        number = _as_e164(request, term) if term else None
        if number:
            return queryset.filter(number=number), False
        digits = "".join(ch for ch in term if ch.isdigit())
        if not term:
            return queryset, False
        return (queryset.filter(number__contains=digits) if digits else queryset.none()), False

    @admin.action(
        description=gettext_lazy("Quarantine the selected available numbers"),
        permissions=["manage"],
    )
    def quarantine_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        days = settings.TELEREG_QUARANTINE_DAYS
        changed, skipped = inventory.number_quarantine(numbers=queryset, days=days)
        self._report(
            request,
            gettext("Quarantined %(count)d number(s) for %(days)d days")
            % {"count": changed, "days": days},
            skipped,
        )

    @admin.action(
        description=gettext_lazy("Release the selected numbers from quarantine"),
        permissions=["manage"],
    )
    def release_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        changed, skipped = inventory.number_release(numbers=queryset)
        self._report(
            request,
            gettext("Released %(count)d number(s) from quarantine") % {"count": changed},
            skipped,
        )

    def _report(self, request: HttpRequest, done: str, skipped: int) -> None:
        if skipped:
            self.message_user(
                request,
                gettext(
                    "%(done)s; skipped %(skipped)d that were not in the right state "
                    "(reserved and assigned numbers are never touched)."
                )
                % {"done": done, "skipped": skipped},
                messages.WARNING,
            )
        else:
            self.message_user(request, f"{done}.", messages.SUCCESS)


# Service catalog ---------------------------------------------------------------


class ServiceForm(forms.ModelForm):
    line_kinds = forms.MultipleChoiceField(
        choices=LineKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The kinds of line this service can be added to."),
    )

    # Set by ServiceAdmin.get_form for tenants, whose form has no operator field.
    operator_for_unique_check: Operator | None = None

    class Meta:
        model = Service
        fields = ["operator", "code", "name", "line_kinds", "active"]

    def clean_line_kinds(self) -> list[str]:
        chosen = set(self.cleaned_data["line_kinds"])
        return [kind for kind in LineKind.values if kind in chosen]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        operator = self.operator_for_unique_check
        if operator is not None:
            taken = Service.objects.filter(operator=operator, code=code)
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                raise forms.ValidationError(
                    gettext("Your catalog already has a service with this code.")
                )
        return code


@admin.register(Service, site=console)
class ServiceAdmin(OperatorScopedAdmin):
    """The catalog of added service items: head office reads it, operator
    admins add and change entries (deactivate rather than delete)."""

    form = ServiceForm
    list_display = ["code", "name", "kinds", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "console.access")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "inventory.manage")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return can(request.user, "inventory.manage")

    def get_list_display(self, request: HttpRequest):
        if is_platform_admin(request.user):
            return ["code", "name", "operator", "kinds", "active"]
        return self.list_display

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs
    ):
        form = super().get_form(request, obj, change=change, **kwargs)
        staff = None if is_platform_admin(request.user) else staff_of(request.user)
        if staff is not None:
            form = type(form.__name__, (form,), {"operator_for_unique_check": staff.operator})
        return form

    @admin.display(description=gettext_lazy("line kinds"))
    def kinds(self, obj: Service) -> str:
        labels = dict(LineKind.choices)
        return ", ".join(str(labels.get(kind, kind)) for kind in obj.line_kinds)


# SIM swaps ------------------------------------------------------------------


class SimChangedWithinFilter(admin.SimpleListFilter):
    """How recent a SIM swap is; without a choice, the last 30 days."""

    title = gettext_lazy("SIM changed")
    parameter_name = "within"
    DEFAULT_DAYS = "30"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("1", gettext_lazy("In the last 24 hours")),
            ("7", gettext_lazy("In the last 7 days")),
            ("30", gettext_lazy("In the last 30 days")),
            ("all", gettext_lazy("At any time")),
        ]

    def value(self) -> str:
        chosen = super().value()
        return chosen if chosen in {"1", "7", "30", "all"} else self.DEFAULT_DAYS

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "all":
            return queryset
        since = timezone.now() - dt.timedelta(days=int(self.value()))
        return queryset.filter(changed_at__gte=since)


@admin.register(SimCard, site=console)
class SimChangeAdmin(ReadOnlyScopedAdmin):
    """Recent SIM swaps of the operator's lines (the classic way to take over
    an account): a SIM's last 4 digits only, never its identifier."""

    list_display = ["changed_at", "line_number", "line_kind", "kind", "last4", "store"]
    list_filter = [SimChangedWithinFilter, "kind"]
    list_select_related = ["line", "transaction__store"]
    fields = ["changed_at", "line_number", "kind", "last4", "store", "transaction_reference"]
    readonly_fields = fields
    ordering = ["-changed_at"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "line.lookup")

    def get_list_display(self, request: HttpRequest):
        columns = list(ScopedAdmin.get_list_display(self, request))
        return [*columns, "line__operator"] if is_platform_admin(request.user) else columns

    def get_list_filter(self, request: HttpRequest):
        filters = list(ScopedAdmin.get_list_filter(self, request))
        return [*filters, "line__operator"] if is_platform_admin(request.user) else filters

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Swaps only: a line's first SIM, given at its opening, is no change.
        return super().get_queryset(request).filter(changed_at__isnull=False)

    @admin.display(description=gettext_lazy("line"), ordering="line__number")
    def line_number(self, obj: SimCard) -> str:
        return phone_for_reading(obj.line.number)

    @admin.display(description=gettext_lazy("line kind"))
    def line_kind(self, obj: SimCard) -> str:
        return obj.line.get_kind_display()

    @admin.display(description=gettext_lazy("store"))
    def store(self, obj: SimCard) -> str:
        return obj.transaction.store.name

    @admin.display(description=gettext_lazy("transaction"))
    def transaction_reference(self, obj: SimCard) -> str:
        return obj.transaction.reference


@admin.register(PartnerCall, site=console)
class PartnerCallAdmin(ReadOnlyScopedAdmin):
    """The partners' calls to /api/camara/, read-only: who asked which
    endpoint about which number (masked; the digest finds every call about
    one number) and what it was told."""

    permission_prefix = "partner"
    list_display = ("created_at", "partner", "endpoint", "number_masked", "status_code")
    list_filter = ("endpoint", "status_code")
    list_select_related = ("partner",)
    search_fields = ("partner__name", "endpoint")
    fields = (
        "created_at",
        "partner",
        "endpoint",
        "number_masked",
        "number_digest",
        "status_code",
        "answer",
        "request_id",
    )
    readonly_fields = fields


from . import console_reviews  # noqa: E402, F401 - the portrait review queue's console page

# --- Organisations' lines with and without a recorded end user (issue 15) --------------------


class OrganisationLineFilter(admin.SimpleListFilter):
    title = gettext_lazy("organisation lines")
    parameter_name = "organisation_user"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("with_user", gettext_lazy("organisation's, with an end user")),
            ("without_user", gettext_lazy("organisation's, without an end user")),
            ("personal", gettext_lazy("a person's own")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "with_user":
            return queryset.filter(organisation__isnull=False, user__isnull=False)
        if value == "without_user":
            return queryset.filter(organisation__isnull=False, user__isnull=True)
        if value == "personal":
            return queryset.filter(organisation__isnull=True)
        return queryset


LineAdmin.list_filter = [*LineAdmin.list_filter, OrganisationLineFilter]
