"""Ship notices: what a supplier may announce, how corrections are kept, and how what
arrived is reconciled with what was announced (the services; screens and API elsewhere)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import make_order
from tests.test_purchasing_services import refused
from vendorportal.audit.models import AuditEntry
from vendorportal.events.models import Event
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    LineStatus,
    ShipNoticeStatus,
)
from vendorportal.purchasing.services.shipments import notice_rows

pytestmark = pytest.mark.django_db
D = Decimal
SHIPPED = dt.date(2026, 12, 1)
ARRIVES = dt.date(2026, 12, 4)


def delivery_of(order, line_number=10, number=1):
    return order.deliveries.select_related("line").get(
        line__line_number=line_number, delivery_number=number
    )


def announce(order, by, *quantities, submit=True, **details):
    """A notice on `order` of (line number, quantity) pairs, on each line's delivery 1."""
    details = {"ship_date": SHIPPED, "expected_date": ARRIVES, **details}
    return services.ship_notice_create(
        order=order,
        by=by,
        submit=submit,
        lines=[services.ShipNoticeLineInput(delivery_of(order, ln), D(q)) for ln, q in quantities],
        **details,
    )


def receive(order, by, notice, *quantities):
    return services.receipt_record(
        order=order,
        by=by,
        ship_notice=notice,
        lines=[services.ReceiptLineInput(delivery_of(order, ln), D(q)) for ln, q in quantities],
    )


