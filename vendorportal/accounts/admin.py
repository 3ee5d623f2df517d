"""Logins in the back office: e-mail is the login, and the username mirrors it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from vendorportal.accounts.models import User
from vendorportal.purchasing.admin import BackOfficeAdmin


def _clean_address(form: forms.ModelForm[User]) -> str:
    """The e-mail, normalised as `EmailUserManager` does, and unique as a login.

    The username mirrors the e-mail, so an address is taken if it is any other user's
    e-mail or username.
    """
    address = User.objects.normalize_email(form.cleaned_data.get("email") or "").lower()
    others = User.objects.filter(Q(email__iexact=address) | Q(username__iexact=address))
    if form.instance.pk is not None:
        others = others.exclude(pk=form.instance.pk)
    if others.exists():
        raise forms.ValidationError("A user with that e-mail address already exists.")
    return address


# The forms name only `email` in Meta: the admin builds the real form per request from the
# fieldsets. A vendor field built at import time would query vendors outside any scope,
# which the fail-closed vendor scoping refuses.


class UserAddForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        return _clean_address(self)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        return _clean_address(self)


@admin.register(User)
class UserAdmin(BackOfficeAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Portal",
            {
                "fields": ("role", "vendor"),
                "description": "A buyer has no vendor; a vendor user or vendor admin needs one.",
            },
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "vendor", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = (
        "email",
        "first_name",
        "last_name",
        "role",
        "vendor",
        "is_active",
        "is_staff",
        "last_login",
    )
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "vendor")
    list_select_related = ("vendor",)
    search_fields = ("email", "first_name", "last_name", "vendor__code", "vendor__name")
    ordering = ("email",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).select_related("vendor")

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        obj.username = obj.email  # the username mirrors the login address
        super().save_model(request, obj, form, change)
