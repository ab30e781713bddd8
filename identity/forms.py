from django import forms

from .models import AccessPurpose


class RevealForm(forms.Form):
    purpose = forms.ChoiceField(
        choices=AccessPurpose.choices, initial=AccessPurpose.COMPLIANCE_REVIEW
    )
    reason = forms.CharField(
        max_length=300,
        min_length=5,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why you need to see the data. Recorded in the access log with your name.",
    )

    def __init__(self, *args, purpose_fixed: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if purpose_fixed:
            del self.fields["purpose"]
