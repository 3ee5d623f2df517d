"""The audit trail: one complete row per write, security events, append-only, search."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD, ItemFactory, UserFactory, make_order
from vendorportal.accounts import services as accounts
from vendorportal.accounts.models import Invitation, Role, User
from vendorportal.api import tokens
from vendorportal.audit import context as audit_context
from vendorportal.audit import log as audit
from vendorportal.audit.models import AppendOnlyError, AuditEntry, Channel
from vendorportal.collaboration import attachments
from vendorportal.collaboration import services as collaboration
from vendorportal.events import webhooks
from vendorportal.events.models import (
    Event,
    Notification,
    WebhookDelivery,
    WebhookSubscription,
)
from vendorportal.events.notify import notifier
from vendorportal.events.notify import preferences as notify_preferences
from vendorportal.purchasing import services, sync
from vendorportal.purchasing.models import PurchaseOrder, Vendor

D = Decimal
DUE = dt.date(2026, 12, 15)

# ---------------------------------------------------------------------------------------
# Every public write function, and the functions that are not writes (with why)
# ---------------------------------------------------------------------------------------

WRITE_MODULES: tuple[ModuleType, ...] = (
    services,
    collaboration,
    attachments,
    accounts,
    tokens,
    webhooks,
    sync,
    notify_preferences,
    notifier,
)

COVERED_SERVICES = {
    "purchasing.services.order_create",
    "purchasing.services.order_issue",
    "purchasing.services.order_revise",
    "events.notify.preferences.preferences_set",
    "events.notify.preferences.vendor_defaults_set",
    "events.notify.preferences.unsubscribe",
    "events.notify.preferences.follow_set",
    "events.notify.notifier.resend",
    "purchasing.services.release_add",
    "purchasing.services.call_off",
    "purchasing.services.line_close",
    "purchasing.services.line_cancel",
    "purchasing.services.order_close",
    "purchasing.services.order_cancel",
    "purchasing.services.receipt_record",
    "purchasing.services.return_record",
    "purchasing.services.ship_notice_create",
    "purchasing.services.ship_notice_submit",
    "purchasing.services.ship_notice_correct",
    "purchasing.services.ship_notice_cancel",
    "purchasing.services.ship_notice_close",
    "purchasing.services.invoice_record",
    "purchasing.services.payment_record",
    "purchasing.services.invoice_dispute",
    "purchasing.services.invoice_resolve_dispute",
    "purchasing.services.invoice_void",
    "purchasing.services.invoice_submit",
    "purchasing.services.invoice_approve",
    "purchasing.services.invoice_withdraw",
    "purchasing.services.credit_note_create",
    "collaboration.services.acknowledgement_record",
    "collaboration.services.delivery_confirm",
    "collaboration.services.proposal_create",
    "collaboration.services.proposal_withdraw",
    "collaboration.services.proposal_accept",
    "collaboration.services.proposal_reject",
    "collaboration.services.comment_add",
    "collaboration.attachments.attachment_add",
    "collaboration.attachments.attachment_delete",
    "accounts.services.buyer_create",
    "accounts.services.vendor_login_create",
    "accounts.services.user_deactivate",
    "accounts.services.user_reactivate",
    "accounts.services.invitation_create",
    "accounts.services.invitation_revoke",
    "accounts.services.invitation_accept",
    "accounts.services.seats_sync",
    "accounts.services.vendor_mfa_require",
    "api.tokens.token_create",
    "api.tokens.token_revoke",
    "api.tokens.revoke_all_of",
    "events.webhooks.redeliver",
    "events.webhooks.subscription_save",
    "events.webhooks.subscription_delete",
    "purchasing.sync.vendor_upsert",
    "purchasing.sync.item_upsert",
    "purchasing.sync.order_upsert",
    "purchasing.sync.receipt_upsert",
    "purchasing.sync.ship_notice_upsert",
    "purchasing.sync.invoice_upsert",
    "purchasing.sync.payment_upsert",
}

NOT_WRITES = {
    # Pure helpers and read-only checks.
    "purchasing.services.max_receivable": "reads",
    "purchasing.services.match_status": "the three-way match rule (a pure function)",
    "purchasing.services.invoice_match_preview": "reads (the match a new invoice would get)",
    "purchasing.services.still_to_invoice": "reads (what a new invoice starts with)",
    "collaboration.services.describe_proposal": "formats text",
    # The attachment rules: checks the service runs before it writes anything.
    **{
        f"collaboration.attachments.{name}": "a rule check"
        for name in (
            "check_party",
            "check_kind",
            "check_visibility",
            "check_size",
            "check_type",
            "clean_name",
        )
    },
    "collaboration.attachments.target_of": "reads",
    "collaboration.attachments.storage": "the file storage",
    "collaboration.attachments.max_bytes": "a setting",
    "collaboration.attachments.digest": "a hash",
    "collaboration.attachments.describe": "formats text",
    "accounts.services.today": "a date",
    "accounts.services.normalize_email": "formats text",
    "accounts.services.hash_token": "a hash",
    "accounts.services.generate_password": "a random string",
    "accounts.services.may_manage_vendor": "a rule check",
    "accounts.services.invitation_check": "the refusals of invitation_create, no write",
    "accounts.services.invitation_link": "formats a URL",
    # Takes a lock inside the caller's write (order_create, the order sync): no write itself.
    "purchasing.services.lock_order_creation": "a lock",
    "api.tokens.hash_token": "a hash",
    # Notes last_used_at at most once a minute: bookkeeping of a read, not a change anyone
    # made (failed authentications are security events: audit.record_security).
    "api.tokens.authenticate": "bookkeeping",
    "events.webhooks.sign": "a signature",
    "events.webhooks.verify": "a check",
    "events.webhooks.payload": "formats an event",
    "events.webhooks.next_due": "reads",
    # The worker's delivery bookkeeping: the events it delivers are audited already.
    "events.webhooks.fan_out": "outbox bookkeeping",
    "events.webhooks.deliver": "outbox bookkeeping",
    "events.webhooks.send_due": "outbox bookkeeping",
    "events.webhooks.run_once": "outbox bookkeeping",
    "events.webhooks.on_event_committed": "enqueues the worker",
    "events.notify.preferences.choices_for": "reads",
    "events.notify.preferences.settings_of": "reads",
    "events.notify.preferences.vendor_defaults": "reads",
    "events.notify.preferences.time_zone_checked": "a rule check",
    "events.notify.preferences.local_zone": "reads",
    "events.notify.preferences.following": "reads",
    # The notifier's bookkeeping: the events it tells people of are audited already.
    "events.notify.notifier.fan_out": "outbox bookkeeping",
    "events.notify.notifier.send_due": "outbox bookkeeping",
    "events.notify.notifier.run_once": "outbox bookkeeping",
    "events.notify.notifier.next_due": "reads",
    "events.notify.notifier.on_event_committed": "enqueues the worker",
    "events.notify.notifier.cursor_at_end": "outbox bookkeeping (a new installation)",
}


def public_functions() -> set[str]:
    names = set()
    for module in WRITE_MODULES:
        short = module.__name__.removeprefix("vendorportal.")
        for name, member in inspect.getmembers(module, inspect.isfunction):
            # A package (purchasing.services) counts what its modules define and it exports.
            own = member.__module__ == module.__name__ or (
                hasattr(module, "__path__") and member.__module__.startswith(module.__name__ + ".")
            )
            if name.startswith("_") or not own:
                continue
            names.add(f"{short}.{name}")
    return names


def test_every_public_service_function_is_covered_or_explained():
    found = public_functions()
    missing = found - COVERED_SERVICES - set(NOT_WRITES)
    assert not missing, f"add these to COVERED_SERVICES (with a case) or NOT_WRITES: {missing}"
    stale = (COVERED_SERVICES | set(NOT_WRITES)) - found
    assert not stale, f"no longer exist: {stale}"
    assert set(CASES) == COVERED_SERVICES


# ---------------------------------------------------------------------------------------
# One case per covered service: set up, then return the one call under test
# ---------------------------------------------------------------------------------------


class World:
    def __init__(self) -> None:
        self.vendor = Vendor.objects.create(code="ACME", name="Acme", external_id="ERP-V-A")
        self.buyer = UserFactory(email="buyer@example.com", role=Role.BUYER)
        self.admin = UserFactory(
            email="admin@example.com", role=Role.BUYER, is_staff=True, is_superuser=True
        )
        self.alice = UserFactory(
            email="alice@acme.example", role=Role.VENDOR_ADMIN, vendor=self.vendor
        )
        self.amos = UserFactory(
            email="amos@acme.example", role=Role.VENDOR_USER, vendor=self.vendor
        )

    def order(self, **kwargs: Any) -> PurchaseOrder:
        return make_order(vendor=self.vendor, by=self.buyer, lines=[("100", "2.50")], **kwargs)

    def received(self) -> PurchaseOrder:
        order = self.order()
        delivery = order.deliveries.get()
        services.receipt_record(
            order=order, lines=[services.ReceiptLineInput(delivery, D("40"))], by=self.buyer
        )
        return order

    def invoice(self, amount: str = "40") -> Any:
        order = self.received()
        return services.invoice_record(
            vendor=self.vendor,
            number=f"INV-{order.number}",
            lines=[services.InvoiceLineInput(order.lines.get(), D(amount), D("2.50"))],
            by=self.buyer,
        )

    def ship_notice(self, submit: bool = True) -> Any:
        order = self.order()
        return services.ship_notice_create(
            order=order,
            lines=[services.ShipNoticeLineInput(order.deliveries.get(), D("30"))],
            expected_date=DUE,
            ship_date=DUE - dt.timedelta(days=2),
            submit=submit,
            by=self.amos,
        )

    def proposal(self) -> Any:
        order = self.order()
        return collaboration.proposal_create(
            order=order,
            line=order.lines.get(),
            delivery=order.deliveries.get(),
            due_date=DUE + dt.timedelta(days=7),
            reason="Capacity",
            by=self.amos,
        )

    def invitation(self) -> tuple[Invitation, str]:
        accounts.invitation_create(
            vendor=self.vendor,
            email="new@acme.example",
            role=Role.VENDOR_USER,
            by=self.alice,
            site_url="http://testserver",
        )
        token = re.search(r"/accept/([\w-]+)", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
        return Invitation.objects.get(email="new@acme.example", accepted_at=None), token

    def synced_order(self) -> sync.OrderRecord:
        return sync.OrderRecord(
            external_id="ERP-PO-1",
            number="PO-ERP-1",
            vendor_external_id=self.vendor.external_id,
            lines=(
                sync.LineRecord(
                    line_number=10,
                    quantity=D(10),
                    unit_price=D("2.5"),
                    description="Part",
                    deliveries=(sync.DeliveryRecord(1, D(10), DUE),),
                ),
            ),
        )


Case = Callable[[World], tuple[Callable[[], Any], User | None]]


def _revise(w: World):
    order = w.order()
    return lambda: services.order_revise(
        order=order,
        changes=[services.SetLine(order.lines.get().line_number, "unit_price", D("2.75"))],
        by=w.buyer,
    ), w.buyer


def _release(w: World):
    order = make_order(vendor=w.vendor, by=w.buyer, kind="blanket", lines=[("1000", "1.00")])
    return lambda: services.release_add(
        line=order.lines.get(), quantity=D("100"), due_date=DUE, by=w.buyer
    ), w.buyer


def _call_off(w: World):
    order = make_order(
        vendor=w.vendor, by=w.buyer, kind="blanket", lines=[("1000", "1.00"), ("50", "3")]
    )
    releases = [services.Release(10, D("100"), DUE), services.Release(20, D("5"), DUE)]
    return lambda: services.call_off(order=order, releases=releases, by=w.buyer), w.buyer


def _return(w: World):
    order = w.received()
    delivery = order.deliveries.get()
    return lambda: services.return_record(
        order=order,
        lines=[services.ReceiptLineInput(delivery, D("5"))],
        reason="Scratched",
        by=w.buyer,
    ), w.buyer


def _receipt(w: World):
    order = w.order()
    delivery = order.deliveries.get()
    return lambda: services.receipt_record(
        order=order, lines=[services.ReceiptLineInput(delivery, D("10"))], by=w.buyer
    ), w.buyer


def _invoice(w: World):
    order = w.received()
    return lambda: services.invoice_record(
        vendor=w.vendor,
        number="INV-1",
        lines=[services.InvoiceLineInput(order.lines.get(), D("40"), D("2.50"))],
        by=w.buyer,
    ), w.buyer


def _sent(w: World) -> Any:
    """The supplier's invoice from the order, awaiting approval."""
    order = w.received()
    return services.invoice_submit(
        order=order,
        number=f"INV-{order.number}",
        lines=[services.InvoiceLineInput(order.lines.get(), D("40"), D("2.50"))],
        by=w.amos,
    )


