"""Vendor scoping fails closed: no scope raises, a vendor scope sees only its rows."""

from __future__ import annotations

import pytest
from django.apps import apps
from django_scopes import scope
from django_scopes.exceptions import ScopeError
from django_scopes.state import state

from tests.factories import make_order
from vendorportal.purchasing.models import Delivery, PurchaseOrder, Vendor
from vendorportal.scoping import VendorScopedManager

pytestmark = pytest.mark.django_db

VENDOR_VISIBLE = {
    "purchasing.PurchaseOrder",
    "purchasing.Line",
    "purchasing.Delivery",
    "purchasing.Revision",
    "purchasing.Receipt",
    "purchasing.ReceiptLine",
    "purchasing.Invoice",
    "purchasing.InvoiceLine",
    "purchasing.Payment",
    "purchasing.ShipNotice",
    "purchasing.ShipNoticeLine",
    "purchasing.Vendor",
    "events.Event",
    "events.Notification",
    "events.VendorNotificationDefault",
    "events.Follow",
    "accounts.Invitation",
    "api.ApiToken",
    "accounts.SeatPeriod",
    "collaboration.Acknowledgement",
    "collaboration.ChangeProposal",
    "collaboration.Comment",
    "collaboration.Attachment",
}


def test_every_model_with_a_vendor_key_is_scoped():
    scoped = set()
    for model in apps.get_models():
        label = model._meta.label
        has_vendor = any(f.name == "vendor" for f in model._meta.get_fields())
        if isinstance(model._default_manager, VendorScopedManager):
            scoped.add(label)
        # The audit trail is never vendor-visible: only buyers read it (/buying/audit/).
        elif has_vendor and model._meta.app_label not in ("accounts", "audit"):
            pytest.fail(f"{label} has a vendor key but is not vendor-scoped")
    assert scoped == VENDOR_VISIBLE


def test_query_without_scope_raises(vendor_a, buyer):
    make_order(vendor=vendor_a, by=buyer)
    token = state.set({})  # no scope at all, as in a request that forgot to set one
    try:
        with pytest.raises(ScopeError):
            list(PurchaseOrder.objects.all())
        with pytest.raises(ScopeError):
            Delivery.objects.filter(due_date__isnull=False).exists()
    finally:
        state.reset(token)


def test_none_vendor_scope_raises_instead_of_showing_everything(vendor_a, buyer):
    make_order(vendor=vendor_a, by=buyer)
    with scope(vendor=None), pytest.raises(ScopeError):
        PurchaseOrder.objects.count()


def test_vendor_scope_filters_models_and_related_managers(vendor_a, vendor_b, buyer):
    mine = make_order(vendor=vendor_a, by=buyer)
    theirs = make_order(vendor=vendor_b, by=buyer)
    with scope(vendor=vendor_a.pk):
        assert list(PurchaseOrder.objects.all()) == [mine]
        assert list(Vendor.objects.all()) == [vendor_a]
        assert not PurchaseOrder.objects.filter(pk=theirs.pk).exists()
        assert Delivery.objects.count() == 1
        assert mine.deliveries.count() == 1
        # A related manager of a foreign object is filtered too.
        assert theirs.deliveries.count() == 0
