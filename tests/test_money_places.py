"""Prices to their currency's places (issue 13): ISO 4217's minor units, so a yen price
reads 1,200 and a dinar price 1.250, and a price with more places than its currency keeps
them (up to the 4 stored). On every screen that shows a price or an amount."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.clock import days
from tests.factories import make_order
from vendorportal.audit.words import change_in_words
from vendorportal.purchasing import services
from vendorportal.web import formatting
from vendorportal.web.formatting import currency_places, money

D = Decimal


def test_currency_places_come_from_iso_4217():
    assert (currency_places("USD"), currency_places("JPY"), currency_places("KWD")) == (2, 0, 3)
    assert currency_places("jpy") == 0  # a code as the ERP may send it
    assert currency_places("XQZ") == 2  # not a currency: cents, as before
    assert currency_places("") == 2 and currency_places(None) == 2


def test_currency_places_are_looked_up_once(monkeypatch):
    calls: list[str] = []

    def precision(code: str) -> int:
        calls.append(code)
        return 3

    currency_places.cache_clear()
    monkeypatch.setattr(formatting, "get_currency_precision", precision)
    try:
        assert [currency_places("BHD") for _ in range(3)] == [3, 3, 3]
        assert calls == ["BHD"]
    finally:
        currency_places.cache_clear()


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        ("2.5", "USD", "2.50"),
        ("1234.5000", "USD", "1,234.50"),
        ("1200.0000", "JPY", "1,200"),
        ("1200", "JPY", "1,200"),
        ("1.25", "KWD", "1.250"),
        ("1.2000", "KWD", "1.200"),
        ("3", "XQZ", "3.00"),
        # More places than the currency has: the price's own, up to the 4 stored.
        ("0.1234", "USD", "0.1234"),
        ("1200.5", "JPY", "1,200.5"),
        ("1.2345", "KWD", "1.2345"),
        ("2.12345678", "USD", "2.1235"),  # a product of quantity and price
        ("0", "JPY", "0"),
        ("-15.5", "USD", "-15.50"),
    ],
)
def test_money_shows_the_currencys_places_unless_the_price_has_more(value, currency, shown):
    assert money(D(value), currency) == shown


def test_money_of_nothing_is_blank():
    assert money(None, "JPY") == ""


def test_the_audit_trail_says_a_price_in_its_currencys_places():
    assert change_in_words("line 10.unit_price", ["1200.0000", "1250"], "JPY") == (
        "Line 10 unit price: 1,200 → 1,250"
    )
    assert change_in_words("line 10.unit_price", ["2.5", "2.45"], "USD") == (
        "Line 10 unit price: 2.50 → 2.45"
    )


@pytest.fixture
def yen_order(db, vendor_a, buyer):
    return make_order(
        vendor=vendor_a,
        by=buyer,
        number="PO-JPY-1",
        currency="JPY",
        lines=[("10", "1200"), ("4", "350.5")],
        due=days(15),
    )


@pytest.mark.django_db
def test_a_yen_order_shows_yen_on_the_suppliers_order_page(client, amos, yen_order):
    client.force_login(amos)
    page = client.get(f"/portal/orders/{yen_order.number}/").content.decode()
    assert "1,200" in page and "1,200.00" not in page
    assert "350.5" in page and "350.50" not in page  # a price with more places keeps them
    # The order's value: 10 at 1,200 and 4 at 350.5 are 13,402 yen.
    assert "13,402 JPY" in page and "13,402.00" not in page


@pytest.mark.django_db
def test_a_yen_order_shows_yen_on_open_lines_and_the_orders_list(client, amos, yen_order):
    client.force_login(amos)
    lines = client.get("/portal/open-lines/").content.decode()
    assert "1,200 JPY" in lines and "1,200.00" not in lines
    orders = client.get("/portal/orders/").content.decode()
    assert "13,402" in orders and "13,402.00" not in orders


@pytest.mark.django_db
def test_a_dollar_order_still_shows_cents(client, amos, vendor_a, buyer):
    make_order(vendor=vendor_a, by=buyer, number="PO-USD-1", lines=[("10", "12")], due=days(15))
    client.force_login(amos)
    lines = client.get("/portal/open-lines/").content.decode()
    assert "12.00 USD" in lines


@pytest.mark.django_db
def test_the_audit_page_says_a_yen_price_change_in_yen(client, buyer, yen_order):
    services.order_revise(
        order=yen_order, by=buyer, changes=[services.SetLine(10, "unit_price", D(1250))]
    )
    client.force_login(buyer)
    page = client.get("/buying/audit/", {"object": yen_order.number}).content.decode()
    assert "Line 10 unit price: 1,200 → 1,250" in page


@pytest.mark.django_db
def test_the_buyers_overdue_value_adds_up_one_currency_at_a_time(client, buyer, vendor_a):
    make_order(
        vendor=vendor_a,
        by=buyer,
        number="PO-JPY-2",
        currency="JPY",
        lines=[("10", "1200")],
        due=days(-5),
    )
    make_order(vendor=vendor_a, by=buyer, number="PO-USD-2", lines=[("10", "2.5")], due=days(-5))
    client.force_login(buyer)
    page = client.get("/buying/").content.decode()
    section = page[page.index("Overdue by vendor") :]
    assert re.search(r'12,000 <span class="small muted">JPY</span>', section)
    assert re.search(r'25.00 <span class="small muted">USD</span>', section)
    assert "12,025" not in section  # never yen and dollars added up