def _credit(w: World):
    invoice = w.invoice()
    first = invoice.lines.get()
    return lambda: services.credit_note_create(
        invoice=invoice,
        number="CN-1",
        lines=[services.CreditLineInput(first, D("2"), D("2.50"))],
        by=w.amos,
        reason="Two damaged",
    ), w.amos


def _resolve(w: World):
    invoice = w.invoice()
    services.invoice_dispute(invoice=invoice, by=w.buyer, reason="Short")
    return lambda: services.invoice_resolve_dispute(invoice=invoice, by=w.buyer), w.buyer


def _ack(w: World):
    order = w.order()
    return lambda: collaboration.acknowledgement_record(
        order=order, revision=order.revision, response="accepted", by=w.amos
    ), w.amos


def _redeliver(w: World):
    subscription = WebhookSubscription.objects.create(
        name="ERP", url="http://127.0.0.1:9/hook", secret="s", kinds=[]
    )
    w.order()
    event = Event.objects.order_by("-id").first()
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event=event, status="failed", next_attempt_at=event.created_at
    )
    return lambda: webhooks.redeliver(delivery), None


def _subscription_save(w: World):
    subscription = WebhookSubscription(name="ERP", url="https://erp.example/hook", secret="s")
    return lambda: webhooks.subscription_save(subscription=subscription, by=w.admin), w.admin


