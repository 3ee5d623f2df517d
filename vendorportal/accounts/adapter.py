"""django-allauth hooks: logins are provisioned (by an administrator, a command or an
invitation), never by public sign-up; the username mirrors the e-mail address."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter  # type: ignore[import-untyped,unused-ignore]
from django.http import HttpRequest

from vendorportal.core.client_address import client_address


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's rate limits count per address: the one rule (core/client_address.py).
        return client_address(request) or "unknown"

    def populate_username(self, request: HttpRequest, user: Any) -> None:
        user.username = user.email
