"""A timeline entry says what was true when it happened; the page says what is true now
(issue 13: the invoice's entry still read "matched" after a return made it an exception)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.factories import make_order
from tests.test_purchasing_services import receive
from vendorportal.purchasing import services

pytestmark = pytest.mark.django_db
D = Decimal


def entry(page: str, text: str) -> str:
    for item in re.findall(r"<li[^>]*>(.*?)</li>", page, re.S):
        if text in item:
            return item
    raise AssertionError(f"no timeline entry with {text!r}")


@pytest.mark.parametrize("side", ["portal", "buying"])
def test_an_invoice_entry_is_dated_and_the_page_shows_its_state_now(
    client, vendor_a, buyer, amos, side
):
    order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50")])
    receive(order, 10, "100", buyer)
    line = order.lines.get()
    invoice = services.invoice_record(
        vendor=vendor_a,
        number="INV-T1",
        by=buyer,
        lines=[services.InvoiceLineInput(line, D(100), D("2.50"))],
    )
    client.force_login(amos if side == "portal" else buyer)
    page = client.get(f"/{side}/orders/{order.number}/").content.decode()
    recorded = entry(page, "Invoice INV-T1 recorded")
    assert "matched when recorded" in recorded
    assert 'badge ok">matched' in recorded

    delivery = order.deliveries.get()
    services.return_record(
        order=order,
        lines=[services.ReceiptLineInput(delivery, D(20))],
        reason="Bent flanges",
        by=buyer,
    )
    page = client.get(f"/{side}/orders/{order.number}/").content.decode()
    recorded = entry(page, "Invoice INV-T1 recorded")
    assert "matched when recorded" in recorded  # history stays history
    assert 'badge bad">match exceptions' in recorded  # and the state now is beside it
    assert f"/{side}/invoices/{invoice.pk}/" in recorded
