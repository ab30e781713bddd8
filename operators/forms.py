from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .selectors import store_suspended_for


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The username or password is not correct. "
            "After 5 failed attempts the account is locked."
        ),
        "store_suspended": _(
            "Your store is suspended: its staff cannot sign in. Ask your compliance office."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        # A suspended or blacklisted store's staff do not sign in at all.
        if store_suspended_for(user):
            raise forms.ValidationError(
                self.error_messages["store_suspended"], code="store_suspended"
            )


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