def _subscription_delete(w: World):
    subscription = WebhookSubscription.objects.create(
        name="ERP", url="https://erp.example/hook", secret="s", kinds=[]
    )
    return lambda: webhooks.subscription_delete(subscription=subscription, by=w.admin), w.admin


def _receipt_upsert(w: World):
    sync.order_upsert(record=w.synced_order(), by=w.buyer)
    record = sync.ReceiptRecord(
        external_id="ERP-R-1",
        order_external_id="ERP-PO-1",
        lines=(sync.ReceiptLineRecord(10, 1, D(4)),),
    )
    return lambda: sync.receipt_upsert(record=record, by=w.buyer), w.buyer


def _ship_notice_upsert(w: World):
    sync.order_upsert(record=w.synced_order(), by=w.buyer)
    record = sync.ShipNoticeRecord(
        external_id="ERP-ASN-1",
        order_external_id="ERP-PO-1",
        expected_date=DUE,
        ship_date=DUE,
        lines=(sync.ReceiptLineRecord(10, 1, D(4)),),
    )
    return lambda: sync.ship_notice_upsert(record=record, by=w.buyer), w.buyer


def _invoice_upsert(w: World):
    sync.order_upsert(record=w.synced_order(), by=w.buyer)
    record = sync.InvoiceRecord(
        external_id="ERP-I-1",
        vendor_external_id=w.vendor.external_id,
        number="INV-ERP-1",
        lines=(sync.InvoiceLineRecord("ERP-PO-1", 10, D(4), D("2.5")),),
    )
    return lambda: sync.invoice_upsert(record=record, by=w.buyer), w.buyer


def _payment_upsert(w: World):
    invoice = w.invoice()
    invoice.external_id = "ERP-I-9"
    invoice.save()
    record = sync.PaymentRecord(external_id="ERP-P-1", invoice_external_id="ERP-I-9", amount=D(10))
    return lambda: sync.payment_upsert(record=record, by=w.buyer), w.buyer


