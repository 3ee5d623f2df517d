"""Invoices from the order (the PO flip): the supplier invoices what was received, sees the
three-way match before sending, the buyer approves or disputes, the supplier withdraws
before approval; credit notes reduce an invoice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import make_order
from tests.smtp import parts
from tests.test_purchasing_services import refused
from vendorportal.events.models import Event
from vendorportal.purchasing import services
from vendorportal.purchasing.models import Invoice, InvoiceOrigin, InvoiceStatus, MatchStatus

pytestmark = pytest.mark.django_db
D = Decimal


def received(order, by, quantity, line_number=10):
    delivery = order.deliveries.get(line__line_number=line_number, delivery_number=1)
    services.receipt_record(
        order=order, by=by, lines=[services.ReceiptLineInput(delivery, D(quantity))]
    )


def line(order, number=10):
    return order.lines.get(line_number=number)


def submit(order, by, *entries, number="INV-1", **kwargs):
    """Entries of (line number, quantity, unit price)."""
    return services.invoice_submit(
        order=order,
        number=number,
        by=by,
        lines=[services.InvoiceLineInput(line(order, n), D(q), D(p)) for n, q, p in entries],
        **kwargs,
    )


@pytest.fixture
def order(vendor_a, buyer):
    order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50"), ("40", "10")])
    received(order, buyer, "60")
    return order


class TestSubmitting:
    def test_the_form_starts_with_what_was_received_and_not_invoiced(self, order, amos, buyer):
        assert [
            (e.order_line.line_number, e.quantity) for e in services.still_to_invoice(order)
        ] == [
            (10, D("60")),
            (20, D("0")),
        ]
        submit(order, amos, (10, "25", "2.50"))
        left = services.still_to_invoice(order)
        assert (left[0].quantity, left[0].unit_price) == (D("35"), D("2.50"))

    def test_a_matched_invoice_waits_for_approval_with_tax_and_freight(self, order, amos):
        invoice = submit(order, amos, (10, "60", "2.50"), tax_amount="30", freight_amount="12.5")
        assert (invoice.status, invoice.origin) == (InvoiceStatus.SUBMITTED, InvoiceOrigin.SUPPLIER)
        assert (invoice.lines_amount, invoice.tax_amount, invoice.freight_amount) == (
            D("150.00"),
            D("30.00"),
            D("12.50"),
        )
        assert invoice.total_amount == D("192.50")
        assert invoice.lines.get().match_status == MatchStatus.MATCHED
        event = Event.objects.filter(kind="invoice.submitted").get()
        assert event.vendor_id == order.vendor_id and "matched when submitted" in event.summary

    def test_the_preview_is_the_match_the_buyer_will_see(self, order, amos):
        entries = [
            services.InvoiceLineInput(line(order), D("70"), D("2.50")),
            services.InvoiceLineInput(line(order, 20), D("5"), D("11")),
        ]
        preview = services.invoice_match_preview(entries)
        assert [p.status for p in preview] == [
            MatchStatus.QUANTITY_EXCEPTION,
            MatchStatus.QUANTITY_AND_PRICE,
        ]
        assert "70 invoiced in all is more than the 60 received" in preview[0].explain()
        invoice = submit(order, amos, (10, "70", "2.50"), (20, "5", "11"), accept_exceptions=True)
        assert [il.match_status for il in invoice.lines.order_by("pk")] == [
            p.status for p in preview
        ]

    def test_more_than_received_is_refused_unless_sent_as_a_flagged_exception(self, order, amos):
        error = refused(
            lambda: submit(order, amos, (10, "61", "2.50")),
            message="Line 10: 61 invoiced in all is more than the 60 received",
            field="accept_exceptions",
        )
        assert error.code == "match_exception"
        flagged = submit(order, amos, (10, "61", "2.50"), accept_exceptions=True)
        assert flagged.lines.get().match_status == MatchStatus.QUANTITY_EXCEPTION

    def test_a_duplicate_number_names_the_earlier_invoice(self, order, amos):
        submit(order, amos, (10, "10", "2.50"), number="INV-7")
        refused(
            lambda: submit(order, amos, (10, "10", "2.50"), number="INV-7"),
            message="ACME already has an invoice numbered INV-7 (dated 2026-11-30, "
            "awaiting approval, USD 25.00)",
            field="number",
        )

    def test_another_vendors_login_cannot_invoice_the_order(self, order, bob):
        refused(lambda: submit(order, bob, (10, "10", "2.50")), message="No such order.")

    def test_bad_tax_is_refused_naming_the_field(self, order, amos):
        refused(
            lambda: submit(order, amos, (10, "10", "2.50"), tax_amount="-1"),
            message="Tax",
            field="tax_amount",
        )


class TestApproving:
    def test_approved_it_is_open_for_payment(self, order, amos, buyer):
        invoice = submit(order, amos, (10, "60", "2.50"))
        refused(
            lambda: services.payment_record(invoice=invoice, amount=D("10"), by=buyer),
            message="awaiting approval",
            field="invoice",
        )
        services.invoice_approve(invoice=invoice, by=buyer, note="Thanks")
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OPEN and invoice.approved_by == buyer
        services.payment_record(invoice=invoice, amount=D("150"), by=buyer)
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID

    def test_a_supplier_cannot_approve_its_own_invoice(self, order, amos):
        invoice = submit(order, amos, (10, "60", "2.50"))
        refused(
            lambda: services.invoice_approve(invoice=invoice, by=amos),
            message="Only a buyer can do this.",
        )

    def test_disputed_before_approval_the_supplier_withdraws_and_the_quantity_is_free(
        self, order, amos, buyer
    ):
        invoice = submit(order, amos, (10, "60", "3"), accept_exceptions=True)
        services.invoice_dispute(invoice=invoice, by=buyer, reason="Price is 2.50")
        invoice.refresh_from_db()
        assert (invoice.status, invoice.status_reason) == (InvoiceStatus.DISPUTED, "Price is 2.50")
        services.invoice_withdraw(invoice=invoice, by=amos, reason="Wrong price")
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.WITHDRAWN and invoice.outstanding_amount == 0
        again = submit(order, amos, (10, "60", "2.50"), number="INV-2")
        assert again.lines.get().match_status == MatchStatus.MATCHED

    def test_an_approved_invoice_cannot_be_withdrawn(self, order, amos, buyer):
        invoice = submit(order, amos, (10, "60", "2.50"))
        services.invoice_approve(invoice=invoice, by=buyer)
        refused(
            lambda: services.invoice_withdraw(invoice=invoice, by=amos, reason="x"),
            message="only one awaiting approval",
            field="status",
        )

    def test_a_dispute_before_approval_ends_back_awaiting_approval(self, order, amos, buyer):
        invoice = submit(order, amos, (10, "60", "2.50"))
        services.invoice_dispute(invoice=invoice, by=buyer, reason="Which delivery?")
        services.invoice_resolve_dispute(invoice=invoice, by=buyer)
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.SUBMITTED


class TestCreditNotes:
    def test_a_supplier_credit_note_applies_once_approved(self, order, amos, buyer):
        invoice = submit(order, amos, (10, "60", "2.50"))
        services.invoice_approve(invoice=invoice, by=buyer)
        services.payment_record(invoice=invoice, amount=D("100"), by=buyer)
        first = invoice.lines.get()
        credit = services.credit_note_create(
            invoice=invoice,
            number="CN-1",
            by=amos,
            reason="Ten damaged",
            lines=[services.CreditLineInput(first, D("10"), D("2.50"))],
        )
        assert credit.status == InvoiceStatus.SUBMITTED and credit.total_amount == D("25.00")
        invoice.refresh_from_db()
        assert invoice.outstanding_amount == D("50.00")  # not applied yet
        services.invoice_approve(invoice=credit, by=buyer)
        invoice.refresh_from_db()
        credit.refresh_from_db()
        assert credit.status == InvoiceStatus.APPLIED
        assert (invoice.credited_amount, invoice.outstanding_amount) == (D("25.00"), D("25.00"))
        # The credited quantity is free to invoice again: 50 net invoiced of 60 received.
        assert services.still_to_invoice(order)[0].quantity == D("10")
        services.payment_record(invoice=invoice, amount=D("25"), by=buyer)
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID

    def test_a_buyer_credit_note_applies_at_once_and_can_settle_the_invoice(
        self, order, amos, buyer
    ):
        invoice = submit(order, amos, (10, "60", "2.50"))
        services.invoice_approve(invoice=invoice, by=buyer)
        services.credit_note_create(
            invoice=invoice,
            number="CN-B",
            by=buyer,
            reason="Returned",
            lines=[services.CreditLineInput(invoice.lines.get(), D("60"), D("2.50"))],
        )
        invoice.refresh_from_db()
        assert (invoice.status, invoice.outstanding_amount) == (InvoiceStatus.PAID, D("0"))

    def test_more_than_was_invoiced_is_refused_naming_the_line(self, order, amos, buyer):
        invoice = submit(order, amos, (10, "60", "2.50"))
        first = invoice.lines.get()

        def credit(quantity, price="2.50", number="CN-9"):
            return services.credit_note_create(
                invoice=invoice,
                number=number,
                by=amos,
                reason="x",
                lines=[services.CreditLineInput(first, D(quantity), D(price))],
            )

        refused(lambda: credit("61"), message="more than the 60", field="lines.0.quantity")
        refused(lambda: credit("1", "3"), message="more than the invoiced 2.5")
        credit("50")
        refused(
            lambda: credit("11", number="CN-10"),
            message="more than the 10",
            field="lines.0.quantity",
        )

    def test_another_vendors_login_cannot_credit(self, order, amos, bob):
        invoice = submit(order, amos, (10, "60", "2.50"))
        refused(
            lambda: services.credit_note_create(
                invoice=invoice,
                number="CN-X",
                by=bob,
                reason="x",
                lines=[services.CreditLineInput(invoice.lines.get(), D("1"), D("1"))],
            ),
            message="No such invoice.",
        )


class TestScreens:
    def test_the_supplier_invoices_from_the_order_page(self, client, order, amos):
        client.force_login(amos)
        page = client.get(f"/portal/orders/{order.number}/")
        assert b"Invoice this order" in page.content
        form = client.get(f"/portal/orders/{order.number}/invoice")
        assert form.status_code == 200
        text = form.content.decode()
        assert f'name="qty_{line(order).pk}" value="60"' in text
        assert "Matched" in text

        body = {
            "number": "INV-W1",
            "invoice_date": "2026-11-30",
            f"qty_{line(order).pk}": "65",
            f"price_{line(order).pk}": "2.50",
            "tax_amount": "5",
            "action": "check",
        }
        checked = client.post(f"/portal/orders/{order.number}/invoice", body)
        assert checked.status_code == 200
        assert "65 invoiced in all is more than the 60 received" in checked.content.decode()
        assert not Invoice.objects.exists()

        sent = client.post(f"/portal/orders/{order.number}/invoice", {**body, "action": "send"})
        assert sent.status_code == 400
        assert "send it as a flagged exception" in sent.content.decode()
        assert not Invoice.objects.exists()

        done = client.post(
            f"/portal/orders/{order.number}/invoice",
            {**body, "action": "send", "accept_exceptions": "on"},
        )
        invoice = Invoice.objects.get()
        assert done.status_code == 302 and done["Location"] == f"/portal/invoices/{invoice.pk}/"
        shown = client.get(done["Location"]).content.decode()
        assert "Awaiting approval" in shown and "Withdraw" in shown
        assert invoice.total_amount == D("167.50")

    def test_the_buyer_approves_and_disputes_on_the_invoice_page(self, client, order, amos, buyer):
        invoice = submit(order, amos, (10, "60", "2.50"))
        client.force_login(buyer)
        page = client.get(f"/buying/invoices/{invoice.pk}/").content.decode()
        assert "Approve" in page and "Dispute" in page
        assert client.get(f"/buying/invoices/{invoice.pk}/dispute").status_code == 200
        empty = client.post(f"/buying/invoices/{invoice.pk}/dispute", {"reason": ""})
        assert empty.status_code == 400
        client.post(f"/buying/invoices/{invoice.pk}/dispute", {"reason": "Which delivery?"})
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.DISPUTED
        client.force_login(amos)
        seen = client.get(f"/portal/invoices/{invoice.pk}/").content.decode()
        assert "Disputed by the buyer" in seen and "Which delivery?" in seen
        client.force_login(buyer)
        assert client.post(f"/buying/invoices/{invoice.pk}/resolve").status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.SUBMITTED
        assert client.post(f"/buying/invoices/{invoice.pk}/approve", {}).status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OPEN

    def test_the_supplier_withdraws_and_credits_on_the_invoice_page(
        self, client, order, amos, buyer
    ):
        invoice = submit(order, amos, (10, "60", "2.50"))
        client.force_login(amos)
        gone = client.post(f"/portal/invoices/{invoice.pk}/withdraw", {"reason": "Typo"})
        assert gone.status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.WITHDRAWN
        assert "Typo" in client.get(f"/portal/invoices/{invoice.pk}/").content.decode()

        second = submit(order, amos, (10, "60", "2.50"), number="INV-2")
        services.invoice_approve(invoice=second, by=buyer)
        first_line = second.lines.get()
        over = client.post(
            f"/portal/invoices/{second.pk}/credit-note",
            {
                "number": "CN-1",
                "credit_date": "2026-11-30",
                "reason": "Damaged",
                f"qty_{first_line.pk}": "70",
            },
        )
        assert over.status_code == 400
        assert "more than the 60" in over.content.decode()
        made = client.post(
            f"/portal/invoices/{second.pk}/credit-note",
            {
                "number": "CN-1",
                "credit_date": "2026-11-30",
                "reason": "Damaged",
                f"qty_{first_line.pk}": "4",
            },
        )
        assert made.status_code == 302
        credit = Invoice.objects.get(number="CN-1")
        assert credit.credits == second and credit.total_amount == D("10.00")
        listed = client.get(f"/portal/invoices/{second.pk}/").content.decode()
        assert "CN-1" in listed and "Damaged" in listed

    def test_another_vendor_gets_404_everywhere(self, client, order, amos, bob):
        invoice = submit(order, amos, (10, "60", "2.50"))
        client.force_login(bob)
        for url in (
            f"/portal/orders/{order.number}/invoice",
            f"/portal/invoices/{invoice.pk}/",
            f"/portal/invoices/{invoice.pk}/withdraw",
            f"/portal/invoices/{invoice.pk}/credit-note",
        ):
            assert client.get(url).status_code == 404, url
            if not url.endswith("/"):
                assert client.post(url, {"reason": "x", "number": "X"}).status_code == 404, url
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.SUBMITTED


def test_the_buyer_is_told_of_a_sent_invoice_and_the_supplier_of_its_approval(
    smtp, order, amos, buyer
):
    from vendorportal.events.notify import notifier

    notifier.run_once()
    smtp.inbox.messages.clear()
    invoice = submit(order, amos, (10, "61", "2.50"), accept_exceptions=True)
    notifier.run_once()
    to_buyer = [m for m in smtp.inbox.messages if str(m["To"]) == "buyer@example.com"]
    assert [str(m["Subject"]) for m in to_buyer] == ["Invoice INV-1 sent"]
    body, _ = parts(to_buyer[0])
    assert "1 line(s) have three-way match exceptions" in body
    assert f"/buying/invoices/{invoice.pk}/" in body
    smtp.inbox.messages.clear()
    services.invoice_approve(invoice=invoice, by=buyer)
    notifier.run_once()
    to_amos = [m for m in smtp.inbox.messages if str(m["To"]) == "amos@acme.example"]
    assert [str(m["Subject"]) for m in to_amos] == ["Invoice INV-1 approved"]
    assert f"/portal/invoices/{invoice.pk}/" in parts(to_amos[0])[0]


def test_the_invoice_document_goes_with_the_invoice_or_neither_is_kept(client, order, amos):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from vendorportal.collaboration.models import Attachment

    client.force_login(amos)
    body = {
        "number": "INV-DOC",
        "invoice_date": "2026-11-30",
        f"qty_{line(order).pk}": "60",
        f"price_{line(order).pk}": "2.50",
        "action": "submit",
    }
    disguised = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    refused = client.post(f"/portal/orders/{order.number}/invoice", {**body, "document": disguised})
    assert refused.status_code == 400
    assert "not an allowed type" in refused.content.decode()
    assert not Invoice.objects.exists() and not Attachment.objects.exists()

    pdf = SimpleUploadedFile("INV-DOC.pdf", b"%PDF-1.4\n% the supplier's invoice\n%%EOF\n")
    sent = client.post(f"/portal/orders/{order.number}/invoice", {**body, "document": pdf})
    assert sent.status_code == 302
    invoice = Invoice.objects.get()
    attached = Attachment.objects.get()
    assert (attached.invoice, attached.kind, attached.original_name) == (
        invoice,
        "invoice_pdf",
        "INV-DOC.pdf",
    )
    assert "INV-DOC.pdf" in client.get(f"/portal/invoices/{invoice.pk}/").content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tax_amount", "1" * 30),
        ("tax_amount", "-5"),
        ("freight_amount", "1e400"),
        ("number", "INV\x00-1"),
        ("number", "X" * 65),
        ("note", "a" * 2001),
    ],
)
def test_hostile_invoice_input_is_a_4xx_naming_the_field_and_writes_nothing(
    client, order, amos, field, value
):
    client.force_login(amos)
    body = {
        "number": "INV-H",
        "invoice_date": "2026-11-30",
        f"qty_{line(order).pk}": "10",
        f"price_{line(order).pk}": "2.50",
        "action": "submit",
        field: value,
    }
    answer = client.post(f"/portal/orders/{order.number}/invoice", body)
    assert answer.status_code == 400
    assert f'id="id_{field}-errors"' in answer.content.decode()
    assert not Invoice.objects.exists()


def test_hostile_credit_note_tax_is_refused_naming_it(client, order, amos):
    invoice = submit(order, amos, (10, "60", "2.50"))
    client.force_login(amos)
    answer = client.post(
        f"/portal/invoices/{invoice.pk}/credit-note",
        {
            "number": "CN-H",
            "credit_date": "2026-11-30",
            "reason": "x",
            "tax_amount": "9" * 25,
            f"qty_{invoice.lines.get().pk}": "1",
        },
    )
    assert answer.status_code == 400
    assert 'id="id_tax_amount-errors"' in answer.content.decode()
    assert Invoice.objects.count() == 1
