"""CSV exports of the console's masked lists (transactions, lines, campaigns'
requests, the access log).

An export is a read of many rows at once, so it is logged like one: before
the first byte leaves, :func:`export_log` appends one access-log entry per
operator whose rows are exported (purpose ``export``, the list's name and the
row count; never a value). The file holds masked values only (each list's
columns call identity's masking selectors), headers in the reader's
language, and every cell that a spreadsheet would read as a formula
(``= + - @``, tab, carriage return) is prefixed with ``'`` (OWASP's advice on
CSV injection). Rows are streamed (``StreamingHttpResponse`` over a
server-side cursor), so a list of a million lines costs no memory.

Admins opt in with :class:`CsvExportMixin` and a :class:`CsvExport` spec;
who may export is ``console.export`` in :mod:`operators.roles` on top of
seeing the list."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from operators.models import Operator
from operators.tenancy import can, staff_of

from . import access_log
from .field_labels import fields_label
from .models import AccessLogEntry, AccessPurpose

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.utils.functional import Promise

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000


def csv_safe(value: Any) -> str:
    """A cell as text that no spreadsheet runs: a leading formula character
    gets a ``'`` before it. Dates and times are written in the operator's
    time zone (``2026-12-01 14:05``), None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class ExportColumn:
    """One column: its header (translated) and how a row gives its value
    (already masked: a column never holds a value in clear)."""

    header: str | Promise
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class CsvExport:
    """What one list exports. ``rows`` turns the selected rows of the
    changelist into the rows of the file (a campaign's requests from the
    campaigns selected); ``operator_path`` is how a row names its operator,
    for the access-log entries."""

    name: str
    columns: Sequence[ExportColumn]
    rows: Callable[[QuerySet], QuerySet] | None = None
    operator_path: str = "operator"
    select_related: Sequence[str] = field(default_factory=tuple)
    # The action's text in the changelist, when it is not the rows selected.
    label: str | Promise | None = None


class _Echo:
    """A file-like object whose write() hands back the line: csv.writer's
    output, one row at a time, for the streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    *, columns: Sequence[ExportColumn], rows: Iterable[Any], language: str | None = None
) -> Iterator[str]:
    """The file, one line at a time: a byte-order mark (so spreadsheets read
    Chinese as UTF-8), the headers, then one line per row. Streamed after the
    view has returned, so it names the language its texts are written in."""
    writer = csv.writer(_Echo())
    with translation.override(language or translation.get_language()):
        yield "\ufeff"
        yield writer.writerow([csv_safe(str(column.header)) for column in columns])
        for row in rows:
            yield writer.writerow([csv_safe(column.value(row)) for column in columns])


@transaction.atomic
def export_log(
    *, actor: AbstractBaseUser, rows: QuerySet, list_name: str, operator_path: str = "operator"
) -> int:
    """Write the export to the access log before it is sent: one entry per
    operator among ``rows`` (one aggregate query), with the list's name and
    its row count; a tenant's empty export is logged too. Returns the rows
    counted. Nothing personal is written, only counts."""
    per_operator = dict(
        rows.order_by()
        .values_list(operator_path)
        .annotate(n=Count("pk"))
        .values_list(operator_path, "n")
    )
    staff = staff_of(actor)
    if staff is not None:
        per_operator.setdefault(staff.operator_id, 0)
    operators = Operator.objects.in_bulk(list(per_operator))
    store = staff.store if staff is not None else None
    for operator_id, count in sorted(per_operator.items()):
        access_log.append(
            operator=operators[operator_id],
            actor=actor,
            purpose=AccessPurpose.EXPORT,
            store=store,
            reason=f"CSV export of {list_name}",
            detail={"list": list_name, "rows": count, "masked": True},
        )
    return sum(per_operator.values())


def csv_response(
    *, actor: AbstractBaseUser, spec: CsvExport, rows: QuerySet
) -> StreamingHttpResponse:
    """Log the export (:func:`export_log`), then stream it as an attachment
    that no cache keeps."""
    rows = rows.select_related(*spec.select_related) if spec.select_related else rows
    export_log(actor=actor, rows=rows, list_name=spec.name, operator_path=spec.operator_path)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        csv_lines(
            columns=spec.columns,
            rows=rows.iterator(chunk_size=CHUNK_ROWS),
            language=translation.get_language(),
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{spec.name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class CsvExportMixin:
    """A ModelAdmin whose changelist offers "Export as CSV" to whoever may
    export (``console.export``) and may see the list. Select rows, or "select
    all" to export the whole filtered list."""

    csv_export: CsvExport | None = None

    def has_export_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "console.export") and self.has_view_permission(request)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        if actions is not None and self.csv_export is not None:
            if self.has_export_permission(request):
                action = type(self).export_csv
                label = self.csv_export.label or action.short_description
                actions["export_csv"] = (action, "export_csv", label)
        return actions

    @admin.action(description=gettext_lazy("Export as CSV (masked; the export is logged)"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        if self.csv_export is None or not self.has_export_permission(request):
            # The action list already leaves it out; a forged POST gets nothing either.
            raise PermissionDenied
        spec = self.csv_export
        rows = spec.rows(queryset) if spec.rows is not None else queryset
        return csv_response(actor=request.user, spec=spec, rows=rows)


def _access_person(entry: AccessLogEntry) -> str:
    return str(entry.person.uid) if entry.person_id else ""


ACCESS_LOG = CsvExport(
    name="access-log",
    select_related=("store", "person"),
    columns=(
        ExportColumn(gettext_lazy("created at"), lambda entry: entry.created_at),
        ExportColumn(gettext_lazy("actor"), lambda entry: entry.actor_label),
        ExportColumn(gettext_lazy("purpose"), lambda entry: entry.get_purpose_display()),
        ExportColumn(gettext_lazy("person"), _access_person),
        ExportColumn(gettext_lazy("fields"), lambda entry: fields_label(entry.fields)),
        ExportColumn(
            gettext_lazy("store"), lambda entry: entry.store.name if entry.store_id else ""
        ),
        ExportColumn(gettext_lazy("reason"), lambda entry: entry.reason),
        ExportColumn(gettext_lazy("request id"), lambda entry: entry.request_id),
    ),
)