def _new_draft(w: World):
    item = ItemFactory()
    return lambda: services.order_create(
        vendor=w.vendor,
        by=w.buyer,
        lines=[services.LineInput(item=item, quantity=D(5), unit_price=D(1), due_date=DUE)],
    ), w.buyer


def _line(w: World, action: Callable[..., Any]):
    order = w.received() if action is services.line_close else w.order()
    line = order.lines.get()
    return lambda: action(line=line, by=w.buyer), w.buyer


def _resend(w: World):
    order = w.order()
    collaboration.comment_add(order=order, by=w.buyer, body="Hello")
    notifier.fan_out()
    row = Notification.objects.filter(recipient=w.amos).latest("id")
    Notification.objects.filter(pk=row.pk).update(status="failed")
    row.refresh_from_db()
    return lambda: notifier.resend(row, by=w.admin), w.admin


CASES: dict[str, Case] = {
    "events.notify.preferences.preferences_set": lambda w: (
        lambda: notify_preferences.preferences_set(
            user=w.amos, choices={"comment": "digest"}, time_zone="Europe/Berlin", by=w.amos
        ),
        w.amos,
    ),
    "events.notify.preferences.vendor_defaults_set": lambda w: (
        lambda: notify_preferences.vendor_defaults_set(
            vendor=w.vendor, choices={"receipt": "off"}, by=w.alice
        ),
        w.alice,
    ),
    "events.notify.notifier.resend": lambda w: _resend(w),
    "events.notify.preferences.follow_set": lambda w: (
        (lambda order: lambda: notify_preferences.follow_set(user=w.buyer, on=True, order=order))(
            w.order()
        ),
        w.buyer,
    ),
    "events.notify.preferences.unsubscribe": lambda w: (
        lambda: notify_preferences.unsubscribe(user=w.amos, kind="order_revised"),
        w.amos,
    ),
    "purchasing.services.order_create": _new_draft,
    "purchasing.services.order_issue": lambda w: (
        (lambda order: lambda: services.order_issue(order=order, by=w.buyer))(w.order(issue=False)),
        w.buyer,
    ),
    "purchasing.services.order_revise": _revise,
    "purchasing.services.release_add": _release,
    "purchasing.services.call_off": _call_off,
    "purchasing.services.line_close": lambda w: _line(w, services.line_close),
    "purchasing.services.line_cancel": lambda w: _line(w, services.line_cancel),
    "purchasing.services.order_close": lambda w: (
        (lambda order: lambda: services.order_close(order=order, by=w.buyer))(w.received()),
        w.buyer,
    ),
    "purchasing.services.order_cancel": lambda w: (
        (lambda order: lambda: services.order_cancel(order=order, by=w.buyer))(w.order()),
        w.buyer,
    ),
    "purchasing.services.receipt_record": _receipt,
    "purchasing.services.return_record": _return,
    "purchasing.services.ship_notice_create": lambda w: (
        (
            lambda order: (
                lambda: services.ship_notice_create(
                    order=order,
                    lines=[services.ShipNoticeLineInput(order.deliveries.get(), D("30"))],
                    expected_date=DUE,
                    ship_date=DUE,
                    by=w.amos,
                )
            )
        )(w.order()),
        w.amos,
    ),
    "purchasing.services.ship_notice_submit": lambda w: (
        (lambda n: lambda: services.ship_notice_submit(notice=n, by=w.amos))(
            w.ship_notice(submit=False)
        ),
        w.amos,
    ),
    "purchasing.services.ship_notice_correct": lambda w: (
        (lambda n: lambda: services.ship_notice_correct(notice=n, by=w.amos, carrier="UPS"))(
            w.ship_notice()
        ),
        w.amos,
    ),
    "purchasing.services.ship_notice_cancel": lambda w: (
        (lambda n: lambda: services.ship_notice_cancel(notice=n, by=w.amos))(w.ship_notice()),
        w.amos,
    ),
    "purchasing.services.ship_notice_close": lambda w: (
        (lambda n: lambda: services.ship_notice_close(notice=n, by=w.buyer, reason="Lost"))(
            w.ship_notice()
        ),
        w.buyer,
    ),
    "purchasing.services.invoice_record": _invoice,
    "purchasing.services.payment_record": lambda w: (
        (lambda inv: lambda: services.payment_record(invoice=inv, amount=D(10), by=w.buyer))(
            w.invoice()
        ),
        w.buyer,
    ),
    "purchasing.services.invoice_dispute": lambda w: (
        (lambda inv: lambda: services.invoice_dispute(invoice=inv, by=w.buyer, reason="x"))(
            w.invoice()
        ),
        w.buyer,
    ),
    "purchasing.services.invoice_resolve_dispute": _resolve,
    "purchasing.services.invoice_submit": lambda w: (
        (
            lambda order: (
                lambda: services.invoice_submit(
                    order=order,
                    number="INV-SENT",
                    lines=[services.InvoiceLineInput(order.lines.get(), D("40"), D("2.50"))],
                    by=w.amos,
                )
            )
        )(w.received()),
        w.amos,
    ),
    "purchasing.services.invoice_approve": lambda w: (
        (lambda inv: lambda: services.invoice_approve(invoice=inv, by=w.buyer))(_sent(w)),
        w.buyer,
    ),
    "purchasing.services.invoice_withdraw": lambda w: (
        (lambda inv: lambda: services.invoice_withdraw(invoice=inv, by=w.amos, reason="Dup"))(
            _sent(w)
        ),
        w.amos,
    ),
    "purchasing.services.credit_note_create": _credit,
    "purchasing.services.invoice_void": lambda w: (
        (lambda inv: lambda: services.invoice_void(invoice=inv, by=w.buyer, reason="Dup"))(
            w.invoice()
        ),
        w.buyer,
    ),
    "collaboration.services.acknowledgement_record": _ack,
    "collaboration.attachments.attachment_add": lambda w: (
        (
            lambda o: (
                lambda: attachments.attachment_add(
                    target=o,
                    upload=ContentFile(b"%PDF-1.7\n", name="spec.pdf"),
                    kind="terms",
                    by=w.buyer,
                )
            )
        )(w.order()),
        w.buyer,
    ),
    "collaboration.attachments.attachment_delete": lambda w: (
        (lambda a: lambda: attachments.attachment_delete(attachment=a, by=w.amos))(
            attachments.attachment_add(
                target=w.order(),
                upload=ContentFile(b"%PDF-1.7\n", name="cert.pdf"),
                kind="certificate",
                by=w.amos,
            )
        ),
        w.amos,
    ),
    "collaboration.services.delivery_confirm": lambda w: (
        (lambda d: lambda: collaboration.delivery_confirm(delivery=d, by=w.amos))(
            w.order().deliveries.get()
        ),
        w.amos,
    ),
    "collaboration.services.proposal_create": lambda w: (
        (
            lambda order: (
                lambda: collaboration.proposal_create(
                    order=order,
                    line=order.lines.get(),
                    unit_price=D("2.40"),
                    reason="Volume",
                    by=w.amos,
                )
            )
        )(w.order()),
        w.amos,
    ),
    "collaboration.services.proposal_withdraw": lambda w: (
        (lambda p: lambda: collaboration.proposal_withdraw(proposal=p, by=w.amos))(w.proposal()),
        w.amos,
    ),
    "collaboration.services.proposal_accept": lambda w: (
        (lambda p: lambda: collaboration.proposal_accept(proposal=p, by=w.buyer))(w.proposal()),
        w.buyer,
    ),
    "collaboration.services.proposal_reject": lambda w: (
        (lambda p: lambda: collaboration.proposal_reject(proposal=p, by=w.buyer, note="No"))(
            w.proposal()
        ),
        w.buyer,
    ),
    "collaboration.services.comment_add": lambda w: (
        (lambda o: lambda: collaboration.comment_add(order=o, by=w.amos, body="Hello"))(w.order()),
        w.amos,
    ),
    "accounts.services.buyer_create": lambda w: (
        lambda: accounts.buyer_create(email="bea@example.com", password=TEST_PASSWORD),
        None,
    ),
    "accounts.services.vendor_login_create": lambda w: (
        lambda: accounts.vendor_login_create(
            vendor=w.vendor,
            email="ann@acme.example",
            role=Role.VENDOR_USER,
            password=TEST_PASSWORD,
            by=w.alice,
        ),
        w.alice,
    ),
    "accounts.services.vendor_mfa_require": lambda w: (
        lambda: accounts.vendor_mfa_require(vendor=w.vendor, required=True, by=w.alice),
        w.alice,
    ),
    "accounts.services.user_deactivate": lambda w: (
        lambda: accounts.user_deactivate(user=w.amos, by=w.alice),
        w.alice,
    ),
    "accounts.services.user_reactivate": lambda w: (
        (lambda: accounts.user_deactivate(user=w.amos, by=w.alice))()
        and (lambda: accounts.user_reactivate(user=w.amos, by=w.alice)),
        w.alice,
    ),
    "accounts.services.invitation_create": lambda w: (
        lambda: accounts.invitation_create(
            vendor=w.vendor,
            email="new@acme.example",
            role=Role.VENDOR_USER,
            by=w.alice,
            site_url="http://testserver",
        ),
        w.alice,
    ),
    "accounts.services.invitation_revoke": lambda w: (
        (lambda inv: lambda: accounts.invitation_revoke(invitation=inv, by=w.alice))(
            w.invitation()[0]
        ),
        w.alice,
    ),
    "accounts.services.invitation_accept": lambda w: (
        (lambda token: lambda: accounts.invitation_accept(token=token, password=TEST_PASSWORD))(
            w.invitation()[1]
        ),
        None,  # the new login: checked below
    ),
    "accounts.services.seats_sync": lambda w: (
        lambda: accounts.seats_sync(user=w.amos, by=w.admin),
        w.admin,
    ),
    "api.tokens.token_create": lambda w: (
        lambda: tokens.token_create(name="ERP", vendor=w.vendor, user=w.amos, by=w.alice),
        w.alice,
    ),
    "api.tokens.token_revoke": lambda w: (
        (lambda t: lambda: tokens.token_revoke(token=t, by=w.alice))(
            tokens.token_create(name="ERP", vendor=w.vendor, user=w.amos, by=w.alice)[0]
        ),
        w.alice,
    ),
    "api.tokens.revoke_all_of": lambda w: (
        (lambda _: lambda: tokens.revoke_all_of(w.amos, by=w.alice, reason="deactivated"))(
            tokens.token_create(name="ERP", vendor=w.vendor, user=w.amos, by=w.alice)
        ),
        w.alice,
    ),
    "events.webhooks.redeliver": _redeliver,
    "events.webhooks.subscription_save": _subscription_save,
    "events.webhooks.subscription_delete": _subscription_delete,
    "purchasing.sync.vendor_upsert": lambda w: (
        lambda: sync.vendor_upsert(
            record=sync.VendorRecord(external_id="ERP-V-B", code="BOLT", name="Bolt"), by=w.buyer
        ),
        w.buyer,
    ),
    "purchasing.sync.item_upsert": lambda w: (
        lambda: sync.item_upsert(
            record=sync.ItemRecord(external_id="ERP-IT-1", part_number="P-1", description="Bolt"),
            by=w.buyer,
        ),
        w.buyer,
    ),
    "purchasing.sync.order_upsert": lambda w: (
        lambda: sync.order_upsert(record=w.synced_order(), by=w.buyer),
        w.buyer,
    ),
    "purchasing.sync.receipt_upsert": _receipt_upsert,
    "purchasing.sync.ship_notice_upsert": _ship_notice_upsert,
    "purchasing.sync.invoice_upsert": _invoice_upsert,
    "purchasing.sync.payment_upsert": _payment_upsert,
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(COVERED_SERVICES))
def test_each_service_write_leaves_exactly_one_complete_audit_row(name):
    w = World()
    call, actor = CASES[name](w)
    last_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    last_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    call()
    rows = list(AuditEntry.objects.filter(id__gt=last_audit))
    events = list(Event.objects.filter(id__gt=last_event))
    assert len(rows) == 1, (name, [r.action for r in rows])
    row = rows[0]
    # Complete: what, on which object, when, by whom (or the system), from where.
    assert row.action and "." in row.action, row.action
    assert row.object_type and row.object_id, (row.object_type, row.object_id)
    assert row.created_at is not None
    assert row.channel == Channel.SYSTEM  # called directly: no request, no command
    if actor is not None:
        assert (row.actor_id, row.actor_email) == (actor.pk, actor.email)
    if name == "accounts.services.invitation_accept":
        assert row.actor_email == "new@acme.example"
    assert row.changes or row.summary, "what changed"
    # A write that recorded an event is linked to it and agrees with it.
    assert len(events) <= 1
    if events:
        event = events[0]
        assert (row.event_id, row.action, row.vendor_id, row.revision) == (
            event.pk,
            event.kind,
            event.vendor_id,
            event.revision,
        )
        assert row.actor_id == event.actor_id
    elif row.object_type in ("user", "invitation", "api_token"):
        assert row.vendor_id == w.vendor.pk or name == "accounts.services.buyer_create"


