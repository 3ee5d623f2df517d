"""Blanket orders live by their releases (issue 13): a call-off of several releases is one
revision, acknowledged once; the supplier sees what is new since its last answer; the page
leads with the agreement's ledger."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests.factories import make_order
from tests.test_purchasing_services import refused
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import AcknowledgementResponse
from vendorportal.events.models import Event
from vendorportal.purchasing import services

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def blanket(vendor_a, buyer):
    return make_order(
        vendor=vendor_a,
        by=buyer,
        kind="blanket",
        lines=[("1000", "2.50"), ("500", "4.00")],
        valid_from=dt.date(2026, 12, 1),
        valid_to=dt.date(2027, 11, 30),
    )


def call_off(order, buyer, *releases):
    return services.call_off(
        order=order,
        releases=[services.Release(*r) for r in releases],
        by=buyer,
        reason="MRP run, week 50",
    )


def test_a_call_off_of_several_releases_is_one_revision_acknowledged_once(blanket, buyer, amos):
    events = Event.objects.count()
    added = call_off(
        blanket, buyer, (10, D(100), dt.date(2027, 1, 11)), (20, D(50), dt.date(2027, 1, 11))
    )
    blanket.refresh_from_db()
    assert len(added) == 2 and blanket.revision == 2
    assert Event.objects.count() == events + 1
    revision = blanket.revisions.get(number=2)
    assert revision.reason == "MRP run, week 50"
    assert [c["op"] for c in revision.changes] == ["add", "add"]
    collaboration.acknowledgement_record(
        order=blanket, revision=2, response=AcknowledgementResponse.ACCEPTED, by=amos
    )
    assert not blanket.acknowledgements.exclude(revision__in=[2]).exists()


def test_a_call_off_beyond_the_commitment_releases_nothing(blanket, buyer):
    refused(
        lambda: call_off(
            blanket,
            buyer,
            (10, D(100), dt.date(2027, 1, 11)),
            (20, D(501), dt.date(2027, 1, 11)),
        ),
        message="500",
    )


def test_the_buyer_calls_off_from_the_screen(client, blanket, buyer):
    client.force_login(buyer)
    page = client.get(f"/buying/orders/{blanket.number}/call-off")
    assert page.status_code == 200 and "due_date_20" in page.content.decode()
    answer = client.post(
        f"/buying/orders/{blanket.number}/call-off",
        {
            "quantity_10": "120",
            "due_date_10": "2027-01-18",
            "quantity_20": "40",
            "due_date_20": "2027-01-18",
            "reason": "Week 3",
        },
    )
    assert answer.status_code == 302
    blanket.refresh_from_db()
    assert blanket.revision == 2 and blanket.deliveries.count() == 2
    missing_date = client.post(
        f"/buying/orders/{blanket.number}/call-off", {"quantity_10": "5", "reason": ""}
    )
    assert missing_date.status_code == 400 and "When is it due?" in missing_date.content.decode()
    nothing = client.post(f"/buying/orders/{blanket.number}/call-off", {"reason": ""})
    assert "at least one line" in nothing.content.decode()
    blanket.refresh_from_db()
    assert blanket.revision == 2


def test_the_supplier_sees_what_is_new_since_its_last_acknowledgement(client, blanket, buyer, amos):
    first = call_off(blanket, buyer, (10, D(100), dt.date(2027, 1, 11)))
    blanket.refresh_from_db()
    collaboration.acknowledgement_record(
        order=blanket, revision=blanket.revision, response=AcknowledgementResponse.ACCEPTED, by=amos
    )
    acknowledged = blanket.revision
    second = call_off(
        blanket, buyer, (10, D(80), dt.date(2027, 2, 8)), (20, D(40), dt.date(2027, 2, 8))
    )
    client.force_login(amos)
    page = client.get(f"/portal/orders/{blanket.number}/").content.decode()
    assert f"new since rev {acknowledged}" in row(page, f"delivery-{second[0].pk}")
    assert f"new since rev {acknowledged}" in row(page, f"delivery-{second[1].pk}")
    assert "since rev" not in row(page, f"delivery-{first[0].pk}")
    # One answer covers the call-off: then nothing is new.
    blanket.refresh_from_db()
    collaboration.acknowledgement_record(
        order=blanket, revision=blanket.revision, response=AcknowledgementResponse.ACCEPTED, by=amos
    )
    page = client.get(f"/portal/orders/{blanket.number}/").content.decode()
    assert "since rev" not in page


def test_the_page_leads_with_the_ledger_and_folds_old_releases(client, blanket, buyer, amos):
    from tests.test_purchasing_services import receive

    releases = []
    for week in range(8):
        releases += call_off(
            blanket, buyer, (10, D(50), dt.date(2026, 12, 7) + dt.timedelta(7 * week))
        )
    blanket.refresh_from_db()
    for number in (1, 2, 3):
        receive(blanket, 10, "50", buyer, delivery_number=number)
    client.force_login(amos)
    page = client.get(f"/portal/orders/{blanket.number}/").content.decode()
    ledger = page[
        page.index('id="agreement-ledger"') : page.index(
            "</section>", page.index('id="agreement-ledger"')
        )
    ]
    assert page.index('id="agreement-ledger"') < page.index('id="order-lines"')
    # Line 10: 1,000 committed, 400 released, 150 received, 250 open on releases, 600 to release.
    cells = re.findall(r'<td class="num">(?:<strong>)?([^<]+)', ledger)
    assert cells[:5] == ["1,000 EA", "400", "150", "250", "600"]
    assert "1,000.00" in ledger and "3,500.00" in ledger  # committed value in total (2 lines)
    assert "3 earlier releases received or cancelled" in page
    assert f'id="delivery-{releases[0].pk}"' not in page
    assert f'id="delivery-{releases[3].pk}"' in page
    everything = client.get(f"/portal/orders/{blanket.number}/?releases=all").content.decode()
    assert f'id="delivery-{releases[0].pk}"' in everything
    # Nine revisions: the newest six are listed, with a link to all of them.
    assert "All 9 revisions" in page
    assert (
        "All 9 revisions"
        not in client.get(f"/portal/orders/{blanket.number}/?revisions=all").content.decode()
    )


def test_the_work_queue_shows_a_blanket_order_by_its_releases_to_confirm(
    client, blanket, buyer, amos
):
    call_off(blanket, buyer, (10, D(50), dt.date(2027, 1, 11)), (20, D(20), dt.date(2027, 1, 11)))
    client.force_login(buyer)
    page = client.get("/buying/").content.decode()
    assert "2 releases to confirm" in page


def row(page: str, row_id: str) -> str:
    start = page.index(f'id="{row_id}"')
    return page[start : page.index("</tr>", start)]
