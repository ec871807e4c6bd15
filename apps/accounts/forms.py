"""Forms of the account pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from apps.accounts.services import normalise_code, user_password_reset_requested


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not (code.isdigit() and len(code) == 6) and not (code.isalnum() and len(code) == 8):
            raise forms.ValidationError(
                "Enter the 6-digit code your authenticator app shows, or one of your 8-character recovery codes."
            )
        return code


class AppCodeForm(CodeForm):
    """Only a code from the app: setting it up proves the app has the secret."""

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6-digit code your authenticator app shows.")
        return code


class PortalPasswordResetForm(PasswordResetForm):
    """Django's form (it tells nobody whether an address has an account, and skips accounts with
    no usable password, such as single sign-on ones); each email sent is audited."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        user_password_reset_requested(user=context["user"])
        super().send_mail(
            subject_template_name,
            email_template_name,
            context,
            from_email,
            to_email,
            html_email_template_name,
        )
