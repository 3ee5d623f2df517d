"""The vendor admin's API tokens page (/portal/api-tokens/): make, see and revoke tokens
for their own vendor. A new token's secret is shown once, in the answer to the POST that
made it, and never again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from vendorportal.accounts.views import vendor_admin_view
from vendorportal.api import tokens
from vendorportal.api.models import ApiToken
from vendorportal.errors import DomainError
from vendorportal.web.access import viewer_of
from vendorportal.web.errors import add_domain_error


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="What will use it, e.g. “Our ERP (SAP B1)”."
    )
    user = forms.ChoiceField(label="Acts as", help_text="It may see and do what this login may.")
    read_only = forms.BooleanField(
        label="Read only",
        required=False,
        help_text="Refuses acknowledgements, proposals and comments.",
    )

    def __init__(self, *args: Any, colleagues: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.colleagues = {str(user.public_id): user for user in colleagues}
        self.fields["user"].choices = [  # type: ignore[attr-defined]
            (key, f"{user.display_name} ({user.email})") for key, user in self.colleagues.items()
        ]


def _own_tokens(request: HttpRequest) -> QuerySet[ApiToken]:
    """The tokens of the viewer's vendor (the vendor scope narrows them too)."""
    vendor_id = viewer_of(request).vendor_id
    if vendor_id is None:  # pragma: no cover - vendor_admin_view lets only vendor admins in
        raise Http404("No such page.")
    return ApiToken.objects.filter(vendor_id=vendor_id)


def _colleagues(request: HttpRequest) -> list[Any]:
    from vendorportal.accounts import selectors

    return [m for m in selectors.team_members(viewer_of(request)) if m.is_active]


def _page(
    request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200
) -> HttpResponse:
    listed = _own_tokens(request).select_related("user")
    return render(
        request,
        "api/tokens.html",
        {"nav": "team", "form": form, "tokens": list(listed), "secret": secret},
        status=status,
    )


@never_cache
@vendor_admin_view
@require_safe
def token_list(request: HttpRequest) -> HttpResponse:
    colleagues = _colleagues(request)
    initial = {"user": str(viewer_of(request).user.public_id)}
    return _page(request, TokenForm(initial=initial, colleagues=colleagues))


@never_cache
@vendor_admin_view
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    form = TokenForm(request.POST, colleagues=_colleagues(request))
    if form.is_valid():
        try:
            _, secret = tokens.token_create(
                name=form.cleaned_data["name"],
                vendor=viewer.user.vendor,
                user=form.colleagues[form.cleaned_data["user"]],
                read_only=form.cleaned_data["read_only"],
                by=viewer.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            fresh = TokenForm(
                initial={"user": str(viewer.user.public_id)},
                colleagues=list(form.colleagues.values()),
            )
            return _page(request, fresh, secret=secret)
    return _page(request, form, status=400)


@vendor_admin_view
@require_POST
def token_revoke(request: HttpRequest, pk: str) -> HttpResponse:
    viewer = viewer_of(request)
    token = _own_tokens(request).filter(pk=pk if pk.isdigit() else 0).first()
    if token is None:
        raise Http404("No such token.")
    try:
        tokens.token_revoke(token=token, by=viewer.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("portal:api-tokens")
