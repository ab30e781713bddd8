"""The personal-data fields as people read them: the access log names the
fields an entry read (``AccessLogEntry.fields`` holds their codes), and the
console and its CSV export show them by these labels, in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy

FIELD_LABELS = {
    "name": gettext_lazy("Full name"),
    "id_number": gettext_lazy("Document number"),
    "date_of_birth": gettext_lazy("Date of birth"),
    "sex": gettext_lazy("Sex"),
    "id_expiry": gettext_lazy("Document expiry date"),
    "nationality": gettext_lazy("Nationality"),
    "address": gettext_lazy("Address"),
    "installation_address": gettext_lazy("Installation address"),
    "language": gettext_lazy("Language of notices"),
}


def fields_label(fields: Iterable[str]) -> str:
    """The fields' labels, comma-separated ("Full name, Document number");
    a field without a label keeps its name rather than vanish."""
    return ", ".join(str(FIELD_LABELS.get(field, field)) for field in fields)
