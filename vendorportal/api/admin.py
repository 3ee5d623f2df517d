"""API tokens in the back office: administrators make integration tokens (or a vendor's),
see every token (never a secret) and revoke them, all through `api.tokens`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from vendorportal.accounts.models import User
from vendorportal.api import tokens
from vendorportal.api.models import ApiToken
from vendorportal.errors import DomainError
from vendorportal.purchasing.admin import BackOfficeAdmin, acting_user
from vendorportal.purchasing.models import Vendor
from vendorportal.web.errors import add_domain_error


class TokenAdminForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “ERP sync”.")
    read_only = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: querysets at import time would run outside any scope.
        self.fields["vendor"] = forms.ModelChoiceField(
            queryset=Vendor.objects.filter(active=True).order_by("code"),
            required=False,
            help_text="Empty: an integration token (the ERP; every vendor).",
        )
        self.fields["user"] = forms.ModelChoiceField(
            queryset=User.objects.filter(is_active=True).order_by("email"),
            label="Acts as",
            help_text="A buyer for an integration token, a login of the vendor otherwise.",
        )
        self.order_fields(["name", "vendor", "user", "read_only"])


@admin.register(ApiToken)
class ApiTokenAdmin(BackOfficeAdmin, admin.ModelAdmin):
    list_display = ("name", "prefix", "vendor", "user", "read_only", "last_used_at", "revoked_at")
    list_filter = ("read_only", "vendor")
    list_select_related = ("vendor", "user")
    search_fields = ("name", "prefix", "vendor__code", "user__email")
    actions = ("revoke_tokens",)
    fields = (
        "name",
        "prefix",
        "vendor",
        "user",
        "read_only",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Make a token; its secret is shown on the answer page, once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        posted = request.method == "POST"
        form = TokenAdminForm(request.POST if posted else None)
        secret = ""
        if posted and form.is_valid():
            try:
                token, secret = tokens.token_create(
                    name=form.cleaned_data["name"],
                    vendor=form.cleaned_data["vendor"],
                    user=form.cleaned_data["user"],
                    read_only=form.cleaned_data["read_only"],
                    by=acting_user(request),
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                self.log_addition(request, token, [{"added": {}}])
                form = TokenAdminForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Make an API token",
            "opts": self.opts,
            "form": form,
            "secret": secret,
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "api/admin/token_add.html", context, status=400 if form.errors else 200
        )

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        by = acting_user(request)
        done = 0
        for token in queryset:
            try:
                tokens.token_revoke(token=token, by=by)
            except DomainError as error:
                messages.error(request, f"{token.prefix}…: {error.message}")
            else:
                done += 1
        if done:
            messages.success(request, f"Revoked {done} token(s).")
