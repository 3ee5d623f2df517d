"""/buying/audit/: buyers search the audit trail. Read-only (GET/HEAD) and buyer-only:
a vendor login gets 404, as for every buying page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from vendorportal.audit import words
from vendorportal.audit.models import AuditEntry, Channel
from vendorportal.purchasing import access
from vendorportal.web.access import buyer_view, viewer_of
from vendorportal.web.tables import Paging, filled_fields
from vendorportal.web.widgets import DateField

PAGE_SIZE = 100


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=254, label="Actor (e-mail)")
    vendor = forms.CharField(required=False, max_length=32, label="Vendor code")
    action = forms.CharField(required=False, max_length=64, label="Action")
    object = forms.CharField(
        required=False, max_length=200, label="Object", help_text="PO number, or type:id"
    )
    since = DateField(required=False, label="From")
    until = DateField(required=False, label="To")
    ip = forms.GenericIPAddressField(required=False, label="IP address")
    channel = forms.ChoiceField(required=False, choices=[("", "Any"), *Channel.choices])

    def filter(self, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        data: dict[str, Any] = self.cleaned_data
        if data.get("actor"):
            queryset = queryset.filter(actor_email__icontains=data["actor"].strip())
        if data.get("vendor"):
            queryset = queryset.filter(vendor__code__iexact=data["vendor"].strip())
        if data.get("action"):
            action = data["action"].strip()
            # "order" finds order.revised, order.issued, ...; "login" also login.failed.
            queryset = queryset.filter(Q(action=action) | Q(action__startswith=f"{action}."))
        if data.get("object"):
            queryset = queryset.filter(_object_filter(data["object"].strip()))
        if data.get("since"):
            queryset = queryset.filter(created_at__gte=_day_start(data["since"]))
        if data.get("until"):
            next_day = data["until"] + dt.timedelta(days=1)
            queryset = queryset.filter(created_at__lt=_day_start(next_day))
        if data.get("ip"):
            queryset = queryset.filter(ip=data["ip"])
        if data.get("channel"):
            queryset = queryset.filter(channel=data["channel"])
        return queryset


def _object_filter(text: str) -> Q:
    if ":" in text:
        object_type, _, object_id = text.partition(":")
        return Q(object_type=object_type.strip(), object_id=object_id.strip())
    return Q(order_number__iexact=text) | Q(object_label__iexact=text)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _priced_object(entry: AuditEntry) -> tuple[str, str]:
    """What the entry's prices are in: its invoice, else its order."""
    if entry.object_type == "invoice":
        return ("invoice", entry.object_id)
    return ("order", entry.order_number)


def _currencies(request: HttpRequest, entries: list[AuditEntry]) -> dict[tuple[str, str], str]:
    """The currency of each order and invoice the page's entries are about: two queries at
    most, only for entries whose changes hold a price."""
    priced = [
        _priced_object(e)
        for e in entries
        if any(words.field_of(key) in words.PRICES for key in e.changes or {})
    ]
    numbers = {key for kind, key in priced if kind == "order" and key}
    invoice_ids = {int(key) for kind, key in priced if kind == "invoice" and key.isdigit()}
    viewer = viewer_of(request)
    found: dict[tuple[str, str], str] = {}
    if numbers:
        orders = access.orders(viewer).filter(number__in=numbers)
        found.update(
            (("order", number), currency)
            for number, currency in orders.values_list("number", "currency")
        )
    if invoice_ids:
        invoices = access.invoices(viewer).filter(pk__in=invoice_ids)
        found.update(
            (("invoice", str(pk)), currency)
            for pk, currency in invoices.values_list("pk", "currency")
        )
    return found


@require_safe
@buyer_view
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    queryset: QuerySet[AuditEntry] = AuditEntry.objects.select_related("vendor")
    if form.is_bound and form.is_valid():
        queryset = form.filter(queryset)
    elif form.is_bound:
        queryset = queryset.none()
    total = queryset.count()
    paging = Paging.from_request(request, total, PAGE_SIZE)
    entries = list(queryset.order_by("-id")[paging.offset : paging.offset + paging.size])
    currencies = _currencies(request, entries)
    for entry in entries:
        currency = currencies.get(_priced_object(entry))
        entry.words = words.changes_in_words(entry.changes or {}, currency)  # type: ignore[attr-defined]
    return render(
        request,
        "buying/audit.html",
        {
            "nav": "audit",
            "side": "buying",
            "form": form,
            "entries": entries,
            "paging": paging,
            "filtered": form.is_bound,
            "filters_active": filled_fields(form),
        },
    )
