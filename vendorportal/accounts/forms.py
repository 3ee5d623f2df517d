"""Forms of the team pages and of accepting an invitation. They check input only; the
rules (who may invite whom, which addresses are taken) live in `accounts.services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordMixin

from vendorportal.accounts.models import VENDOR_ROLES, Invitation, Role, User


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(
        label="Role",
        choices=[(role.value, role.label) for role in VENDOR_ROLES],
        initial=Role.VENDOR_USER,
        help_text="A vendor admin can also invite and deactivate colleagues.",
    )


class VendorMfaForm(forms.Form):
    mfa_required = forms.BooleanField(
        label="Require two-factor authentication for every login of the vendor",
        required=False,
        help_text="Logins without an authenticator app are asked to set one up next time.",
    )


class AcceptInvitationForm(SetPasswordMixin, forms.Form):
    """Name and password of the login an invitation makes, checked with Django's
    password validators (AUTH_PASSWORD_VALIDATORS) against the invited address."""

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, *args: Any, invitation: Invitation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean(self) -> dict[str, Any]:
        self.validate_passwords()
        data = super().clean() or {}
        provisional = User(
            email=self.invitation.email,
            username=self.invitation.email,
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
        )
        self.validate_password_for_user(provisional, "password1")  # errors beside it
        return data
