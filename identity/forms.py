from django import forms
from django.utils.translation import gettext_lazy

from operators.models import Operator

from .documents import ID_TYPE_CHOICES
from .lookups import DEFAULT_PURPOSE, LOOKUP_PURPOSE_CHOICES
from .models import AccessPurpose


class RevealForm(forms.Form):
    purpose = forms.ChoiceField(
        choices=AccessPurpose.choices, initial=AccessPurpose.COMPLIANCE_REVIEW
    )
    reason = forms.CharField(
        max_length=300,
        min_length=5,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Why you need to see the data. Recorded in the access log with your name."
        ),
    )

    def __init__(self, *args, purpose_fixed: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if purpose_fixed:
            del self.fields["purpose"]


class PersonFindForm(forms.Form):
    """Find a person by document in the console: POSTed, never in a URL."""

    id_type = forms.ChoiceField(label=gettext_lazy("Document type"))
    id_number = forms.CharField(
        max_length=40,
        label=gettext_lazy("Document number"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose (written to the access log)"))

    def __init__(self, *args, ask_operator: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["id_type"].choices = ID_TYPE_CHOICES
        self.fields["purpose"].choices = LOOKUP_PURPOSE_CHOICES
        self.fields["purpose"].initial = DEFAULT_PURPOSE
        if ask_operator:  # a platform admin without a staff profile says whose persons
            self.fields["operator"] = forms.ModelChoiceField(
                queryset=Operator.objects.order_by("code"), label=gettext_lazy("Operator")
            )
