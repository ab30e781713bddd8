"""The CSV exports of registration's console lists (identity.exports): the
transactions and the lines, masked. Numbers and holders go through identity's
masking selectors; codes are written as their labels in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from identity import selectors as identity_selectors
from identity.exports import CsvExport, ExportColumn

from . import selectors
from .models import Line, Transaction, line_status_reason_label


def _transaction_number(tx: Transaction) -> str:
    return identity_selectors.phone_masked(tx.line.number if tx.line_id else tx.number)


def _transaction_holder(tx: Transaction) -> str:
    if not tx.line_id:
        return ""
    return selectors.line_masked_holder(tx.line)["name"] or ""


def _line_holder(line: Line) -> str:
    return selectors.line_masked_holder(line)["name"] or ""


TRANSACTIONS = CsvExport(
    name="transactions",
    select_related=("store", "staff", "line__holder"),
    columns=(
        ExportColumn(gettext_lazy("reference"), lambda tx: tx.reference),
        ExportColumn(gettext_lazy("kind"), lambda tx: tx.get_kind_display()),
        ExportColumn(gettext_lazy("state"), lambda tx: tx.get_state_display()),
        ExportColumn(gettext_lazy("store"), lambda tx: tx.store.name),
        ExportColumn(gettext_lazy("staff member"), lambda tx: tx.staff.get_username()),
        ExportColumn(gettext_lazy("number (masked)"), _transaction_number),
        ExportColumn(gettext_lazy("holder (masked)"), _transaction_holder),
        ExportColumn(gettext_lazy("created at"), lambda tx: tx.created_at),
        ExportColumn(gettext_lazy("refusal message"), lambda tx: tx.refusal_message),
    ),
)

LINES = CsvExport(
    name="lines",
    select_related=("store", "holder"),
    columns=(
        ExportColumn(
            gettext_lazy("number (masked)"),
            lambda line: identity_selectors.phone_masked(line.number),
        ),
        ExportColumn(gettext_lazy("kind"), lambda line: line.get_kind_display()),
        ExportColumn(gettext_lazy("status"), lambda line: line.get_status_display()),
        ExportColumn(
            gettext_lazy("status reason"), lambda line: line_status_reason_label(line.status_reason)
        ),
        ExportColumn(gettext_lazy("store"), lambda line: line.store.name if line.store_id else ""),
        ExportColumn(gettext_lazy("holder (masked)"), _line_holder),
        ExportColumn(gettext_lazy("registered at"), lambda line: line.registered_at),
    ),
)