@pytest.mark.django_db
def test_a_revision_row_holds_the_old_and_new_values():
    w = World()
    order = w.order()
    number = order.lines.get().line_number
    services.order_revise(
        order=order, changes=[services.SetLine(number, "unit_price", D("2.75"))], by=w.buyer
    )
    row = AuditEntry.objects.order_by("-id").first()
    assert (row.action, row.revision, row.order_number) == ("order.revised", 2, order.number)
    old, new = row.changes[f"line {number}.unit_price"]
    assert (D(old), D(new)) == (D("2.5"), D("2.75"))
    assert row.object_type == "purchase_order" and row.object_id == str(order.pk)


@pytest.mark.django_db
def test_a_refused_write_leaves_no_audit_row():
    w = World()
    order = w.order()
    before = AuditEntry.objects.count()
    with pytest.raises(services.DomainError):
        collaboration.acknowledgement_record(
            order=order, revision=order.revision + 5, response="accepted", by=w.amos
        )
    assert AuditEntry.objects.count() == before


# ---------------------------------------------------------------------------------------
# Append-only
# ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_orm_refuses_to_change_or_delete_audit_rows():
    row = audit.record(action="test.done", object_type="x", object_id=1)
    row.action = "test.changed"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=row.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=row.pk).delete()
    assert AuditEntry.objects.get(pk=row.pk).action == "test.done"


