"""The regulator's figures in the console (*Console → Regulator report*):
a period, the figures of reverification.reports as labelled tables, and the
same as a CSV file. Counts only; compliance officers and operator admins."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from operators.admin import console
from operators.tenancy import can, staff_of
from operators.timezones import zone_of
from registration.models import AuthorityType, LineStatus, TransactionKind, TransactionState

from . import reports
from .models import DisputeState


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("First day"))
    end = forms.DateField(label=gettext_lazy("Last day"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            if day and not reports.MIN_YEAR <= day.year <= reports.MAX_YEAR:
                self.add_error(name, gettext("The date is out of range."))
        if start and end and start > end:
            self.add_error("end", gettext("The last day comes before the first."))
        return data


def _labelled(counts: dict[str, int], choices) -> list[tuple[str, int]]:
    labels = dict(choices)
    return [(str(labels.get(code, code)), n) for code, n in counts.items()]


class Code(str):
    """A code shown as it is stored (a store's code, a refusal code): marked
    in the page as no language's text."""


def _codes(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(Code(code or "—"), n) for code, n in counts.items()]


def report_tables(report: dict) -> list[tuple[str, list[tuple[str, int, bool]]]]:
    """The report as (title, [(label, count, is_code)]) tables, in the
    reader's language (codes as they are stored)."""
    return [
        (title, [(label, n, isinstance(label, Code)) for label, n in rows])
        for title, rows in _tables(report)
    ]


def _tables(report: dict) -> list[tuple[str, list[tuple[str, int]]]]:
    tx, lines, rv = report["transactions"], report["lines"], report["reverification"]
    disclosed = report["disclosures"]
    return [
        (
            gettext("Transactions, by kind"),
            [*_labelled(tx["by_kind"], TransactionKind.choices), (gettext("Total"), tx["total"])],
        ),
        (gettext("Transactions, by state"), _labelled(tx["by_state"], TransactionState.choices)),
        (gettext("Transactions, by store"), _codes(tx["by_store"])),
        (gettext("Refused transactions, by refusal code"), _codes(tx["by_refusal_code"])),
        (
            gettext("Lines"),
            [(gettext("Opened"), lines["opened"]), (gettext("Closed"), lines["closed"])],
        ),
        (
            gettext("Lines opened, by status now"),
            _labelled(lines["opened_by_status"], LineStatus.choices),
        ),
        (
            gettext("Re-verification"),
            [
                (gettext("Requests sent"), rv["sent"]),
                (gettext("Verified"), rv["verified"]),
                (gettext("Barred at the deadline"), rv["barred"]),
                (gettext("Suspended (still suspended)"), rv["suspended"]),
                (gettext("Restored after expiry"), rv["restored"]),
            ],
        ),
        (
            gettext("Disputes opened, by state now"),
            _labelled(report["disputes"]["by_state"], DisputeState.choices),
        ),
        (
            gettext("Disclosure requests"),
            [
                (gettext("Requested"), disclosed["requested"]),
                (gettext("Approved"), disclosed["approved"]),
                (gettext("Refused"), disclosed["refused"]),
                (gettext("Released"), disclosed["released"]),
            ],
        ),
        (
            gettext("Disclosure requests, by type of authority"),
            [
                (str(label), disclosed["by_authority_type"][code]["requested"])
                for code, label in AuthorityType.choices
            ],
        ),
    ]


def registrations_report_view(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "report.view"):
        raise PermissionDenied
    staff = staff_of(request.user)
    if staff is None:
        raise Http404  # platform admins read it through the API, per operator
    operator = staff.operator
    today = timezone.localtime(timezone.now(), zone_of(operator)).date()
    form = PeriodForm(request.GET or {"start": today.replace(day=1), "end": today})
    report, status = None, 200
    if form.is_valid():
        period = reports.Period.of(operator, form.cleaned_data["start"], form.cleaned_data["end"])
        report = reports.registrations_report(operator=operator, period=period)
        if request.GET.get("format") == "csv":
            response = HttpResponse(reports.report_csv(report), content_type="text/csv")
            name = f"registrations-{operator.code}-{period.start}-{period.end}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    else:
        status = 400
    response = TemplateResponse(
        request,
        "reverification/admin/registrations_report.html",
        {
            **console.each_context(request),
            "title": gettext("Regulator report: registrations"),
            "form": form,
            "report": report,
            "tables": report_tables(report) if report else [],
            "csv_query": (
                f"start={report['from']}&end={report['to']}&format=csv" if report else ""
            ),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


console.page_register("reports/registrations/", registrations_report_view, "reports_registrations")