class TestAnnouncing:
    def test_a_partial_shipment_is_in_transit_with_its_expected_arrival(
        self, vendor_a, buyer, amos
    ):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "3")])
        notice = announce(
            order, amos, (10, "40"), carrier="DHL", tracking_number="JD0001", packing_slip="PS-9"
        )
        assert notice.number == f"ASN-{order.number}-1"
        assert notice.status == ShipNoticeStatus.SUBMITTED and notice.submitted_at
        first, second = delivery_of(order, 10), delivery_of(order, 20)
        assert (first.in_transit_quantity, first.expected_date) == (D("40"), ARRIVES)
        assert (second.in_transit_quantity, second.expected_date) == (D("0"), None)
        assert first.open_quantity == D("100")  # announced is not received
        event = Event.objects.get(kind="ship_notice.submitted")
        assert event.summary.startswith(f"Ship notice {notice.number}: 40 on 1 delivery")
        assert (event.data["ship_notice"], event.actor_id, event.internal) == (
            notice.pk,
            amos.pk,
            False,
        )
        row = AuditEntry.objects.get(event_id=event.pk)
        assert (row.object_type, row.object_id, row.object_label) == (
            "ship_notice",
            str(notice.pk),
            notice.number,
        )

    def test_the_latest_expected_arrival_of_two_notices_is_shown(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        announce(order, amos, (10, "30"))
        later = ARRIVES + dt.timedelta(days=6)
        announce(order, amos, (10, "20"), expected_date=later)
        delivery = delivery_of(order)
        assert (delivery.in_transit_quantity, delivery.expected_date) == (D("50"), later)

    def test_over_shipment_is_refused_naming_the_line_and_numbers(
        self, vendor_a, buyer, amos, settings
    ):
        settings.OVER_RECEIPT_TOLERANCE_PERCENT = "5"
        order = make_order(vendor=vendor_a, by=buyer)
        services.receipt_record(
            order=order, by=buyer, lines=[services.ReceiptLineInput(delivery_of(order), D("30"))]
        )
        announce(order, amos, (10, "50"))
        error = refused(
            lambda: announce(order, amos, (10, "26")),
            message="Line 10 delivery 1: announcing 26 is more than can still come: 100 "
            "ordered plus 5% tolerance, 30 received, 50 already in transit on other notices "
            "(at most 25).",
            field="quantity",
        )
        assert error.code == "over_shipment"
        assert announce(order, amos, (10, "25")).lines.get().quantity == D("25")

    def test_a_draft_is_not_in_transit_until_submitted(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        draft = announce(order, amos, (10, "60"), submit=False)
        assert draft.status == ShipNoticeStatus.DRAFT
        assert delivery_of(order).in_transit_quantity == 0
        # A draft holds nothing back: another notice may take the quantity first ...
        announce(order, amos, (10, "50"))
        # ... and then the draft no longer fits when it is sent.
        refused(
            lambda: services.ship_notice_submit(notice=draft, by=amos),
            message="announcing 60 is more than can still come",
        )
        services.ship_notice_correct(
            notice=draft, by=amos, lines=[services.ShipNoticeLineInput(delivery_of(order), "50")]
        )
        services.ship_notice_submit(notice=draft, by=amos)
        assert delivery_of(order).in_transit_quantity == D("100")

    @pytest.mark.parametrize(
        ("setup", "message", "field"),
        [
            ("closed_line", "is closed; nothing more can be shipped", "delivery"),
            ("cancelled_line", "is cancelled; nothing more can be shipped", "delivery"),
            ("closed_order", "shipments can be announced only on an issued order", "order"),
            ("no_lines", "A ship notice needs at least one line.", "lines"),
            ("twice", "is listed twice", "delivery"),
            ("zero", "quantity must be greater than zero", "quantity"),
            ("arrives_first", "is before the ship date", "expected_date"),
            ("no_arrival", "Expected arrival is required.", "expected_date"),
            ("control_character", "control character", "carrier"),
        ],
    )
    def test_bad_input_is_refused_naming_the_field(
        self, vendor_a, buyer, amos, setup, message, field
    ):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "3")])
        first = delivery_of(order)
        lines = [services.ShipNoticeLineInput(first, D("5"))]
        details = {"ship_date": SHIPPED, "expected_date": ARRIVES}
        if setup == "closed_line":
            # Something received: closing the line keeps it closed rather than cancelled.
            receive(order, buyer, None, (10, "10"))
            services.line_close(line=order.lines.get(line_number=10), by=buyer, reason="enough")
        elif setup == "cancelled_line":
            services.line_cancel(line=order.lines.get(line_number=10), by=buyer)
        elif setup == "closed_order":
            receive(order, buyer, None, (10, "10"))
            services.order_close(order=order, by=buyer, reason="done")
        elif setup == "no_lines":
            lines = []
        elif setup == "twice":
            lines = lines * 2
        elif setup == "zero":
            lines = [services.ShipNoticeLineInput(first, D("0"))]
        elif setup == "arrives_first":
            details["expected_date"] = SHIPPED - dt.timedelta(days=1)
        elif setup == "no_arrival":
            details.pop("expected_date")
        elif setup == "control_character":
            details["carrier"] = "DHL\x00"
        refused(
            lambda: services.ship_notice_create(order=order, by=amos, lines=lines, **details),
            message=message,
            field=field,
        )

    def test_another_vendors_login_cannot_announce(self, vendor_a, buyer, bob):
        order = make_order(vendor=vendor_a, by=buyer)
        refused(lambda: announce(order, bob, (10, "5")), message="No such order.")

    def test_a_delivery_of_another_order_is_refused(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        other = make_order(vendor=vendor_a, by=buyer)
        refused(
            lambda: services.ship_notice_create(
                order=order,
                by=amos,
                lines=[services.ShipNoticeLineInput(delivery_of(other), D("1"))],
                expected_date=ARRIVES,
            ),
            message=f"That delivery is not on order {order.number}.",
            field="delivery",
        )


class TestCorrecting:
    def test_each_correction_is_kept_with_who_when_what(self, vendor_a, buyer, amos, alice):
        order = make_order(vendor=vendor_a, by=buyer)
        notice = announce(order, amos, (10, "40"), carrier="DHL")
        later = ARRIVES + dt.timedelta(days=2)
        services.ship_notice_correct(notice=notice, by=amos, expected_date=later)
        services.ship_notice_correct(
            notice=notice,
            by=alice,
            lines=[services.ShipNoticeLineInput(delivery_of(order), D("35"))],
            carrier="UPS",
        )
        notice.refresh_from_db()
        assert (notice.version, notice.carrier, notice.expected_date) == (3, "UPS", later)
        assert notice.lines.get().quantity == D("35")
        delivery = delivery_of(order)
        assert (delivery.in_transit_quantity, delivery.expected_date) == (D("35"), later)
        corrections = list(Event.objects.filter(kind="ship_notice.corrected").order_by("id"))
        assert [e.actor_id for e in corrections] == [amos.pk, alice.pk]
        assert corrections[0].summary == (
            f"Ship notice {notice.number} corrected (version 2): Expected arrival "
            f"4 Dec 2026 → {later.day} Dec 2026"
        )
        assert "Carrier DHL → UPS" in corrections[1].summary
        assert "Line 10-1 quantity 40 → 35" in corrections[1].summary
        audit = AuditEntry.objects.get(event_id=corrections[1].pk)
        assert audit.changes["carrier"] == ["DHL", "UPS"]
        assert audit.changes["line 10-1"] == ["40", "35"]

    def test_a_correction_that_changes_nothing_is_refused(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        notice = announce(order, amos, (10, "40"), carrier="DHL")
        refused(
            lambda: services.ship_notice_correct(notice=notice, by=amos, carrier="DHL"),
            message="Nothing changed",
        )

    def test_no_correction_or_cancel_once_goods_arrived(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        notice = announce(order, amos, (10, "40"))
        receive(order, buyer, notice, (10, "10"))
        refused(
            lambda: services.ship_notice_correct(notice=notice, by=amos, carrier="UPS"),
            message="can be corrected only until goods are received against it",
            field="status",
        )
        refused(
            lambda: services.ship_notice_cancel(notice=notice, by=amos),
            message="can be cancelled only until goods are received",
        )

    def test_cancelling_takes_the_quantity_out_of_transit(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        notice = announce(order, amos, (10, "40"))
        services.ship_notice_cancel(notice=notice, by=amos, reason="Truck broke down")
        notice.refresh_from_db()
        assert notice.status == ShipNoticeStatus.CANCELLED
        assert notice.closed_reason == "Truck broke down"
        assert delivery_of(order).in_transit_quantity == 0
        assert Event.objects.filter(kind="ship_notice.cancelled").count() == 1


class TestReceivingAgainstANotice:
    def test_received_as_announced_closes_the_notice(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "3")])
        notice = announce(order, amos, (10, "40"), (20, "50"))
        receipt = receive(order, buyer, notice, (10, "40"), (20, "50"))
        notice.refresh_from_db()
        assert receipt.ship_notice_id == notice.pk
        assert notice.status == ShipNoticeStatus.RECEIVED and notice.closed_at
        assert [row.kind for row in notice_rows(notice)] == ["", ""]
        assert delivery_of(order, 10).in_transit_quantity == 0
        assert delivery_of(order, 20).status == LineStatus.CLOSED
        event = Event.objects.get(kind="receipt.recorded")
        assert f"against ship notice {notice.number} (received, as announced)" in event.summary
        assert event.data["against_notice"] == notice.pk

    def test_short_over_not_announced_and_wrong_line(self, vendor_a, buyer, amos):
        order = make_order(
            vendor=vendor_a, by=buyer, lines=[("100", "2"), ("50", "3"), ("20", "1")]
        )
        # Line 40 is the same item as line 10, ordered twice.
        services.order_revise(
            order=order,
            by=buyer,
            changes=[
                services.AddLine(
                    services.LineInput(
                        item=order.lines.get(line_number=10).item,
                        quantity=D("10"),
                        unit_price=D("2"),
                        due_date=dt.date(2026, 12, 20),
                    )
                )
            ],
        )
        notice = announce(order, amos, (10, "40"), (20, "10"))
        receive(order, buyer, notice, (10, "30"), (20, "12"), (30, "5"), (40, "4"))
        notice.refresh_from_db()
        assert notice.status == ShipNoticeStatus.PARTIALLY_RECEIVED
        rows = {
            (r.delivery.line.line_number, r.kind, r.announced, r.received)
            for r in notice_rows(notice)
        }
        assert rows == {
            (10, "short", D("40"), D("30")),
            (20, "over", D("10"), D("12")),
            (30, "not_announced", D("0"), D("5")),
            (40, "wrong_line", D("0"), D("4")),
        }
        # Still on its way: the 10 not yet received.
        assert delivery_of(order, 10).in_transit_quantity == D("10")
        summary = Event.objects.get(kind="receipt.recorded").summary
        assert "line 10-1 short 10 (30 of 40)" in summary
        assert "line 20-1 over 2 (12 of 10)" in summary
        assert "line 30-1 not announced 5" in summary and "line 40-1 wrong line 4" in summary

    def test_the_rest_arrives_later_and_closes_it(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        notice = announce(order, amos, (10, "40"))
        receive(order, buyer, notice, (10, "25"))
        receive(order, buyer, notice, (10, "15"))
        notice.refresh_from_db()
        assert notice.status == ShipNoticeStatus.RECEIVED
        assert delivery_of(order).received_quantity == D("40")

    def test_the_buyer_closes_a_short_notice_with_a_reason(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        notice = announce(order, amos, (10, "40"))
        receive(order, buyer, notice, (10, "36"))
        refused(
            lambda: services.ship_notice_close(notice=notice, by=buyer, reason="  "),
            message="Reason is required",
            field="reason",
        )
        refused(
            lambda: services.ship_notice_close(notice=notice, by=amos, reason="x"),
            message="Only a buyer can do this.",
        )
        services.ship_notice_close(notice=notice, by=buyer, reason="4 damaged, to be credited")
        notice.refresh_from_db()
        assert notice.status == ShipNoticeStatus.CLOSED
        delivery = delivery_of(order)
        assert (delivery.in_transit_quantity, delivery.expected_date) == (D("0"), None)
        assert delivery.open_quantity == D("64")  # the 4 are owed again, not in transit
        event = Event.objects.get(kind="ship_notice.closed")
        assert event.summary == (
            f"Ship notice {notice.number} closed with difference (line 10-1 short 4 (36 of "
            "40)): 4 damaged, to be credited"
        )
        refused(
            lambda: receive(order, buyer, notice, (10, "4")),
            message="goods can be received against a notice only while it is in transit",
            field="ship_notice",
        )

    def test_a_notice_of_another_order_is_refused(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        other = make_order(vendor=vendor_a, by=buyer)
        notice = announce(other, amos, (10, "5"))
        refused(
            lambda: receive(order, buyer, notice, (10, "5")),
            message=f"is not on order {order.number}",
            field="ship_notice",
        )


class TestSyncedFromTheErp:
    """`POST /api/v1/sync/ship-notices`: created, unchanged, corrected, then refused once
    goods arrived; a synced receipt names the notice it came under by its number."""

    @pytest.fixture
    def erp(self, client, buyer):
        from vendorportal.api import tokens

        _, secret = tokens.token_create(name="ERP", vendor=None, user=buyer)

        def post(path, body):
            return client.post(
                f"/api/v1/sync/{path}",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )

        return post

    def test_created_unchanged_corrected_and_refused_after_receipt(self, erp, vendor_a, buyer):
        order = make_order(vendor=vendor_a, by=buyer, external_id="ERP-PO-9")
        body = {
            "external_id": "ERP-ASN-9",
            "order_external_id": "ERP-PO-9",
            "expected_date": ARRIVES.isoformat(),
            "ship_date": SHIPPED.isoformat(),
            "carrier": "DHL",
            "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "30"}],
        }
        assert erp("ship-notices", body).json()["result"] == "created"
        assert erp("ship-notices", body).json()["result"] == "unchanged"
        moved = {**body, "expected_date": (ARRIVES + dt.timedelta(days=1)).isoformat()}
        assert erp("ship-notices", moved).json()["result"] == "updated"
        notice = order.ship_notices.get()
        assert (notice.version, notice.external_id) == (2, "ERP-ASN-9")
        assert delivery_of(order).in_transit_quantity == D("30")

        receipt = {
            "external_id": "ERP-GR-9",
            "order_external_id": "ERP-PO-9",
            "ship_notice_number": notice.number,
            "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "30"}],
        }
        assert erp("receipts", receipt).json()["result"] == "created"
        notice.refresh_from_db()
        assert notice.status == ShipNoticeStatus.RECEIVED
        again = erp("ship-notices", {**moved, "carrier": "UPS"})
        assert again.status_code == 409, again.content
        unknown = erp(
            "receipts", {**receipt, "external_id": "ERP-GR-10", "ship_notice_number": "X"}
        )
        assert unknown.status_code == 400
        assert unknown.json()["error"]["details"]["field"] == "ship_notice_number"

    def test_an_over_shipment_from_the_erp_is_refused_in_a_batch(self, erp, vendor_a, buyer):
        make_order(vendor=vendor_a, by=buyer, external_id="ERP-PO-8")
        line = {"line_number": 10, "delivery_number": 1, "quantity": "500"}
        record = {
            "external_id": "ERP-ASN-8",
            "order_external_id": "ERP-PO-8",
            "expected_date": ARRIVES.isoformat(),
            "lines": [line],
        }
        answer = erp("ship-notices/batch", {"records": [record]}).json()
        assert answer["errors"] == 1
        assert "more than can still come" in answer["results"][0]["error"]["message"]
