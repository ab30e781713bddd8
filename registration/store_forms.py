"""Forms of the store pages added for the counter's follow-up work: the
transactions list's filters and a subscriber's correction request. They parse
input only; the rules are the services' (identity.services for corrections)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from identity.services import CANNOT_BE_CORRECTED, CORRECTABLE_FIELDS

from . import kinds
from .models import TransactionState
from .selectors import TransactionFilter

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
REFERENCE_MAX_LENGTH = 32  # Transaction.reference's column

# The labels of the fields a correction may change, in the reader's language.
CORRECTABLE_LABELS = {
    "name": gettext_lazy("Name as on the document"),
    "date_of_birth": gettext_lazy("Date of birth"),
    "sex": gettext_lazy("Sex"),
    "id_expiry": gettext_lazy("Valid until"),
    "nationality": gettext_lazy("Nationality"),
    "address": gettext_lazy("Address"),
}


def _with_any(choices: list[tuple[str, object]]) -> list[tuple[str, object]]:
    return [("", gettext_lazy("Any")), *choices]


class TransactionFilterForm(forms.Form):
    """The transactions list's GET form: every field optional; what is given
    must be a known kind or state, real dates in order, a short reference."""

    reference = forms.CharField(
        max_length=REFERENCE_MAX_LENGTH, required=False, label=gettext_lazy("Reference")
    )
    kind = forms.ChoiceField(required=False, label=gettext_lazy("Transaction"))
    state = forms.ChoiceField(required=False, label=gettext_lazy("State"))
    date_from = forms.DateField(required=False, label=gettext_lazy("From"), widget=DATE_INPUT)
    date_to = forms.DateField(required=False, label=gettext_lazy("To"), widget=DATE_INPUT)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _with_any(kinds.choices())
        self.fields["state"].choices = _with_any(list(TransactionState.choices))

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext_lazy("The end date is before the start date."))
        return data

    def criteria(self) -> TransactionFilter:
        """The filter the valid form asks for (nothing narrowed when invalid:
        the errors are shown beside the fields and the list is not filtered
        by half a question)."""
        if not self.is_valid():
            return TransactionFilter()
        data = self.cleaned_data
        return TransactionFilter(
            kind=data["kind"],
            state=data["state"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            reference=data["reference"].strip(),
        )


class CorrectionForm(forms.Form):
    """A subscriber's correction request as the clerk writes it: one field of
    those the identity service lets be corrected, its new value, and why."""

    field = forms.ChoiceField(
        label=gettext_lazy("Field to correct"),
        error_messages={"invalid_choice": CANNOT_BE_CORRECTED},
    )
    value = forms.CharField(
        max_length=300,
        label=gettext_lazy("Corrected value"),
        help_text=gettext_lazy(
            "As on the document. Dates as YYYY-MM-DD; sex as M or F; "
            "nationality as a three-letter country code (CHN)."
        ),
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        label=gettext_lazy("Note for the compliance officer"),
        help_text=gettext_lazy("Why the subscriber asks; the values go above, not here."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [
            (name, CORRECTABLE_LABELS.get(name, name)) for name in CORRECTABLE_FIELDS
        ]

    def values(self) -> dict[str, str | None]:
        """The correction as identity.services.correction_request_create takes it."""
        return {self.cleaned_data["field"]: self.cleaned_data["value"].strip()}
