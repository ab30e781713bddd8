"""The campaign form of the console: typed fields instead of JSON text boxes.

Each widget turns what a compliance officer ticks or types into exactly the
JSON the API takes (``criteria``, ``reminder_days``, ``channels``); the rules
stay the service's (``campaigns.campaign_input_check``), whose errors are put
back beside the field they concern. A campaign defined here and the same one
posted to the API are stored alike."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.api import DomainError
from notices import channels
from operators.models import Operator
from registration.models import LineKind

from . import campaigns
from .models import Campaign

ANY = "any"
OLDER = "older"
REMINDER_DAYS_TEXT_MAX = 80


class ReminderDaysField(forms.CharField):
    """Days before the deadline as typed, "14, 7, 2", to a list of whole
    numbers; bounded here (length, count, each 1…365, each once) so nothing
    unbounded reaches the service."""

    default_error_messages = {
        "invalid": _("Whole days separated by commas, e.g. 14, 7, 2."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", REMINDER_DAYS_TEXT_MAX)
        kwargs.setdefault(
            "help_text",
            _("Days before the deadline on which a reminder goes out, e.g. 14, 7, 2."),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[int]:
        text = super().to_python(value)
        if not text:
            return []
        parts = [part for part in re.split(r"[\s,，、;；]+", text) if part]
        if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return [int(part) for part in parts]

    def validate(self, value: list[int]) -> None:
        super().validate(value)
        if value and (reason := campaigns.reminder_days_check(value)):
            raise forms.ValidationError(reason, code="invalid")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(day) for day in value)
        return value


class ChannelOrderWidget(forms.MultiWidget):
    """One select per place in the order of preference, each with its own
    label ("1st choice"…), so the order is kept without any script."""

    template_name = "reverification/widgets/channel_order.html"

    def __init__(self, count: int, choices: list[tuple[str, str]]) -> None:
        super().__init__([forms.Select(choices=choices) for _ in range(count)])

    def decompress(self, value: Any) -> list[str | None]:
        names = list(value or [])
        return [*names, *[None] * (len(self.widgets) - len(names))][: len(self.widgets)]

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        for place, subwidget in enumerate(context["widget"]["subwidgets"], start=1):
            subwidget["place"] = place_label(place)
        return context


def place_label(place: int) -> str:
    """The label of the ``place``-th select of the channel order."""
    if place == 1:
        return gettext("First choice")
    return gettext("Then, if it cannot be sent (choice %(place)s)") % {"place": place}


class ChannelOrderField(forms.MultiValueField):
    """The registered channels in order of preference, by their labels; an
    unknown name is refused by each select, a channel named twice by the field."""

    def __init__(self, **kwargs: Any) -> None:
        options = channels.choices()
        choices = [("", "—"), *options]
        fields = [forms.ChoiceField(choices=choices, required=False) for _ in options]
        super().__init__(
            fields=fields,
            widget=ChannelOrderWidget(len(options), choices),
            require_all_fields=False,
            **kwargs,
        )

    def compress(self, data_list: list[str]) -> list[str]:
        chosen = [name for name in data_list if name]
        if len(set(chosen)) != len(chosen):
            raise forms.ValidationError(gettext("Choose each channel once."), code="duplicate")
        return chosen


# The service's error fields → the form field beside which its reason is shown.
ERROR_FIELDS = {
    "criteria": "line_kinds",
    "criteria.line_kind": "line_kinds",
    "criteria.holder_verification": "holder_verification",
    "criteria.registered_before": "registered_before",
    "criteria.document_expiring_within_days": "document_expiring_within_days",
    "criteria.stores": "stores",
    "criteria.regions": "regions",
}


def verification_choices() -> list[tuple[str, str]]:
    return [
        (ANY, gettext("Any holder")),
        ("never", gettext("Holder never verified")),
        ("failed", gettext("Holder's last verification failed")),
        (OLDER, gettext("Holder not verified within the number of days below")),
    ]


class CampaignForm(forms.ModelForm):
    """The campaign body of the API, as typed fields; rules are the service's."""

    line_kinds = forms.MultipleChoiceField(
        label=_("Kinds of line"),
        choices=LineKind.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of line.")},
    )
    holder_verification = forms.ChoiceField(
        label=_("Holder's verification"),
        choices=verification_choices,
        widget=forms.RadioSelect,
        initial=ANY,
    )
    older_than_days = forms.IntegerField(
        label=_("Not verified within (days)"),
        required=False,
        min_value=1,
        max_value=campaigns.OLDER_THAN_DAYS_MAX,
    )
    registered_before = forms.DateField(
        label=_("Registered before"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("Only lines registered before this day; leave empty for any date."),
    )
    document_expiring_within_days = forms.IntegerField(
        label=_("Holder's document expires within (days)"),
        required=False,
        min_value=0,
        max_value=campaigns.DOCUMENT_EXPIRING_DAYS_MAX,
        help_text=_("Only holders whose document expires within this many days, or has expired."),
    )
    stores = forms.MultipleChoiceField(
        label=_("Stores"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only lines registered at these stores; none ticked: every store."),
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only lines of stores in these regions; none ticked: every region."),
    )
    reminder_days = ReminderDaysField(label=_("Reminder days"))
    channels = ChannelOrderField(
        label=_("Channels"),
        help_text=_("Notices go out through the first choice; the next is tried if it fails."),
    )

    class Meta:
        model = Campaign
        fields = ["name", "deadline", "notice_text_zh", "notice_text_en"]
        labels = {
            "name": _("Campaign name"),
            "deadline": _("Deadline"),
            "notice_text_zh": _("Notice text (Chinese)"),
            "notice_text_en": _("Notice text (English)"),
        }
        widgets = {"deadline": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})}
        help_texts = {
            "notice_text_zh": _("Placeholders: {operator} {number} {deadline} {link}"),
            "notice_text_en": _("Placeholders: {operator} {number} {deadline} {link}"),
        }

    operator: Operator | None = None  # set by CampaignAdmin.get_form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stores"].choices = self._store_choices()
        self.fields["regions"].choices = self._region_choices()
        if self.instance.pk:
            self.initial.update(criteria_initial(self.instance))
        else:
            self.initial.setdefault("line_kinds", list(LineKind.values))
            self.initial.setdefault("reminder_days", [14, 7, 2])
            self.initial.setdefault("channels", list(channels.names()[:1]))

    def _store_choices(self) -> list[tuple[str, str]]:
        if self.operator is None:
            return []
        stores = self.operator.stores.order_by("code").values_list("code", "name")
        return [(code, f"{name} ({code})") for code, name in stores]

    def _region_choices(self) -> list[tuple[str, str]]:
        if self.operator is None:
            return []
        codes = self.operator.stores.order_by("region_code").values_list("region_code", flat=True)
        return [(code, code) for code in dict.fromkeys(codes) if code]

    def criteria(self) -> dict[str, Any]:
        """The criteria as the API takes them, from the typed fields."""
        data = self.cleaned_data
        kinds = data.get("line_kinds") or []
        criteria: dict[str, Any] = {"line_kind": kinds[0] if len(kinds) == 1 else ANY}
        verification = data.get("holder_verification") or ANY
        criteria["holder_verification"] = (
            {"older_than_days": data.get("older_than_days")}
            if verification == OLDER
            else verification
        )
        if data.get("registered_before"):
            criteria["registered_before"] = data["registered_before"].isoformat()
        if data.get("document_expiring_within_days") is not None:
            criteria["document_expiring_within_days"] = data["document_expiring_within_days"]
        for key in ("stores", "regions"):
            if data.get(key):
                criteria[key] = list(data[key])
        return criteria

    def campaign_input(self) -> campaigns.CampaignInput:
        data = self.cleaned_data
        return campaigns.CampaignInput(
            name=data.get("name") or "",
            criteria=self.criteria(),
            deadline=data.get("deadline"),
            reminder_days=data.get("reminder_days") or [],
            channels=data.get("channels") or [],
            notice_text_zh=data.get("notice_text_zh") or "",
            notice_text_en=data.get("notice_text_en") or "",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("holder_verification") == OLDER and not cleaned.get("older_than_days"):
            if "older_than_days" not in self.errors:
                self.add_error("older_than_days", gettext("Say how many days."))
        if self.operator is None:
            # A platform admin belongs to no operator: campaigns are the operators' own.
            raise forms.ValidationError(gettext("Campaigns belong to an operator's staff."))
        # The service's rules run even when a widget refused its input, so that
        # every field's reason shows at once; a field already refused keeps its own.
        try:
            campaigns.campaign_input_check(operator=self.operator, data=self.campaign_input())
        except DomainError as exc:
            for field, reasons in exc.fields.items():
                name = ERROR_FIELDS.get(field, field)
                if name == "holder_verification" and cleaned.get(name) == OLDER:
                    name = "older_than_days"  # the number of days is what is wrong
                if name not in self.errors:
                    self.add_error(name if name in self.fields else None, reasons)
        return cleaned


def criteria_initial(campaign: Campaign) -> dict[str, Any]:
    """A stored campaign's JSON as the typed fields' initial values."""
    criteria = campaign.criteria or {}
    kind = criteria.get("line_kind", ANY)
    verification = criteria.get("holder_verification", ANY)
    older = isinstance(verification, dict)
    return {
        "line_kinds": list(LineKind.values) if kind == ANY else [kind],
        "holder_verification": OLDER if older else verification,
        "older_than_days": verification.get("older_than_days") if older else None,
        "registered_before": criteria.get("registered_before"),
        "document_expiring_within_days": criteria.get("document_expiring_within_days"),
        "stores": criteria.get("stores", []),
        "regions": criteria.get("regions", []),
        "reminder_days": campaign.reminder_days,
        "channels": campaign.channels,
    }


def criteria_summary(criteria: dict[str, Any]) -> list[str]:
    """A campaign's criteria as sentences in the reader's language (the
    read-only page of a launched campaign), never its codes."""
    kind = criteria.get("line_kind", ANY)
    lines = [
        gettext("Kinds of line: %(kinds)s")
        % {
            "kinds": gettext("any")
            if kind == ANY
            else str(dict(LineKind.choices).get(kind, gettext("unknown")))
        }
    ]
    verification = criteria.get("holder_verification", ANY)
    if isinstance(verification, dict):
        lines.append(
            gettext("Holder not verified within %(days)s days")
            % {"days": verification.get("older_than_days")}
        )
    else:
        labels = dict(verification_choices())
        lines.append(str(labels.get(verification, gettext("unknown"))))
    if criteria.get("registered_before"):
        lines.append(gettext("Registered before %(day)s") % {"day": criteria["registered_before"]})
    if criteria.get("document_expiring_within_days") is not None:
        lines.append(
            gettext("Holder's document expires within %(days)s days")
            % {"days": criteria["document_expiring_within_days"]}
        )
    if criteria.get("stores"):
        lines.append(gettext("Stores: %(codes)s") % {"codes": ", ".join(criteria["stores"])})
    if criteria.get("regions"):
        lines.append(gettext("Regions: %(codes)s") % {"codes": ", ".join(criteria["regions"])})
    return lines


def channels_summary(names: list[str]) -> str:
    """The channels of a campaign by their labels, in order."""
    labels = dict(channels.choices())
    return " → ".join(str(labels.get(name, gettext("unknown"))) for name in names)
