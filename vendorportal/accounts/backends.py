"""Authentication backends: Django's and allauth's, loading the login's vendor with it.

Every page shows the vendor's name in its top bar, so the vendor would otherwise cost a
second query on every request, right after the one loading the user.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import backends

from vendorportal.accounts.models import User


class _LoadsVendor(backends.ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        try:
            user = User.objects.select_related("vendor").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class ModelBackend(_LoadsVendor):
    """Django's username-and-password backend (command-line and test logins)."""


class AccountBackend(_LoadsVendor, AllauthBackend):
    """allauth's backend: the login form, by e-mail."""
