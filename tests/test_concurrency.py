"""Concurrency with real threads: many trials, 0 anomalies.

Each scenario starts two (or more) threads at a `threading.Barrier`, each with its own
database connection (Django's connections are per thread; each thread closes its own at the
end), and runs the same race `CONCURRENCY_TRIALS` times (default 30). After every trial the
database is checked for what must hold whatever the interleaving: no lost update, no stale
acknowledgement, nothing recorded twice, contiguous revisions with one event each. An
anomaly is counted, not raised at once, so the summary line ("N trials, 0 anomalies") says
how often a race bit; the test then asserts 0.

The issue asks for PostgreSQL, where writers really interleave; the same scenarios run on
SQLite too (the embedded default), where `transaction_mode=IMMEDIATE` and the busy timeout
make writers take turns: the invariants must hold there as well.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django_scopes import scopes_disabled

from tests.factories import ItemFactory, UserFactory, VendorFactory, make_order
from vendorportal.accounts.models import Role, User
from vendorportal.api import tokens
from vendorportal.api.models import IdempotentAnswer
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import Acknowledgement, ChangeProposal, ProposalStatus
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    Payment,
    PurchaseOrder,
    Receipt,
    Revision,
    ShipNotice,
)

pytestmark = pytest.mark.django_db(transaction=True)

TRIALS = int(os.environ.get("CONCURRENCY_TRIALS", "30"))
BASE = "/api/v1"


# --- the harness ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one thread's call did: its value, a refusal (DomainError) or another error."""

    value: Any = None
    refused: DomainError | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None and self.error is None


