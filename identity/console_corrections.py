"""A correction request's page in the console: the values held and proposed
side by side (masked; in clear only through the audited reveal), and the
decision as two buttons with a note. The rules are the services': who may
reveal, the four-eyes rule, deciding once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from .models import CorrectionRequest

APPROVE, REFUSE = "approve", "refuse"
NOTE_MAX_LENGTH = 300


class CorrectionDecisionForm(forms.Form):
    """Approve or refuse, with a note (required to refuse: the subject is
    told why nothing changed)."""

    decision = forms.ChoiceField(
        choices=[(APPROVE, gettext_lazy("Approve")), (REFUSE, gettext_lazy("Refuse"))],
        widget=forms.HiddenInput,
    )
    note = forms.CharField(
        label=gettext_lazy("Note on the decision"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Kept with the decision. Say why when you refuse."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == REFUSE and not (cleaned.get("note") or "").strip():
            self.add_error("note", gettext("Say why the correction is refused."))
        return cleaned


class CorrectionRevealForm(forms.Form):
    """Why the officer needs the values in clear: written to the access log."""

    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        min_length=5,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Why you need to see the data. Recorded in the access log with your name."
        ),
    )


def decided_text(correction: CorrectionRequest) -> str:
    """Who decided a correction and how, in the reader's language."""
    if correction.decided_by_id is None:
        return ""
    return gettext("%(status)s by %(who)s") % {
        "status": correction.get_status_display(),
        "who": correction.decided_by.get_username(),
    }