@pytest.mark.django_db
def test_the_database_refuses_raw_changes():
    """A trigger refuses UPDATE on both databases, and DELETE on PostgreSQL (SQLite has no
    TRUNCATE: a test flush empties tables with DELETE, so there the model refuses it)."""
    row = audit.record(action="test.done", object_type="x", object_id=1)
    refused = ["UPDATE audit_auditentry SET action = 'forged' WHERE id = %s"]
    if connection.vendor == "postgresql":
        refused.append("DELETE FROM audit_auditentry WHERE id = %s")
    for sql in refused:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])
    assert AuditEntry.objects.get(pk=row.pk).action == "test.done"


# ---------------------------------------------------------------------------------------
# Security events and where a request came from
# ---------------------------------------------------------------------------------------


def newest(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).order_by("-id").first()


@pytest.mark.django_db
def test_login_failed_login_and_logout_are_recorded(client):
    w = World()
    agent = {"HTTP_USER_AGENT": "pytest-browser/1.0", "REMOTE_ADDR": "198.51.100.4"}
    client.post("/accounts/login/", {"login": w.amos.email, "password": "wrong-password"}, **agent)
    failed = newest("login.failed")
    assert failed is not None
    assert failed.actor_email == w.amos.email and failed.actor_id is None
    assert "wrong-password" not in json.dumps(
        {f.name: str(getattr(failed, f.name)) for f in AuditEntry._meta.fields}
    )
    assert (failed.ip, failed.user_agent, failed.channel) == (
        "198.51.100.4",
        "pytest-browser/1.0",
        Channel.WEB,
    )
    response = client.post(
        "/accounts/login/", {"login": w.amos.email, "password": TEST_PASSWORD}, **agent
    )
    assert response.status_code == 302
    login = newest("login")
    assert (login.actor_id, login.vendor_id, login.ip) == (w.amos.pk, w.vendor.pk, "198.51.100.4")
    client.post("/accounts/logout/", **agent)
    assert newest("logout").actor_id == w.amos.pk


