"""Acknowledgements, proposals, confirmations and comments: rules and what they write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import make_order
from tests.test_purchasing_services import receive, refused
from vendorportal.audit.models import AuditEntry
from vendorportal.collaboration import services
from vendorportal.collaboration.models import (
    Acknowledgement,
    AcknowledgementResponse,
    ProposalStatus,
)
from vendorportal.events.models import Event
from vendorportal.purchasing import services as purchasing

pytestmark = pytest.mark.django_db
D = Decimal
ACCEPTED = AcknowledgementResponse.ACCEPTED


class TestAcknowledgements:
    def test_supplier_acknowledges_the_current_revision(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        ack = services.acknowledgement_record(order=order, revision=1, response=ACCEPTED, by=amos)
        assert (ack.revision, ack.user, ack.vendor) == (1, amos, vendor_a)
        event = Event.objects.filter(order=order).last()
        assert event.kind == "acknowledgement.recorded" and not event.internal

    def test_stale_revision_is_refused_naming_the_current_one(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        purchasing.order_revise(
            order=order, by=buyer, changes=[purchasing.SetLine(10, "unit_price", D("2.4"))]
        )
        error = refused(
            lambda: services.acknowledgement_record(
                order=order, revision=1, response=ACCEPTED, by=amos
            ),
            message=f"Revision 1 of {order.number} is no longer current: "
            "the order is at revision 2",
            field="revision",
        )
        assert error.code == "stale_revision"
        assert not Acknowledgement.objects.exists()

    def test_rejection_needs_a_comment_and_a_revision_is_answered_once(
        self, vendor_a, buyer, amos, alice
    ):
        order = make_order(vendor=vendor_a, by=buyer)
        refused(
            lambda: services.acknowledgement_record(
                order=order, revision=1, response=AcknowledgementResponse.REJECTED, by=amos
            ),
            message="A comment is required",
            field="comment",
        )
        services.acknowledgement_record(order=order, revision=1, response=ACCEPTED, by=amos)
        refused(
            lambda: services.acknowledgement_record(
                order=order, revision=1, response=ACCEPTED, by=alice
            ),
            message="already acknowledged (accepted)",
        )

    def test_another_vendor_cannot_acknowledge(self, vendor_a, buyer, bob):
        order = make_order(vendor=vendor_a, by=buyer)
        error = refused(
            lambda: services.acknowledgement_record(
                order=order, revision=1, response=ACCEPTED, by=bob
            ),
            message="No such order.",
        )
        assert error.code == "not_found"


class TestProposals:
    def test_proposal_never_overwrites_and_acceptance_makes_an_acknowledged_revision(
        self, vendor_a, buyer, amos
    ):
        order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2026, 12, 15))
        line = order.lines.get()
        delivery = order.deliveries.get()
        proposal = services.proposal_create(
            order=order,
            line=line,
            delivery=delivery,
            by=amos,
            due_date=dt.date(2026, 12, 22),
            reason="Raw material late",
        )
        delivery.refresh_from_db()
        assert delivery.due_date == dt.date(2026, 12, 15)  # unchanged until the buyer decides
        assert proposal.current_due_date == dt.date(2026, 12, 15)
        assert Event.objects.filter(order=order).last().kind == "proposal.created"

        services.proposal_accept(proposal=proposal, by=buyer, note="OK this once")
        delivery.refresh_from_db()
        order.refresh_from_db()
        proposal.refresh_from_db()
        assert delivery.due_date == dt.date(2026, 12, 22)
        assert order.revision == 2 and proposal.resulting_revision == 2
        assert proposal.status == ProposalStatus.ACCEPTED
        ack = Acknowledgement.objects.get(order=order, revision=2)
        assert ack.user == amos and ack.response == ACCEPTED
        kinds = list(Event.objects.filter(order=order).values_list("kind", flat=True))
        assert kinds[-2:] == ["proposal.created", "proposal.accepted"]
        change = order.revisions.get(number=2).changes
        assert change == [
            {
                "op": "set",
                "target": "delivery",
                "line": 10,
                "delivery": 1,
                "field": "due_date",
                "old": "2026-12-15",
                "new": "2026-12-22",
            }
        ]

    def test_price_proposal_and_rejection(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50")])
        line = order.lines.get()
        proposal = services.proposal_create(
            order=order, line=line, by=amos, unit_price=D("2.80"), reason="Copper surcharge"
        )
        refused(
            lambda: services.proposal_reject(proposal=proposal, by=buyer, note=""),
            message="A reason for the supplier is required",
            field="note",
        )
        services.proposal_reject(proposal=proposal, by=buyer, note="Contract price holds")
        line.refresh_from_db()
        assert line.unit_price == D("2.50")
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.REJECTED

    def test_one_pending_proposal_per_target_then_withdraw(self, vendor_a, buyer, amos, alice):
        order = make_order(vendor=vendor_a, by=buyer)
        line, delivery = order.lines.get(), order.deliveries.get()
        first = services.proposal_create(
            order=order, line=line, delivery=delivery, by=amos, quantity=D("90"), reason="Short"
        )
        refused(
            lambda: services.proposal_create(
                order=order, line=line, delivery=delivery, by=alice, quantity=D("80"), reason="x"
            ),
            message="already waiting for the buyer",
        )
        services.proposal_withdraw(proposal=first, by=amos)
        refused(
            lambda: services.proposal_accept(proposal=first, by=buyer),
            message="already withdrawn",
        )
        services.proposal_create(
            order=order, line=line, delivery=delivery, by=alice, quantity=D("80"), reason="x"
        )

    def test_only_buyers_decide_and_suppliers_propose_on_their_own(
        self, vendor_a, buyer, amos, bob
    ):
        order = make_order(vendor=vendor_a, by=buyer)
        line, delivery = order.lines.get(), order.deliveries.get()
        refused(
            lambda: services.proposal_create(
                order=order, line=line, delivery=delivery, by=bob, quantity=D("1"), reason="x"
            ),
            message="No such order.",
        )
        proposal = services.proposal_create(
            order=order, line=line, delivery=delivery, by=amos, quantity=D("95"), reason="x"
        )
        refused(
            lambda: services.proposal_accept(proposal=proposal, by=amos),
            message="Only a buyer",
        )

    def test_proposal_below_received_is_refused(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        receive(order, 10, "40", buyer)
        refused(
            lambda: services.proposal_create(
                order=order,
                line=order.lines.get(),
                delivery=order.deliveries.get(),
                by=amos,
                quantity=D("30"),
                reason="x",
            ),
            message="40 is already received",
            field="quantity",
        )


class TestConfirmAndComments:
    def test_confirm_sets_the_promised_date(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2026, 12, 15))
        delivery = services.delivery_confirm(delivery=order.deliveries.get(), by=amos)
        assert delivery.promised_date == dt.date(2026, 12, 15)
        refused(
            lambda: services.delivery_confirm(delivery=delivery, by=amos),
            message="already confirmed for 15 Dec 2026",
        )

    def test_comments_shared_and_internal(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer)
        line = order.lines.get()
        services.comment_add(order=order, by=amos, body="Can we ship early?", line=line)
        services.comment_add(order=order, by=buyer, body="Check their capacity", internal=True)
        shared, internal = Event.objects.filter(kind="comment.added").order_by("id")
        assert not shared.internal and internal.internal
        refused(
            lambda: services.comment_add(order=order, by=amos, body="psst", internal=True),
            message="Only buyers can write internal comments",
            field="internal",
        )
        refused(
            lambda: services.comment_add(order=order, by=amos, body="   "),
            message="The comment is required",
            field="body",
        )


class TestPromiseWhenWhatItPromisedChanges:
    """One rule (services.editor._Editor._renew_promise): accepting the supplier's own date or
    quantity makes it the promise; any other change of either withdraws the promise."""

    def confirmed_order(self, vendor_a, buyer, amos, **kwargs):
        order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2026, 12, 15), **kwargs)
        delivery = order.deliveries.get()
        services.delivery_confirm(delivery=delivery, by=amos)
        delivery.refresh_from_db()
        assert delivery.promised_date == dt.date(2026, 12, 15)
        return order, delivery

    @pytest.mark.parametrize(
        "proposed",
        [{"due_date": dt.date(2026, 12, 22)}, {"quantity": D(80)}],
        ids=["date", "quantity"],
    )
    def test_the_suppliers_own_proposal_accepted_is_its_promise(
        self, vendor_a, buyer, amos, proposed
    ):
        order, delivery = self.confirmed_order(vendor_a, buyer, amos)
        proposal = services.proposal_create(
            order=order,
            line=delivery.line,
            delivery=delivery,
            by=amos,
            reason="Furnace repair",
            **proposed,
        )
        services.proposal_accept(proposal=proposal, by=buyer)
        delivery.refresh_from_db()
        assert delivery.promised_date == delivery.due_date  # confirmed as it now stands
        # Nothing left to confirm: the supplier is not asked again.
        refused(
            lambda: services.delivery_confirm(delivery=delivery, by=amos),
            message="already confirmed",
        )
        event = Event.objects.filter(order=order).last()
        assert event.kind == "proposal.accepted"
        key = "line 10.delivery 1.promised_date"
        changes = AuditEntry.objects.get(event=event).changes
        if "due_date" in proposed:  # (for a quantity, the promised date stays the same)
            assert changes[key] == ["2026-12-15", "2026-12-22"]

    def test_a_proposal_never_confirmed_becomes_the_promise_too(self, vendor_a, buyer, amos):
        order = make_order(vendor=vendor_a, by=buyer, due=dt.date(2026, 12, 15))
        delivery = order.deliveries.get()
        proposal = services.proposal_create(
            order=order,
            line=delivery.line,
            delivery=delivery,
            by=amos,
            due_date=dt.date(2026, 12, 22),
            reason="Late steel",
        )
        services.proposal_accept(proposal=proposal, by=buyer)
        delivery.refresh_from_db()
        assert delivery.promised_date == dt.date(2026, 12, 22)

    @pytest.mark.parametrize(
        ("field", "value"),
        [("due_date", dt.date(2026, 12, 29)), ("quantity", D(90))],
    )
    def test_the_buyers_revision_withdraws_the_promise(self, vendor_a, buyer, amos, field, value):
        order, delivery = self.confirmed_order(vendor_a, buyer, amos)
        purchasing.order_revise(
            order=order, by=buyer, changes=[purchasing.SetDelivery(10, 1, field, value)]
        )
        delivery.refresh_from_db()
        assert delivery.promised_date is None
        changes = AuditEntry.objects.get(event=Event.objects.filter(order=order).last()).changes
        assert changes["line 10.delivery 1.promised_date"] == ["2026-12-15", None]
        # The supplier confirms the delivery as it now stands.
        services.delivery_confirm(delivery=delivery, by=amos)
        delivery.refresh_from_db()
        assert delivery.promised_date == delivery.due_date

    def test_a_change_elsewhere_on_the_order_keeps_the_promise(self, vendor_a, buyer, amos):
        order, delivery = self.confirmed_order(vendor_a, buyer, amos)
        purchasing.order_revise(
            order=order, by=buyer, changes=[purchasing.SetLine(10, "unit_price", D("2.6"))]
        )
        delivery.refresh_from_db()
        assert delivery.promised_date == dt.date(2026, 12, 15)

    def test_a_changed_release_withdraws_its_promise(self, vendor_a, buyer, amos):
        order = make_order(
            vendor=vendor_a,
            by=buyer,
            kind="blanket",
            lines=[("1000", "2.50")],
            valid_from=dt.date(2026, 12, 1),
            valid_to=dt.date(2027, 11, 30),
        )
        line = order.lines.get()
        release = purchasing.release_add(
            line=line, quantity=D(100), due_date=dt.date(2027, 1, 10), by=buyer
        )
        other = purchasing.release_add(
            line=line, quantity=D(100), due_date=dt.date(2027, 2, 10), by=buyer
        )
        for r in (release, other):
            services.delivery_confirm(delivery=r, by=amos)
        purchasing.order_revise(
            order=order,
            by=buyer,
            changes=[
                purchasing.SetDelivery(
                    10, release.delivery_number, "due_date", dt.date(2027, 1, 17)
                )
            ],
        )
        release.refresh_from_db()
        other.refresh_from_db()
        assert release.promised_date is None
        assert other.promised_date == dt.date(2027, 2, 10)  # its own promise stands
