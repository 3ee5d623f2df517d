"""Logins, invitations and portal seats in the back office.

E-mail is the login, and the username mirrors it. Every change to a login made here is
recorded in the seat history through `accounts.services` (`save_model` calls
`seats_sync`); invitations are sent and withdrawn only through the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from vendorportal.accounts import selectors, services
from vendorportal.accounts.models import VENDOR_ROLES, Invitation, Role, SeatPeriod, User
from vendorportal.accounts.views import site_url_for
from vendorportal.audit.backoffice import form_changes
from vendorportal.errors import DomainError
from vendorportal.purchasing.admin import BackOfficeAdmin, ReadOnlyAdmin, acting_user
from vendorportal.purchasing.models import Vendor
from vendorportal.web.errors import add_domain_error


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

    actions = ("deactivate_logins", "reactivate_logins")

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        obj.username = obj.email  # the username mirrors the login address
        super().save_model(request, obj, form, change)
        # Made, (de)activated, or moved between roles or vendors here: keep the seat
        # history right (the admin wraps this in the same transaction as the save).
        changes = form_changes(form, created=not change)
        for secret in ("password", "password1", "password2", "usable_password"):
            if secret in changes:  # never a password (or its hash) in the trail
                changes[secret] = ["…", "(changed)"]
        services.seats_sync(user=obj, by=acting_user(request), changes=changes)

    def _each(self, request: HttpRequest, queryset: QuerySet[User], activate: bool) -> None:
        by = acting_user(request)
        action = services.user_reactivate if activate else services.user_deactivate
        done = []
        for user in queryset.order_by("email"):
            try:
                action(user=user, by=by)
            except DomainError as error:
                messages.error(request, f"{user.email}: {error.message}")
            else:
                done.append(user.email)
        if done:
            verb = "Reactivated" if activate else "Deactivated"
            messages.success(request, f"{verb} {len(done)} login(s): {', '.join(done)}.")

    @admin.action(description="Deactivate selected logins", permissions=["change"])
    def deactivate_logins(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, activate=False)

    @admin.action(description="Reactivate selected logins", permissions=["change"])
    def reactivate_logins(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, activate=True)


# ---------------------------------------------------------------------------------------
# Invitations: sent and withdrawn through the services, otherwise read-only
# ---------------------------------------------------------------------------------------


class InvitationAdminForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(
        choices=[(role.value, role.label) for role in VENDOR_ROLES], initial=Role.VENDOR_USER
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: the back office runs in the internal scope, import time not.
        self.fields["vendor"] = forms.ModelChoiceField(
            queryset=Vendor.objects.filter(active=True).order_by("code")
        )
        self.order_fields(["vendor", "email", "role"])


@admin.register(Invitation)
class InvitationAdmin(BackOfficeAdmin, admin.ModelAdmin):
    list_display = (
        "email",
        "vendor",
        "role",
        "status_label",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_at",
    )
    list_filter = ("role", "vendor")
    list_select_related = ("vendor", "created_by")
    search_fields = ("email", "vendor__code", "vendor__name")
    ordering = ("-created_at", "-id")
    actions = ("revoke_invitations",)
    fields = (
        "vendor",
        "email",
        "role",
        "status_label",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "user",
        "revoked_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        return super().get_queryset(request).select_related("vendor", "created_by", "user")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request)

    @admin.display(description="status")
    def status_label(self, obj: Invitation) -> str:
        return obj.status.label

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Invite a vendor login: `invitation_create` checks, stores and e-mails it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        posted = request.method == "POST"
        form = InvitationAdminForm(request.POST if posted else None)
        if posted and form.is_valid():
            try:
                invitation = services.invitation_create(
                    vendor=form.cleaned_data["vendor"],
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    by=acting_user(request),
                    site_url=site_url_for(request),
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                self.log_addition(request, invitation, [{"added": {}}])
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("admin:accounts_invitation_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite a vendor login",
            "opts": self.opts,
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "accounts/admin/invite.html", context, status=400 if form.errors else 200
        )

    @admin.action(description="Withdraw selected invitations", permissions=["revoke"])
    def revoke_invitations(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        by = acting_user(request)
        done = 0
        for invitation in queryset:
            try:
                services.invitation_revoke(invitation=invitation, by=by)
            except DomainError as error:
                messages.error(request, f"{invitation.email}: {error.message}")
            else:
                done += 1
        if done:
            messages.success(request, f"Withdrew {done} invitation(s).")


# ---------------------------------------------------------------------------------------
# Portal seats: the monthly report is the list page; periods open read-only
# ---------------------------------------------------------------------------------------


def _shift_month(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@admin.register(SeatPeriod)
class SeatPeriodAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    fields = ("user", "vendor", "started_on", "ended_on", "started_by", "ended_by")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[SeatPeriod]:
        return (
            super().get_queryset(request).select_related("user", "vendor", "started_by", "ended_by")
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Portal seats of a month (?month=YYYY-MM, default this month) and their charge."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        this_month = timezone.localdate().replace(day=1)
        error = ""
        try:
            month = selectors.parse_month(request.GET.get("month") or this_month.isoformat()[:7])
        except ValueError as exc:
            error, month = str(exc), this_month
        report = selectors.seat_report(month)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Portal seats in {month:%B %Y}",
            "opts": self.opts,
            "report": report,
            "error": error,
            "previous_month": f"{_shift_month(month, -1):%Y-%m}",
            "next_month": f"{_shift_month(month, 1):%Y-%m}",
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "accounts/admin/seats.html", context, status=400 if error else 200
        )