def race(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run the calls at once, one thread each, started together; each thread uses (and
    closes) its own database connection."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            with scopes_disabled():
                outcomes[index].value = call()
        except DomainError as refusal:
            outcomes[index].refused = refusal
        except BaseException as error:
            outcomes[index].error = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread hung (deadlock?)"
    return outcomes


@dataclass
class Tally:
    name: str
    trials: int = 0
    anomalies: list[str] = field(default_factory=list)
    # Which way the races went (shows both interleavings were exercised).
    seen: Counter[str] = field(default_factory=Counter)

    def check(self, trial: int, condition: bool, what: str) -> None:
        if not condition:
            self.anomalies.append(f"trial {trial}: {what}")

    def report(self) -> None:
        mix = f" ({', '.join(f'{k}: {n}' for k, n in sorted(self.seen.items()))})"
        print(
            f"\n{self.name}: {self.trials} trials, {len(self.anomalies)} anomalies"
            + mix * bool(self.seen)
        )
        assert not self.anomalies, "\n".join(self.anomalies[:20])


def api_post(secret: str, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    """One POST from a fresh client (in the calling thread, so on its own connection)."""
    response = Client().post(
        BASE + path,
        data=json.dumps(body, default=str),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        **headers,
    )
    return response.status_code, response.json()


def revision_numbers(order: PurchaseOrder) -> list[int]:
    return list(
        Revision.objects.filter(order=order).order_by("number").values_list("number", flat=True)
    )


def revised_events(order: PurchaseOrder, kind: str = "order.revised") -> list[int]:
    return sorted(
        Event.objects.filter(order=order, kind=kind).values_list("revision", flat=True)  # type: ignore[misc]
    )


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    vendor = VendorFactory(code="ACME", name="Acme Components", external_id="ERP-V-ACME")
    buyers = [
        UserFactory(email=f"buyer{i}@example.com", role=Role.BUYER, first_name=f"B{i}")
        for i in (1, 2)
    ]
    amos = UserFactory(email="amos@acme.example", role=Role.VENDOR_USER, vendor=vendor)
    integration = UserFactory(email="erp@example.com", role=Role.BUYER, is_staff=True)
    _, vendor_secret = tokens.token_create(name="supplier", vendor=vendor, user=amos)
    _, erp_secret = tokens.token_create(name="erp", vendor=None, user=integration)
    return {
        "vendor": vendor,
        "buyers": buyers,
        "amos": amos,
        "vendor_token": vendor_secret,
        "erp_token": erp_secret,
    }


def first_delivery(order: PurchaseOrder) -> Delivery:
    return Delivery.objects.select_related("line").get(
        order=order, line__line_number=10, delivery_number=1
    )


# --- orders -----------------------------------------------------------------------------


def test_two_buyers_revising_one_order(people: dict[str, Any]) -> None:
    """Both edits land (each its own revision and event), or one is refused by name."""
    tally = Tally("two buyers revise one order")
    vendor, (bea, ben) = people["vendor"], people["buyers"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        note, price = f"note {trial}", Decimal("3.25")
        outcomes = race(
            lambda o=order, n=note: services.order_revise(
                order=o, changes=[services.SetHeader("notes_to_vendor", n)], by=bea
            ),
            lambda o=order, p=price: services.order_revise(
                order=o, changes=[services.SetLine(10, "unit_price", p)], by=ben
            ),
        )
        tally.trials += 1
        tally.check(trial, all(o.error is None for o in outcomes), f"error: {outcomes}")
        tally.check(
            trial,
            all(o.ok or o.refused.code in {"conflict", "stale_revision"} for o in outcomes),  # type: ignore[union-attr]
            f"refused without naming the conflict: {outcomes}",
        )
        order.refresh_from_db()
        line = order.lines.get(line_number=10)
        accepted = sum(o.ok for o in outcomes)
        tally.check(trial, not outcomes[0].ok or order.notes_to_vendor == note, "lost the note")
        tally.check(trial, not outcomes[1].ok or line.unit_price == price, "lost the price")
        tally.check(trial, order.revision == 1 + accepted, f"revision {order.revision}")
        tally.check(
            trial,
            revision_numbers(order) == list(range(1, 2 + accepted)),
            f"revisions {revision_numbers(order)}",
        )
        tally.check(
            trial,
            revised_events(order) == list(range(2, 2 + accepted)),
            f"events {revised_events(order)}",
        )
    tally.report()


def test_acknowledging_while_the_buyer_revises(people: dict[str, Any]) -> None:
    """An acknowledgement is stored only against the revision current when it commits."""
    tally = Tally("supplier acknowledges while a buyer revises")
    vendor, bea, amos = people["vendor"], people["buyers"][0], people["amos"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        outcomes = race(
            lambda o=order: collaboration.acknowledgement_record(
                order=o, revision=1, response="accepted", by=amos
            ),
            lambda o=order: services.order_revise(
                order=o,
                changes=[services.SetDelivery(10, 1, "due_date", dt.date(2027, 1, 9))],
                by=bea,
            ),
        )
        tally.trials += 1
        ack, revise = outcomes
        tally.check(trial, revise.ok and ack.error is None, f"outcomes {outcomes}")
        acks = list(Acknowledgement.objects.filter(order=order))
        second = Revision.objects.filter(order=order, number=2).first()
        tally.seen["acknowledged first" if ack.ok else "refused as stale"] += 1
        if ack.ok:
            # Stored at revision 1: revision 2 must have been made after it committed.
            tally.check(trial, [a.revision for a in acks] == [1], f"acks {acks}")
            tally.check(
                trial,
                second is not None and acks[0].created_at <= second.created_at,
                "acknowledged revision 1 after revision 2 was made",
            )
        else:
            tally.check(trial, ack.refused.code == "stale_revision", f"refused {ack.refused}")  # type: ignore[union-attr]
            tally.check(trial, acks == [], f"a refused acknowledgement was stored: {acks}")
        order.refresh_from_db()
        tally.check(
            trial, revision_numbers(order) == [1, 2], f"revisions {revision_numbers(order)}"
        )
    tally.report()


def test_po_numbers_unique_under_concurrent_creation(people: dict[str, Any]) -> None:
    tally = Tally("PO numbering under concurrent creation")
    vendor, (bea, ben) = people["vendor"], people["buyers"]
    item = ItemFactory()

    def create(by: User) -> PurchaseOrder:
        line = services.LineInput(
            item=item, quantity=Decimal(5), unit_price=Decimal(1), due_date=dt.date(2027, 1, 5)
        )
        return services.order_create(vendor=vendor, by=by, lines=[line])

    for trial in range(TRIALS):
        outcomes = race(lambda: create(bea), lambda: create(ben), lambda: create(bea))
        tally.trials += 1
        tally.check(trial, all(o.ok for o in outcomes), f"outcomes {outcomes}")
        numbers = [o.value.number for o in outcomes if o.ok]
        tally.check(trial, len(set(numbers)) == len(numbers), f"numbers {numbers}")
    tally.check(
        -1,
        PurchaseOrder.objects.count() == 3 * TRIALS,
        f"{PurchaseOrder.objects.count()} orders for {3 * TRIALS} creations",
    )
    tally.report()


# --- receipts ---------------------------------------------------------------------------


def test_the_same_receipt_posted_twice_via_the_service(people: dict[str, Any]) -> None:
    tally = Tally("same receipt twice via the service")
    vendor, bea = people["vendor"], people["buyers"][0]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        delivery = first_delivery(order)

        def post(o: PurchaseOrder = order, d: Delivery = delivery, t: int = trial) -> Receipt:
            return services.receipt_record(
                order=o,
                lines=[services.ReceiptLineInput(d, Decimal(40))],
                by=bea,
                number=f"GR-T{t}",
                external_id=f"ERP-GR-S{t}",
            )

        outcomes = race(post, post)
        tally.trials += 1
        tally.check(trial, sum(o.ok for o in outcomes) == 1, f"outcomes {outcomes}")
        tally.check(
            trial,
            all(o.ok or o.refused.code == "duplicate" for o in outcomes),  # type: ignore[union-attr]
            f"outcomes {outcomes}",
        )
        delivery.refresh_from_db()
        tally.check(trial, Receipt.objects.filter(order=order).count() == 1, "receipts")
        tally.check(
            trial, delivery.received_quantity == 40, f"received {delivery.received_quantity}"
        )
    tally.report()


def test_the_same_receipt_synced_twice(people: dict[str, Any]) -> None:
    """The sync API's upsert by external id: one receipt, counted once, both answered."""
    tally = Tally("same receipt twice via the sync API")
    vendor, bea, erp = people["vendor"], people["buyers"][0], people["erp_token"]
    for trial in range(TRIALS):
        order = make_order(
            vendor=vendor, by=bea, lines=[("100", "2.50")], external_id=f"ERP-PO-R{trial}"
        )
        record = {
            "external_id": f"ERP-GR-{trial}",
            "order_external_id": order.external_id,
            "lines": [{"line_number": 10, "delivery_number": 1, "quantity": "40"}],
        }
        outcomes = race(*[partial(api_post, erp, "/sync/receipts", record)] * 2)
        tally.trials += 1
        answers = sorted(o.value[1].get("result", "?") if o.ok else "?" for o in outcomes)
        statuses = [o.value[0] if o.ok else None for o in outcomes]
        tally.check(trial, statuses == [200, 200], f"statuses {statuses} {outcomes}")
        tally.check(trial, answers == ["created", "unchanged"], f"answers {answers}")
        delivery = first_delivery(order)
        tally.check(trial, Receipt.objects.filter(order=order).count() == 1, "receipts")
        tally.check(
            trial, delivery.received_quantity == 40, f"received {delivery.received_quantity}"
        )
    tally.report()


# --- the API ----------------------------------------------------------------------------


def test_the_same_idempotency_key_twice_at_once(people: dict[str, Any]) -> None:
    """One write, and both requests get the same answer."""
    tally = Tally("same Idempotency-Key twice at once")
    vendor, bea, secret = people["vendor"], people["buyers"][0], people["vendor_token"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        body = {"revision": 1, "response": "accepted", "comment": ""}
        path = f"/orders/{order.number}/acknowledgements"
        post = partial(api_post, secret, path, body, HTTP_IDEMPOTENCY_KEY=f"ack-{trial}")
        outcomes = race(post, post)
        tally.trials += 1
        tally.check(trial, all(o.ok for o in outcomes), f"outcomes {outcomes}")
        answers = [o.value for o in outcomes if o.ok]
        tally.check(
            trial,
            len(answers) == 2 and answers[0] == answers[1] and answers[0][0] == 201,
            f"answers {answers}",
        )
        tally.check(trial, Acknowledgement.objects.filter(order=order).count() == 1, "acks")
        tally.check(
            trial,
            Event.objects.filter(order=order, kind="acknowledgement.recorded").count() == 1,
            "events",
        )
        tally.check(
            trial, IdempotentAnswer.objects.filter(key=f"ack-{trial}").count() == 1, "answers"
        )
    tally.report()


def test_proposal_accepted_and_withdrawn_at_once(people: dict[str, Any]) -> None:
    tally = Tally("proposal accept vs withdraw")
    vendor, bea, amos = people["vendor"], people["buyers"][0], people["amos"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        delivery = first_delivery(order)
        proposal = collaboration.proposal_create(
            order=order,
            line=delivery.line,
            delivery=delivery,
            by=amos,
            reason="Material late",
            due_date=dt.date(2027, 2, 1),
        )
        accept, withdraw = race(
            lambda p=proposal: collaboration.proposal_accept(proposal=p, by=bea),
            lambda p=proposal: collaboration.proposal_withdraw(proposal=p, by=amos),
        )
        tally.trials += 1
        tally.check(trial, accept.ok != withdraw.ok, f"outcomes {accept} {withdraw}")
        tally.seen["accepted" if accept.ok else "withdrawn"] += 1
        loser = withdraw if accept.ok else accept
        tally.check(
            trial,
            loser.refused is not None and loser.refused.code == "not_pending",
            f"loser {loser}",
        )
        proposal.refresh_from_db()
        order.refresh_from_db()
        delivery.refresh_from_db()
        if accept.ok:
            tally.check(trial, proposal.status == ProposalStatus.ACCEPTED, proposal.status)
            tally.check(trial, order.revision == 2 and proposal.resulting_revision == 2, "rev")
            tally.check(trial, delivery.due_date == dt.date(2027, 2, 1), "the date not applied")
        else:
            tally.check(trial, proposal.status == ProposalStatus.WITHDRAWN, proposal.status)
            tally.check(trial, order.revision == 1, f"revision {order.revision}")
            tally.check(trial, delivery.due_date != dt.date(2027, 2, 1), "applied anyway")
        tally.check(trial, ChangeProposal.objects.filter(order=order).count() == 1, "proposals")
    tally.report()


# --- the sync API -----------------------------------------------------------------------


def _order_record(external_id: str, number: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "number": number,
        "vendor_external_id": "ERP-V-ACME",
        "lines": [
            {
                "line_number": 1,
                "quantity": "100",
                "unit_price": "2.50",
                "description": "Hex bolt",
                "deliveries": [{"delivery_number": 1, "quantity": "100", "due_date": "2027-01-15"}],
            }
        ],
    }


def test_two_syncs_of_the_same_new_order(people: dict[str, Any]) -> None:
    tally = Tally("two syncs of the same new order")
    erp = people["erp_token"]
    for trial in range(TRIALS):
        record = _order_record(f"ERP-PO-N{trial}", f"PO-S{trial}")
        outcomes = race(*[partial(api_post, erp, "/sync/orders", record)] * 2)
        tally.trials += 1
        statuses = [o.value[0] if o.ok else repr(o.error) for o in outcomes]
        answers = sorted(o.value[1].get("result", "?") if o.ok else "?" for o in outcomes)
        tally.check(trial, statuses == [200, 200], f"statuses {statuses}")
        tally.check(trial, answers == ["created", "unchanged"], f"answers {answers}")
        orders = list(PurchaseOrder.objects.filter(external_id=record["external_id"]))
        tally.check(trial, len(orders) == 1, f"{len(orders)} orders")
        if orders:
            tally.check(trial, revision_numbers(orders[0]) == [1], "revisions")
            tally.check(
                trial, Event.objects.filter(order=orders[0], kind="order.issued").count() == 1, "ev"
            )
    tally.report()


def test_invoice_and_payment_duplicates_via_sync(people: dict[str, Any]) -> None:
    tally = Tally("invoice and payment duplicates via sync")
    vendor, bea, erp = people["vendor"], people["buyers"][0], people["erp_token"]
    for trial in range(TRIALS):
        order = make_order(
            vendor=vendor, by=bea, lines=[("100", "2.50")], external_id=f"ERP-PO-I{trial}"
        )
        services.receipt_record(
            order=order,
            lines=[services.ReceiptLineInput(first_delivery(order), Decimal(100))],
            by=bea,
        )
        invoice = {
            "external_id": f"ERP-INV-{trial}",
            "vendor_external_id": "ERP-V-ACME",
            "number": f"INV-{trial}",
            "lines": [
                {
                    "order_external_id": order.external_id,
                    "line_number": 10,
                    "quantity": "100",
                    "unit_price": "2.50",
                }
            ],
        }
        payment = {
            "external_id": f"ERP-PAY-{trial}",
            "invoice_external_id": invoice["external_id"],
            "amount": "100.00",
        }
        first = race(*[partial(api_post, erp, "/sync/invoices", invoice)] * 2)
        second = race(*[partial(api_post, erp, "/sync/payments", payment)] * 2)
        tally.trials += 1
        for what, outcomes in (("invoice", first), ("payment", second)):
            statuses = [o.value[0] if o.ok else repr(o.error) for o in outcomes]
            answers = sorted(o.value[1].get("result", "?") if o.ok else "?" for o in outcomes)
            tally.check(trial, statuses == [200, 200], f"{what} statuses {statuses}")
            tally.check(trial, answers == ["created", "unchanged"], f"{what} answers {answers}")
        tally.check(
            trial, Invoice.objects.filter(external_id=invoice["external_id"]).count() == 1, "inv"
        )
        payments = Payment.objects.filter(invoice__external_id=invoice["external_id"])
        tally.check(trial, payments.count() == 1, f"{payments.count()} payments")
    tally.report()


# --- ship notices -----------------------------------------------------------------------


def test_two_notices_for_the_last_open_quantity_at_once(people: dict[str, Any]) -> None:
    """Two logins announce the last 60 at once: one notice is taken, the other refused
    with the numbers; never 120 in transit on a delivery of 100 with 40 received."""
    tally = Tally("two ship notices for the last open quantity")
    vendor, bea, amos = people["vendor"], people["buyers"][0], people["amos"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        delivery = first_delivery(order)
        services.receipt_record(
            order=order, lines=[services.ReceiptLineInput(delivery, Decimal(40))], by=bea
        )

        def announce(o: PurchaseOrder = order, d: Delivery = delivery) -> Any:
            return services.ship_notice_create(
                order=o,
                by=amos,
                lines=[services.ShipNoticeLineInput(d, Decimal(60))],
                expected_date=dt.date(2026, 12, 10),
                ship_date=dt.date(2026, 12, 8),
            )

        outcomes = race(announce, announce)
        tally.trials += 1
        tally.check(trial, sum(o.ok for o in outcomes) == 1, f"outcomes {outcomes}")
        tally.check(
            trial,
            all(o.ok or o.refused.code == "over_shipment" for o in outcomes),  # type: ignore[union-attr]
            f"outcomes {outcomes}",
        )
        delivery.refresh_from_db()
        notices = ShipNotice.objects.filter(order=order)
        tally.check(trial, notices.count() == 1, f"{notices.count()} notices")
        tally.check(
            trial,
            delivery.in_transit_quantity == 60,
            f"in transit {delivery.in_transit_quantity}",
        )
        tally.check(
            trial,
            Event.objects.filter(order=order, kind="ship_notice.submitted").count() == 1,
            "events",
        )
    tally.report()


def test_a_receipt_racing_a_notice_correction(people: dict[str, Any]) -> None:
    """The buyer receives against a notice while the supplier corrects it: either the
    correction comes first and the receipt is reconciled against it, or the receipt comes
    first and the correction is refused. In transit always equals what the notice still
    announces minus what arrived."""
    tally = Tally("a receipt racing a ship-notice correction")
    vendor, bea, amos = people["vendor"], people["buyers"][0], people["amos"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        delivery = first_delivery(order)
        notice = services.ship_notice_create(
            order=order,
            by=amos,
            lines=[services.ShipNoticeLineInput(delivery, Decimal(50))],
            expected_date=dt.date(2026, 12, 10),
            ship_date=dt.date(2026, 12, 8),
        )

        def receive(o: PurchaseOrder = order, d: Delivery = delivery, n: Any = notice) -> Any:
            return services.receipt_record(
                order=o,
                by=bea,
                ship_notice=n,
                lines=[services.ReceiptLineInput(d, Decimal(30))],
            )

        def correct(d: Delivery = delivery, n: Any = notice) -> Any:
            return services.ship_notice_correct(
                notice=n, by=amos, lines=[services.ShipNoticeLineInput(d, Decimal(45))]
            )

        outcomes = race(receive, correct)
        tally.trials += 1
        tally.check(trial, outcomes[0].ok, f"receipt {outcomes[0]}")
        tally.check(
            trial,
            outcomes[1].ok
            or "corrected only until goods are received" in outcomes[1].refused.message,  # type: ignore[union-attr]
            f"correction {outcomes[1]}",
        )
        tally.seen["corrected first" if outcomes[1].ok else "received first"] += 1
        delivery.refresh_from_db()
        announced = notice.lines.get().quantity
        tally.check(
            trial,
            announced == (Decimal(45) if outcomes[1].ok else Decimal(50)),
            f"announced {announced}",
        )
        tally.check(
            trial,
            delivery.in_transit_quantity == announced - 30,
            f"in transit {delivery.in_transit_quantity}, announced {announced}",
        )
        tally.check(
            trial, delivery.received_quantity == 30, f"received {delivery.received_quantity}"
        )
    tally.report()


# --- invoices from the order ------------------------------------------------------------


def test_two_invoices_with_one_number_at_once(people: dict[str, Any]) -> None:
    """Two logins of one supplier invoice the same received 50 at once, with one number
    (even trials) or two: one is taken, the other refused (the number taken, or the 50
    already invoiced); never both, so nothing is invoiced twice without a flag."""
    tally = Tally("two supplier invoices with one number")
    vendor, bea, amos = people["vendor"], people["buyers"][0], people["amos"]
    for trial in range(TRIALS):
        order = make_order(vendor=vendor, by=bea, lines=[("100", "2.50")])
        services.receipt_record(
            order=order,
            lines=[services.ReceiptLineInput(first_delivery(order), Decimal(50))],
            by=bea,
        )

        def send(
            o: PurchaseOrder = order, n: str = f"INV-RACE-{trial}", one: bool = trial % 2 == 0
        ) -> Any:
            number = n if one else f"{n}-{threading.get_ident()}"
            return services.invoice_submit(
                order=o,
                number=number,
                by=amos,
                lines=[services.InvoiceLineInput(o.lines.get(), Decimal(50), Decimal("2.50"))],
            )

        outcomes = race(send, send)
        tally.trials += 1
        tally.check(trial, sum(o.ok for o in outcomes) == 1, f"outcomes {outcomes}")
        tally.check(
            trial,
            all(
                o.ok or o.refused.code in ("duplicate", "match_exception")  # type: ignore[union-attr]
                for o in outcomes
            ),
            f"outcomes {outcomes}",
        )
        invoices = Invoice.objects.filter(vendor=vendor, number__startswith=f"INV-RACE-{trial}")
        tally.check(trial, invoices.count() == 1, f"{invoices.count()} invoices")
        tally.check(
            trial,
            Event.objects.filter(order=order, kind="invoice.submitted").count() == 1,
            "events",
        )
        tally.check(
            trial,
            services.still_to_invoice(order)[0].quantity == 0,
            "the received 50 invoiced once",
        )
    tally.report()
