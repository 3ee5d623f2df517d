import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import make_order
from vendorportal.purchasing import services
from vendorportal.purchasing.models import OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_order_lifecycle(vendor_a, buyer, published):
    order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "9")])
    assert order.status == OrderStatus.ISSUED and order.revision == 1
    services.order_revise(
        order=order,
        by=buyer,
        changes=[services.SetDelivery(10, 1, "due_date", dt.date(2026, 12, 20))],
        reason="Line moved",
    )
    order.refresh_from_db()
    assert order.revision == 2
    d1 = order.deliveries.get(line__line_number=10)
    d2 = order.deliveries.get(line__line_number=20)
    services.receipt_record(
        order=order,
        by=buyer,
        lines=[services.ReceiptLineInput(d1, Decimal("100")), services.ReceiptLineInput(d2, Decimal("10"))],
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    assert published.kinds() == ["order.created", "order.issued", "order.revised", "receipt.recorded"]