@pytest.mark.django_db
def test_password_change_is_recorded(client):
    w = World()
    client.force_login(w.amos)
    new = "an0ther-Long-passphrase"
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": TEST_PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    row = newest("password.changed")
    assert row is not None and row.actor_id == w.amos.pk and row.channel == Channel.WEB


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_recorded(client, fmt):
    w = World()
    w.order()
    client.force_login(w.amos)
    response = client.get(f"/portal/open-lines.{fmt}?q=x", HTTP_USER_AGENT="Excel")
    assert response.status_code == 200
    row = newest(f"export.{fmt}")
    assert (row.actor_id, row.vendor_id, row.object_type, row.user_agent) == (
        w.amos.pk,
        w.vendor.pk,
        "export",
        "Excel",
    )
    client.force_login(w.buyer)
    client.get(f"/buying/open-lines.{fmt}")
    assert newest(f"export.{fmt}").actor_id == w.buyer.pk


@pytest.mark.django_db
def test_record_security_for_other_helpers():
    w = World()
    row = audit.record_security("mfa.enabled", user=w.alice)
    assert (row.actor_id, row.vendor_id, row.object_type, row.object_label) == (
        w.alice.pk,
        w.vendor.pk,
        "user",
        w.alice.email,
    )
    row = audit.record_security("lockout", email="who@example.com", summary="5 failures")
    assert (row.actor_id, row.actor_email, row.summary) == (None, "who@example.com", "5 failures")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        ([], "203.0.113.9, 10.0.0.8", "10.0.0.8"),  # no proxy trusted: the header is noise
        (["10.0.0.0/8"], "203.0.113.9, 10.0.0.8", "203.0.113.9"),
        # The client wrote the left-most entry itself: the first hop our proxy added counts.
        (["10.0.0.0/8"], "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        (["10.0.0.0/8"], "<script>, 10.0.0.8", "10.0.0.8"),  # not an address: the hop stands
        (["192.0.2.1"], "203.0.113.9", "10.0.0.8"),  # the peer is not the trusted proxy
    ],
)
def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    client, settings, trusted, forwarded, expected
):
    settings.TRUSTED_PROXIES = trusted
    w = World()
    client.post(
        "/accounts/login/",
        {"login": w.amos.email, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.8",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert newest("login").ip == expected


@pytest.mark.django_db
def test_a_web_write_records_the_request_origin(client):
    w = World()
    order = w.order()
    client.force_login(w.amos)
    response = client.post(
        reverse("portal:order-acknowledge", args=[order.number]),
        {"revision": order.revision, "response": "accepted"},
        REMOTE_ADDR="192.0.2.10",
        HTTP_USER_AGENT="Firefox",
    )
    assert response.status_code in (200, 302)
    row = newest("acknowledgement.recorded")
    assert (row.actor_id, row.actor_email, row.channel, row.ip, row.user_agent) == (
        w.amos.pk,
        w.amos.email,
        Channel.WEB,
        "192.0.2.10",
        "Firefox",
    )


@pytest.mark.django_db
def test_an_api_write_records_the_token():
    w = World()
    order = w.order()
    token, secret = tokens.token_create(name="ERP link", vendor=w.vendor, user=w.amos, by=w.alice)
    response = Client().post(
        f"/api/v1/orders/{order.number}/acknowledgements",
        data=json.dumps({"revision": order.revision, "response": "accepted"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        REMOTE_ADDR="192.0.2.20",
    )
    assert response.status_code == 201, response.content
    row = newest("acknowledgement.recorded")
    assert (row.channel, row.token_id, row.token_name, row.actor_id, row.ip) == (
        Channel.API,
        token.pk,
        "ERP link",
        w.amos.pk,
        "192.0.2.20",
    )


@pytest.mark.django_db
def test_a_command_records_channel_command():
    w = World()
    with audit_context.command():
        accounts.vendor_login_create(
            vendor=w.vendor, email="cmd@acme.example", role=Role.VENDOR_USER, password=TEST_PASSWORD
        )
    assert newest("user.created").channel == Channel.COMMAND


def test_the_vendorportal_command_runs_in_the_command_channel(monkeypatch):
    from vendorportal import __main__ as cli

    seen = []
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line",
        lambda argv: seen.append((argv, audit_context.current().channel)),
    )
    cli.main(["check"])
    assert seen == [(["vendorportal", "check"], Channel.COMMAND)]


# ---------------------------------------------------------------------------------------
# Buyers search it; vendors never see it
# ---------------------------------------------------------------------------------------


@pytest.fixture
def trail(db: None) -> World:
    w = World()
    other = Vendor.objects.create(code="BOLT", name="Bolt", external_id="ERP-V-B")
    order = w.order()
    w.po = order  # type: ignore[attr-defined]
    make_order(vendor=other, by=w.admin, lines=[("5", "1.00")])
    with audit_context.origin(audit_context.Origin(channel=Channel.WEB, ip="192.0.2.77")):
        collaboration.comment_add(order=order, by=w.amos, body="On its way")
    audit.record_security("login.failed", email="mallory@example.com")
    return w


def search(client: Client, **params: str) -> list[AuditEntry]:
    response = client.get("/buying/audit/", params)
    assert response.status_code == 200
    return list(response.context["entries"])


@pytest.mark.django_db
def test_buyers_search_the_trail_by_each_filter(client, trail):
    w = trail
    client.force_login(w.buyer)
    everything = search(client)
    assert len(everything) == AuditEntry.objects.count() >= 5
    assert {e.actor_email for e in search(client, actor="amos@")} == {w.amos.email}
    assert {e.vendor_id for e in search(client, vendor="bolt")} == {
        Vendor.objects.get(code="BOLT").pk
    }
    assert {e.action for e in search(client, action="order")} == {"order.created", "order.issued"}
    assert {e.action for e in search(client, action="login.failed")} == {"login.failed"}
    by_po = search(client, object=w.po.number)
    assert by_po and {e.order_number for e in by_po} == {w.po.number}
    assert [e.action for e in search(client, object=f"purchase_order:{w.po.pk}")] == [
        "comment.added",
        "order.issued",
        "order.created",
    ]
    assert [e.action for e in search(client, ip="192.0.2.77")] == ["comment.added"]
    assert [e.action for e in search(client, channel="web")] == ["comment.added"]
    today = timezone.localdate()
    assert len(search(client, since=str(today), until=str(today))) == len(everything)
    assert search(client, until=str(today - dt.timedelta(days=1))) == []
    assert search(client, since=str(today + dt.timedelta(days=1))) == []
    page = client.get("/buying/audit/", {"object": w.po.number}).content.decode()
    assert w.po.number in page and "comment.added" in page and w.amos.email in page
    assert reverse("buying:audit") in client.get("/buying/").content.decode()


@pytest.mark.django_db
def test_the_trail_pages(client, trail):
    client.force_login(trail.buyer)
    for n in range(120):
        audit.record(action="test.row", object_type="x", object_id=n)
    first = client.get("/buying/audit/", {"action": "test"})
    assert len(first.context["entries"]) == 100
    second = client.get("/buying/audit/", {"action": "test", "page": 2})
    assert len(second.context["entries"]) == 20


@pytest.mark.django_db
def test_vendors_never_see_the_trail_and_it_is_read_only(client, trail):
    for user in (trail.amos, trail.alice):
        client.force_login(user)
        assert client.get("/buying/audit/").status_code == 404
    client.logout()
    response = client.get("/buying/audit/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(trail.buyer)
    assert client.post("/buying/audit/").status_code == 405
    assert client.head("/buying/audit/").status_code == 200


# ---------------------------------------------------------------------------------------
# Back-office edits that are not service calls
# ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_back_office_master_data_edits_are_audited(client):
    w = World()
    client.force_login(w.admin)
    data = {
        "code": "ACME",
        "name": "Acme Components Ltd",
        "active": "on",
        "external_id": "ERP-V-A",
        "contact_name": "",
        "contact_email": "",
        "phone": "",
        "address": "",
        "rating": "",
        "internal_notes": "",
    }
    response = client.post(f"/admin/purchasing/vendor/{w.vendor.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    row = newest("vendor.changed")
    assert (row.actor_id, row.vendor_id, row.channel) == (w.admin.pk, w.vendor.pk, Channel.WEB)
    assert row.changes == {"name": ["Acme", "Acme Components Ltd"]}


@pytest.mark.django_db
def test_back_office_user_edits_are_audited_without_passwords(client):
    w = World()
    client.force_login(w.admin)
    password = "a long enough passphrase 42"
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new.person@acme.example",
            "role": Role.VENDOR_USER,
            "vendor": w.vendor.pk,
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = newest("user.updated")
    assert row.actor_id == w.admin.pk and row.object_label == "new.person@acme.example"
    assert row.changes["role"] == [None, Role.VENDOR_USER]
    assert password not in json.dumps(row.changes)


@pytest.mark.django_db
def test_internal_and_draft_edits_record_old_and_new_values():
    w = World()
    order = w.order()
    services.order_revise(
        order=order, changes=[services.SetHeader("internal_notes", "Expedite")], by=w.buyer
    )
    row = newest("order.internal_updated")
    assert row.changes == {"internal_notes": ["", "Expedite"]} and row.revision is None
    draft = w.order(issue=False)
    number = draft.lines.get().line_number
    services.order_revise(
        order=draft,
        changes=[services.SetDelivery(number, 1, "due_date", DUE + dt.timedelta(days=3))],
        by=w.buyer,
    )
    row = newest("order.draft_updated")
    assert row.changes == {f"line {number}.delivery 1.due_date": [DUE.isoformat(), "2026-12-18"]}


def test_the_audit_trail_says_changes_in_words_in_the_one_date_style():
    from vendorportal.audit.words import change_in_words

    assert (
        change_in_words("line 10.delivery 1.due_date", ["2026-12-08", "2026-12-11"])
        == "Line 10 delivery 1 due date: 8 Dec 2026 → 11 Dec 2026"
    )
    assert (
        change_in_words("line 10.delivery 1.promised_date", ["2026-12-08", None])
        == "Line 10 delivery 1 promised date: 8 Dec 2026 → —"
    )
    assert change_in_words("line 20.quantity", ["360.0000", "400"]) == (
        "Line 20 quantity: 360 → 400"
    )
    assert change_in_words("line 20.unit_price", ["2.5000", "2.4500"]) == (
        "Line 20 unit price: 2.50 → 2.45"
    )
    assert change_in_words("payment_terms", ["Net 30", "Net 45"]) == (
        "Payment terms: Net 30 → Net 45"
    )
    assert change_in_words("is_active", [True, False]) == "Active: yes → no"
