"""Forms of the store pages. They parse and shape input only: every rule of an
identity document or a transaction is checked by the services, whose reasons
come back beside the field they are about."""

from __future__ import annotations

import datetime as dt
from typing import Any

import phonenumbers
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from identity import lookups
from identity import selectors as identity_selectors
from identity.models import NoticeLanguage, PrivacyNotice
from identity.types import IdentityData

from . import countries, numbers, sims
from .models import PhoneNumber, Service

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Document types whose number carries the birth date (characters 7 to 14) and
# the sex (the 17th digit, odd for men), GB 11643: the page's script fills
# both in from the number as the clerk types it; the server checks them anyway.
BIRTH_IN_NUMBER_TYPES = ("cn_resident_id",)
# The longest list of numbers the details step offers at once (the filter
# narrows it): a select of thousands helps nobody and costs every page.
NUMBERS_OFFERED = 200


class IdentityForm(forms.Form):
    """One identity block, with the field names of the API contract (the form
    is prefixed with the party: ``applicant``, ``holder`` or ``new_holder``)."""

    id_type = forms.ChoiceField(
        choices=identity_selectors.document_type_choices, label=gettext_lazy("Document type")
    )
    id_number = forms.CharField(max_length=40, label=gettext_lazy("Document number"))
    name = forms.CharField(max_length=100, label=gettext_lazy("Name as on the document"))
    date_of_birth = forms.DateField(label=gettext_lazy("Date of birth"), widget=DATE_INPUT)
    sex = forms.ChoiceField(
        choices=[("M", gettext_lazy("M (male)")), ("F", gettext_lazy("F (female)"))],
        label=gettext_lazy("Sex"),
        widget=forms.RadioSelect,
    )
    id_expiry = forms.DateField(
        required=False,
        label=gettext_lazy("Valid until"),
        widget=DATE_INPUT,
        help_text=gettext_lazy("Leave empty for a document valid for life."),
    )
    nationality = forms.ChoiceField(
        choices=lambda: [("", "—"), *countries.country_choices()],
        required=False,
        label=gettext_lazy("Nationality"),
        help_text=gettext_lazy("Required for foreign documents."),
    )
    address = forms.CharField(
        max_length=300,
        required=False,
        label=gettext_lazy("Address"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    language = forms.ChoiceField(
        choices=[("", "—"), *NoticeLanguage.choices],
        required=False,
        label=_("Language of notices"),
        help_text=_("The language the subscriber's notices are written in."),
    )

    def __init__(self, *args: Any, address_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "off")
        # The script watches these to fill birth date and sex from the number.
        self.fields["id_type"].widget.attrs["data-id-type"] = ""
        self.fields["id_number"].widget.attrs["data-id-number"] = ""
        self.fields["date_of_birth"].widget.attrs["data-birth-date"] = ""
        if address_required:
            # Shown as required; the document rules still decide.
            self.fields["address"].label = gettext("Address (required)")

    def to_identity(self) -> IdentityData:
        return IdentityData.from_mapping(self.cleaned_data)

    @staticmethod
    def initial_from(identity: IdentityData) -> dict[str, Any]:
        return {
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "name": identity.name,
            "date_of_birth": identity.date_of_birth,
            "sex": identity.sex,
            "id_expiry": identity.id_expiry,
            "nationality": identity.nationality or "",
            "address": identity.address or "",
            "language": identity.language or "",
        }


def identity_to_json(identity: IdentityData) -> dict[str, str | None]:
    return {
        "id_type": identity.id_type,
        "id_number": identity.id_number,
        "name": identity.name,
        "date_of_birth": identity.date_of_birth.isoformat(),
        "sex": identity.sex,
        "id_expiry": identity.id_expiry.isoformat() if identity.id_expiry else None,
        "nationality": identity.nationality,
        "address": identity.address,
        "language": identity.language,
    }


def identity_from_json(data: dict[str, str | None]) -> IdentityData:
    return IdentityData(
        id_type=data["id_type"] or "",
        id_number=data["id_number"] or "",
        name=data["name"] or "",
        date_of_birth=dt.date.fromisoformat(data["date_of_birth"] or ""),
        sex=data["sex"] or "",
        id_expiry=dt.date.fromisoformat(data["id_expiry"]) if data.get("id_expiry") else None,
        nationality=data.get("nationality"),
        address=data.get("address"),
        language=data.get("language"),
    )


class ConsentForm(forms.Form):
    """The subscriber read the notice and consents (or refuses: the view reads
    the button pressed)."""

    notice = forms.ChoiceField(
        label=gettext_lazy("Notice the subscriber read"), widget=forms.RadioSelect
    )
    consent = forms.BooleanField(
        required=False,
        label=gettext_lazy(
            "The subscriber has read the privacy notice above and consents to the "
            "collection and use of their personal information as it states."
        ),
    )

    def __init__(self, *args: Any, notices: list[PrivacyNotice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notice"].choices = [
            (
                n.content_hash,
                gettext("%(language)s · version %(version)s")
                % {"language": n.get_language_display(), "version": n.version},
            )
            for n in notices
        ]
        if notices:
            self.fields["notice"].initial = notices[0].content_hash
        if len(notices) == 1:
            self.fields["notice"].widget = forms.HiddenInput()

    def require_consent(self) -> bool:
        """Whether the box was ticked; adds the reason beside it when not."""
        if self.is_valid() and self.cleaned_data["consent"]:
            return True
        if self.is_bound and not self.errors.get("consent"):
            self.add_error(
                "consent",
                gettext(
                    "Tick the box once the subscriber has read the notice and consents, "
                    "or record their refusal."
                ),
            )
        return False


class NumberFilterForm(forms.Form):
    """The pattern filter of the number choice (a GET form: not personal)."""

    pattern = forms.CharField(
        max_length=16,
        required=False,
        label=gettext_lazy("Numbers containing"),
        help_text=gettext_lazy("Digits, e.g. 888 or 6688."),
    )


class DetailsForm(forms.Form):
    """The details of a transaction; which fields appear depends on the kind."""

    number = forms.CharField(
        required=False,
        label=gettext_lazy("Number"),
        widget=forms.Select(attrs={"data-number-picker": ""}),
        help_text=gettext_lazy("Or leave “any available number” to take the first free one."),
    )
    line = forms.CharField(max_length=20, label=gettext_lazy("Line number"))
    installation_address = forms.CharField(
        max_length=300,
        label=gettext_lazy("Installation address"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    service = forms.ChoiceField(label=gettext_lazy("Service"), widget=forms.RadioSelect)
    iccid = forms.CharField(
        required=False,
        max_length=40,
        label=gettext_lazy("SIM card number (ICCID)"),
        help_text=gettext_lazy("19 or 20 digits printed on the card, starting with 89."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    eid = forms.CharField(
        required=False,
        max_length=40,
        label=gettext_lazy("eSIM number (EID)"),
        help_text=gettext_lazy("For an eSIM instead: the device's 32-digit EID."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    stay_until = forms.DateField(
        required=False,
        label=gettext_lazy("End of stay"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("The last day of the visitor's visa or entry permit (YYYY-MM-DD)."),
    )

    ANY = ""

    def __init__(
        self,
        *args: Any,
        fields: set[str],
        country: str,
        line_kind: str | None = None,
        offered: QuerySet[PhoneNumber] | None = None,
        available: QuerySet[PhoneNumber] | None = None,
        services: QuerySet[Service] | None = None,
        sim_required: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sim_required = sim_required
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]
        self.country = country
        self.line_kind = line_kind
        self.available = available
        if "number" in self.fields:
            offered_numbers = [n.number for n in (offered if offered is not None else [])]
            selected = self.initial.get("number") or (self.data.get(self.add_prefix("number")))
            if selected and selected not in offered_numbers:
                offered_numbers.insert(0, selected)
            self.fields["number"].widget.choices = [
                (self.ANY, gettext("Any available number")),
                *number_groups(offered_numbers),
            ]
            self.fields["number"].initial = self.ANY
        if "service" in self.fields:
            self.fields["service"].choices = [
                (s.code, f"{s.name} ({', '.join(s.line_kinds)})")
                for s in (services if services is not None else [])
            ]

    def clean_number(self) -> str:
        number = self.cleaned_data.get("number") or ""
        if (
            number
            and self.available is not None
            and not self.available.filter(number=number).exists()
        ):
            raise forms.ValidationError(
                gettext("That number is no longer available: choose another.")
            )
        return number

    def clean_stay_until(self) -> str:
        """As ISO text: the wizard keeps its details in the (JSON) session."""
        day = self.cleaned_data.get("stay_until")
        return day.isoformat() if day else ""

    def clean_line(self) -> str:
        raw = self.cleaned_data["line"]
        try:
            return numbers.to_e164(raw, country=self.country, kind=self.line_kind)
        except numbers.InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        """The SIM fields as the service checks them (one of the two, well
        formed), each message beside its field."""
        cleaned = super().clean()
        if set(sims.SIM_FIELDS) <= set(self.fields):
            values = {name: cleaned.get(name) or None for name in sims.SIM_FIELDS}
            for name, reasons in sims.sim_errors(values, required=self.sim_required).items():
                for reason in reasons:
                    self.add_error(name, reason)
        return cleaned


def number_prefix(number: str) -> str:
    """The segment a number is grouped under: its national destination code
    (a mobile network's 138, a city's area code 10), by the numbering plan of
    the number's own country; the first three digits where the plan has none."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number[:4]
    national = phonenumbers.national_significant_number(parsed)
    return national[: phonenumbers.length_of_national_destination_code(parsed) or 3]


def number_groups(offered: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The numbers offered as ``<optgroup>``s by segment, in the order given."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for number in offered:
        groups.setdefault(number_prefix(number), []).append((number, number))
    return [
        (gettext("Numbers starting %(prefix)s") % {"prefix": prefix}, options)
        for prefix, options in groups.items()
    ]


class LineForm(forms.Form):
    """The line a kind on an open line names, asked at the identity step so
    that its holder is checked before consent and details."""

    line = forms.CharField(max_length=20, label=gettext_lazy("Line number"))

    def __init__(self, *args: Any, country: str, line_kind: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.country = country
        self.line_kind = line_kind
        self.fields["line"].widget.attrs.update({"autocomplete": "off", "inputmode": "tel"})

    def clean_stay_until(self) -> str:
        """As ISO text: the wizard keeps its details in the (JSON) session."""
        day = self.cleaned_data.get("stay_until")
        return day.isoformat() if day else ""

    def clean_line(self) -> str:
        try:
            return numbers.to_e164(
                self.cleaned_data["line"], country=self.country, kind=self.line_kind
            )
        except numbers.InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from None


def autofocus(forms_shown: list[forms.BaseForm]) -> None:
    """``autofocus`` on the first field in error, else on the first field
    shown: the clerk types at once, and after a refusal lands where to fix."""
    fields = [
        (form, name)
        for form in forms_shown
        for name, field in form.fields.items()
        if not field.widget.is_hidden
    ]
    in_error = [(form, name) for form, name in fields if form.is_bound and form.errors.get(name)]
    chosen = (in_error or fields or [None])[0]
    if chosen is not None:
        form, name = chosen
        form.fields[name].widget.attrs["autofocus"] = True


class LineLookupForm(forms.Form):
    number = forms.CharField(max_length=20, label=gettext_lazy("Line number"))
    purpose = forms.ChoiceField(
        choices=lookups.LOOKUP_PURPOSE_CHOICES,
        initial=lookups.DEFAULT_PURPOSE,
        required=False,
        label=gettext_lazy("Purpose (written to the access log)"),
    )

    def __init__(self, *args: Any, country: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country = country

    def clean_number(self) -> str:
        try:
            return numbers.to_e164(self.cleaned_data["number"], country=self.country)
        except numbers.InvalidNumber as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_purpose(self) -> str:
        return self.cleaned_data.get("purpose") or lookups.DEFAULT_PURPOSE
