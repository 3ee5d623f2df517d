"""The table rows rendered in Python (web/rows.py): the order page's lines and deliveries
with each side's actions, and the open-lines table's paging and proposal badges."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import make_order
from vendorportal.collaboration import services as collaboration
from vendorportal.purchasing import services

pytestmark = pytest.mark.django_db
D = Decimal


def row(page: str, row_id: str) -> str:
    match = re.search(rf'<tr[^>]* id="{row_id}">.*?</tr>', page, re.S)
    assert match, f"no row {row_id}"
    return match.group(0)


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(
        vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("10", "9")], due=dt.date(2026, 12, 15)
    )


def test_supplier_rows_carry_their_own_actions_and_the_confirm_form_posts(order, amos):
    first = order.deliveries.get(line__line_number=10)
    second = order.deliveries.get(line__line_number=20)
    client = Client(enforce_csrf_checks=True)
    client.force_login(amos)
    page = client.get(f"/portal/orders/{order.number}/").content.decode()
    line = row(page, "line-10")
    assert f'href="/portal/orders/{order.number}/propose?line=10">Propose price</a>' in line
    delivery = row(page, f"delivery-{first.pk}")
    assert "Delivery 10-1 · due <strong>15 Dec 2026</strong>" in delivery
    assert f'href="/portal/orders/{order.number}/propose?delivery={first.pk}"' in delivery
    confirm = f"/portal/orders/{order.number}/deliveries/{first.pk}/confirm"
    assert f'action="{confirm}"' in delivery
    assert f"/deliveries/{second.pk}/confirm" in row(page, f"delivery-{second.pk}")

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', delivery)
    assert token
    response = client.post(confirm, {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.promised_date == first.due_date
    page = client.get(f"/portal/orders/{order.number}/").content.decode()
    assert "/confirm" not in row(page, f"delivery-{first.pk}")
    assert 'badge ok">confirmed' in row(page, f"delivery-{first.pk}")
    assert "not confirmed" in row(page, f"delivery-{second.pk}")
    assert "/confirm" in row(page, f"delivery-{second.pk}")


def test_pending_proposals_mark_their_own_rows_on_both_pages(client, order, amos):
    first = order.deliveries.get(line__line_number=10)
    second = order.deliveries.get(line__line_number=20)
    proposal = collaboration.proposal_create(
        order=order, line=first.line, delivery=first, by=amos, quantity=D(80), reason="less"
    )
    collaboration.proposal_create(
        order=order, line=second.line, by=amos, unit_price=D("8.5"), reason="cheaper"
    )
    client.force_login(amos)
    page = client.get(f"/portal/orders/{order.number}/").content.decode()
    assert "change proposed" in row(page, f"delivery-{first.pk}")
    assert "change proposed" not in row(page, f"delivery-{second.pk}")
    assert "price change proposed" in row(page, "line-20")
    assert "price change proposed" not in row(page, "line-10")

    lines = client.get("/portal/open-lines/").content.decode()
    assert "change proposed" in row(lines, f"delivery-{first.pk}")
    assert 'rev 1</span> <span class="badge bad">not acknowledged' in row(
        lines, f"delivery-{second.pk}"
    )
    collaboration.proposal_withdraw(proposal=proposal, by=amos)
    lines = client.get("/portal/open-lines/").content.decode()
    assert 'rev 1</span> <span class="badge bad">not acknowledged' in row(
        lines, f"delivery-{first.pk}"
    )


def test_another_vendors_proposal_marks_nothing(client, order, vendor_b, buyer, amos, bob):
    theirs = make_order(vendor=vendor_b, by=buyer)
    delivery = theirs.deliveries.get()
    collaboration.proposal_create(
        order=theirs, line=delivery.line, delivery=delivery, by=bob, quantity=D(1), reason="x"
    )
    client.force_login(amos)
    assert "change proposed" not in client.get("/portal/open-lines/").content.decode()


def test_buyer_rows_of_a_blanket_order(client, vendor_a, buyer):
    order = make_order(
        vendor=vendor_a,
        by=buyer,
        kind="blanket",
        lines=[("1000", "1.25"), ("500", "3")],
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 12, 31),
    )
    first, second = order.lines.order_by("line_number")
    release = services.release_add(
        line=first, quantity=D(100), due_date=dt.date(2026, 3, 1), by=buyer
    )
    services.line_cancel(line=second, by=buyer)
    client.force_login(buyer)
    page = client.get(f"/buying/orders/{order.number}/").content.decode()
    line = row(page, "line-10")
    assert f'href="/buying/orders/{order.number}/revise?line=10">Change</a>' in line
    assert f'href="/buying/orders/{order.number}/lines/10/release">Add release</a>' in line
    assert f'href="/buying/orders/{order.number}/lines/10/close">Close</a>' in line
    delivery = row(page, f"delivery-{release.pk}")
    assert "Release 10-1 · due <strong>1 Mar 2026</strong>" in delivery
    assert f"revise?delivery={release.pk}" in delivery
    assert "<a " not in row(page, "line-20")  # cancelled: nothing to do


def test_row_text_is_escaped_and_late_deliveries_are_marked(client, vendor_a, buyer, amos):
    order = services.order_issue(
        order=services.order_create(
            vendor=vendor_a,
            by=buyer,
            lines=[
                services.LineInput(
                    quantity=D(5),
                    unit_price=D("1.2345"),
                    description="<b>Bolt</b> & nut",
                    vendor_part_number="<i>",
                    due_date=dt.date(2024, 1, 31),
                )
            ],
        ),
        by=buyer,
    )
    client.force_login(amos)
    line = row(client.get(f"/portal/orders/{order.number}/").content.decode(), "line-10")
    assert "&lt;b&gt;Bolt&lt;/b&gt; &amp; nut" in line and "&lt;i&gt;" in line
    assert "<b>" not in line and '<td class="num">1.2345</td>' in line
    delivery = row(
        client.get(f"/portal/orders/{order.number}/").content.decode(),
        f"delivery-{order.deliveries.get().pk}",
    )
    assert '<strong>31 Jan 2024</strong> <span class="badge bad">overdue</span>' in delivery


def test_open_lines_paging_counts_in_the_rows_query_and_clamps_a_page_past_the_end(
    client, vendor_a, buyer, amos
):
    for n in range(3):
        make_order(vendor=vendor_a, by=buyer, lines=[("10", "1")] * 20, number=f"PO-P{n}")
    client.force_login(amos)
    page = client.get("/portal/open-lines/?per_page=50&page=2").content.decode()
    assert "Rows 51\u201360 of 60" in page and page.count('<tr id="delivery-') == 10
    past = client.get("/portal/open-lines/?per_page=50&page=9").content.decode()
    assert "Rows 51\u201360 of 60" in past and past.count('<tr id="delivery-') == 10
    nothing = client.get("/portal/open-lines/?q=nothing-like-this&page=3").content.decode()
    assert "No open deliveries match this filter." in nothing
