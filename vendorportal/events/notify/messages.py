"""What a notification says: a subject, a headline, the facts, and the links, rendered into
a multipart message (plain text + HTML) in the product's look.

Dates and numbers are formatted as on screen (`web.formatting`), in the recipient's time
zone. A supplier's message is built only from what that supplier may see: the objects are
read through the event's vendor, which must be the recipient's own (fail closed), and the
revision's change list comes from its snapshot, which holds no internal field.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from vendorportal.collaboration.models import ChangeProposal, Comment
from vendorportal.collaboration.services import describe_proposal
from vendorportal.events.models import Notification
from vendorportal.events.notify import actions, tokens
from vendorportal.events.notify.kinds import KINDS
from vendorportal.events.notify.preferences import local_zone
from vendorportal.purchasing.models import (
    Invoice,
    Payment,
    PurchaseOrder,
    Receipt,
    Revision,
    ShipNotice,
)
from vendorportal.purchasing.reconcile import describe
from vendorportal.purchasing.revisions import describe_change, visible_changes
from vendorportal.purchasing.services.shipments import notice_rows
from vendorportal.web import formatting


class NotForThisRecipient(Exception):
    """The row names something its recipient may not see: it is never sent."""


@dataclass
class Content:
    subject: str
    headline: str
    paragraphs: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    # The revision a supplier may accept in one click from this message (a link made for
    # each recipient when the message is rendered; the rest is the same for all).
    accept: int | None = None


def site_url() -> str:
    return settings.SITE_URL or "http://127.0.0.1:8000"


@functools.cache
def _settings_path() -> str:
    return reverse("notifications-settings")


# Stands for the token in a route reversed once (no token has these characters).
_SLOT = "--slot--"


@functools.cache
def _token_path(name: str) -> str:
    # reverse() once per route: a message makes two or three token links, and reverse()
    # was a sixth of a message's time (bench/notifications.py).
    return reverse(name, kwargs={"token": _SLOT})


def token_link(name: str, token: str) -> str:
    """The address of a token route (unsubscribe, one-click action)."""
    return site_url() + _token_path(name).replace(_SLOT, token)


def _link(name: str, **kwargs: Any) -> str:
    return site_url() + reverse(name, kwargs=kwargs)


def order_link(order: PurchaseOrder, supplier: bool) -> str:
    side = "portal" if supplier else "buying"
    return _link(f"{side}:order-detail", number=order.number)


def _order_facts(order: PurchaseOrder) -> list[tuple[str, str]]:
    lines = list(order.lines.all())
    value = sum((line.quantity * line.unit_price for line in lines), start=Decimal(0))
    first_due = (
        order.deliveries.filter(status="open")
        .order_by("due_date")
        .values_list("due_date", flat=True)
        .first()
    )
    facts = [
        ("Order", order.number),
        ("Revision", str(order.revision)),
        ("Lines", str(len(lines))),
        ("Value", f"{formatting.money(value, order.currency)} {order.currency}"),
    ]
    if first_due:
        facts.append(("First delivery due", formatting.date(first_due)))
    return facts


def _personal(content: Content, notification: Notification) -> list[tuple[str, str]]:
    """The message's links, with the recipient's own one-click link second."""
    found = list(content.actions)
    order_id = notification.order_id
    if (
        content.accept is not None
        and order_id is not None
        and notification.recipient.is_vendor_user
    ):
        token = actions.token_for(
            notification.recipient_id, actions.ACKNOWLEDGE, order_id, content.accept
        )
        url = token_link("notifications-action", token)
        found.insert(1, (f"Accept revision {content.accept}", url))
    return found


# Within one sending batch, the recipients of one event share its content (built once):
# only their own links differ, and those are added when each message is rendered.
_shared: ContextVar[dict[tuple[str, int, bool], Content] | None] = ContextVar(
    "notify_shared_content", default=None
)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _revision_items(order: PurchaseOrder, number: int | None) -> list[str]:
    if number is None:
        return []
    revision = Revision.objects.filter(order=order, number=number).first()
    if revision is None:
        return []
    return [describe_change(change) for change in visible_changes(revision.changes)]


def _actor(notification: Notification) -> str:
    event = notification.event
    if event is None or event.actor is None:
        return "Your customer's system"
    return event.actor.display_name


def build(notification: Notification) -> Content:
    """The content of one notification (a single event, a reminder or a digest entry)."""
    kind = notification.kind
    recipient = notification.recipient
    supplier = recipient.is_vendor_user
    event = notification.event
    order = notification.order
    if supplier and (
        notification.vendor_id != recipient.vendor_id
        or (order is not None and order.vendor_id != recipient.vendor_id)
        or (event is not None and (event.internal or event.vendor_id != recipient.vendor_id))
    ):
        raise NotForThisRecipient(f"notification {notification.pk}")
    data = event.data if event is not None else notification.data
    builder = BUILDERS.get(kind)
    if builder is None or (order is None and kind not in ORDERLESS):
        raise NotForThisRecipient(f"notification {notification.pk}: nothing to say of {kind}")
    shared = _shared.get()
    key = (kind, notification.event_id or 0, supplier)
    if shared is not None and event is not None and key in shared:
        return shared[key]
    with scopes_disabled():  # every object is read through this vendor's order, checked above
        content = builder(notification, order, data, supplier)
    if shared is not None and event is not None:
        shared[key] = content
    return content


def _order_issued(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    return Content(
        subject=f"New order {order.number}",
        headline=f"{_actor(n)} issued purchase order {order.number} to {order.vendor.name}.",
        paragraphs=["Please check it and acknowledge it, or propose changes, on the order page."],
        facts=_order_facts(order),
        actions=[("Open the order", order_link(order, supplier))],
        accept=n.event.revision if n.event and supplier else None,
    )


# How each revision event reads: (the subject's words, the headline's verb).
REVISION_WORDS = {
    "order.cancelled": ("cancelled", "cancelled"),
    "order.closed": ("closed", "closed"),
    "release.added": ("new releases", "called off releases on"),
    "line.cancelled": ("a line cancelled", "cancelled a line of"),
    "line.closed": ("a line closed", "closed a line of"),
}


def _order_revised(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    number = n.event.revision if n.event else None
    said, verb = REVISION_WORDS.get(n.event.kind if n.event else "", ("revised", "revised"))
    items = _revision_items(order, number)
    side = "portal" if supplier else "buying"
    return Content(
        subject=f"{order.number}: {said} (revision {number})",
        headline=f"{_actor(n)} {verb} order {order.number}: revision {number}.",
        paragraphs=["What changed:" if items else "The order has a new revision."],
        items=items,
        facts=_order_facts(order),
        actions=[
            ("Review and acknowledge", order_link(order, supplier)),
            ("See what changed", _link(f"{side}:revision-compare", number=order.number)),
        ],
        accept=number if supplier and n.event and n.event.kind != "order.closed" else None,
    )


def _proposal_answered(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    proposal = ChangeProposal.objects.select_related("line", "delivery").get(
        pk=data["proposal"], vendor_id=order.vendor_id
    )
    accepted = n.event is not None and n.event.kind == "proposal.accepted"
    paragraphs = [f"Proposal: {describe_proposal(proposal)}.", f"Your reason: {proposal.reason}"]
    if proposal.decision_note:
        paragraphs.append(f"The buyer's note: {proposal.decision_note}")
    if accepted:
        paragraphs.append(
            f"The order now has revision {proposal.resulting_revision}, counted as acknowledged "
            "by you, and its new date or quantity is your promise."
        )
    return Content(
        subject=f"{order.number}: your proposal was {'accepted' if accepted else 'rejected'}",
        headline=f"{_actor(n)} {'accepted' if accepted else 'rejected'} your proposal on "
        f"order {order.number}.",
        paragraphs=paragraphs,
        actions=[("Open the order", order_link(order, supplier))],
    )


def _comment(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    comment = Comment.objects.select_related("author", "line").get(
        pk=data["comment"], order=order, internal=False
    )
    where = f" about line {comment.line.line_number}" if comment.line else ""
    return Content(
        subject=f"{order.number}: comment from {comment.author.display_name}",
        headline=f"{comment.author.display_name} commented on order {order.number}{where}:",
        paragraphs=[comment.body],
        actions=[("Answer on the order", order_link(order, supplier))],
    )


def _receipt(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    receipt = Receipt.objects.get(number=data["receipt"], order=order)
    returned = receipt.kind == "return"
    items = []
    for row in receipt.lines.select_related("line", "delivery").order_by("line__line_number", "id"):
        delivery = row.delivery
        still_open = max(delivery.quantity - delivery.received_quantity, Decimal(0))
        items.append(
            f"Line {row.line.line_number} delivery {delivery.delivery_number}: "
            f"{formatting.quantity(abs(row.quantity))} {row.line.unit_of_measure} "
            f"{'returned' if returned else 'received'}; "
            f"{formatting.quantity(still_open)} still open"
        )
    paragraphs = []
    if receipt.ship_notice_id:
        notice = ShipNotice.objects.get(pk=receipt.ship_notice_id, order=order)
        differences = describe(notice_rows(notice), formatting.quantity)
        paragraphs.append(
            f"Received against your ship notice {notice.number}: "
            + (f"differences: {differences}." if differences else "as announced.")
        )
    return Content(
        subject=f"{order.number}: {'return' if returned else 'goods received'} ({receipt.number})",
        paragraphs=paragraphs,
        headline=f"{'Return' if returned else 'Receipt'} {receipt.number} on order {order.number}, "
        f"{formatting.date(receipt.receipt_date)}.",
        items=items,
        actions=[("Open the order", order_link(order, supplier))],
    )


def _notice_link(notice: ShipNotice, supplier: bool) -> str:
    side = "portal" if supplier else "buying"
    return _link(f"{side}:ship-notice-detail", pk=notice.pk)


def _ship_notice(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    """A ship notice sent, corrected, cancelled (to buyers) or closed short (to suppliers)."""
    notice = ShipNotice.objects.get(pk=data["ship_notice"], order=order)
    if notice.submitted_at is None:
        raise NotForThisRecipient(f"ship notice {notice.pk} is a draft")
    kind = n.event.kind if n.event else ""
    what = {
        "ship_notice.submitted": "is on its way",
        "ship_notice.corrected": f"was corrected (version {notice.version})",
        "ship_notice.cancelled": "was cancelled",
        "ship_notice.closed": "was closed with a difference",
    }.get(kind, "changed")
    items = [
        f"Line {row.delivery.line.line_number} delivery {row.delivery.delivery_number}: "
        f"{formatting.quantity(row.announced)} {row.delivery.line.unit_of_measure} announced"
        + (f", {formatting.quantity(row.received)} received" if row.received else "")
        + (f" ({row.label})" if row.kind else "")
        for row in notice_rows(notice)
    ]
    facts = [
        ("Shipped", formatting.date(notice.ship_date)),
        ("Expected arrival", formatting.date(notice.expected_date)),
    ]
    if notice.carrier or notice.tracking_number:
        facts.append(("Carrier", f"{notice.carrier} {notice.tracking_number}".strip()))
    if notice.packing_slip:
        facts.append(("Packing slip", notice.packing_slip))
    paragraphs = [n.event.summary] if n.event and kind != "ship_notice.submitted" else []
    return Content(
        subject=f"{order.number}: ship notice {notice.number} {what}",
        headline=f"{order.vendor.name}'s ship notice {notice.number} on order {order.number} "
        f"{what}.",
        paragraphs=paragraphs,
        facts=facts,
        items=items,
        actions=[("Open the ship notice", _notice_link(notice, supplier))],
    )


def _invoice_of(data: dict, order: Any) -> Invoice:
    return Invoice.objects.get(pk=data["invoice"], vendor_id=order.vendor_id)


def _invoice_link(invoice: Invoice, supplier: bool) -> str:
    return _link(f"{'portal' if supplier else 'buying'}:invoice-detail", pk=str(invoice.pk))


def _invoice_disputed(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    invoice = _invoice_of(data, order)
    reason = str(data.get("reason") or "")
    return Content(
        subject=f"Invoice {invoice.number} disputed",
        headline=f"{_actor(n)} disputed your invoice {invoice.number}.",
        paragraphs=[f"Reason: {reason}"] if reason else [],
        facts=[
            ("Invoice", invoice.number),
            (
                "Amount",
                f"{formatting.money(invoice.total_amount, invoice.currency)} {invoice.currency}",
            ),
            ("Invoice date", formatting.date(invoice.invoice_date)),
        ],
        actions=[("Open the invoice", _invoice_link(invoice, supplier))],
    )


def _invoice_sent_or_decided(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    """A supplier's invoice or credit note sent or withdrawn (to buyers), approved (to the
    supplier)."""
    invoice = _invoice_of(data, order)
    what = invoice.get_kind_display().lower()
    kind = n.event.kind if n.event else ""
    done = {
        "invoice.submitted": "sent",
        "credit_note.submitted": "sent",
        "invoice.withdrawn": "withdrew",
        "invoice.approved": "approved",
        "credit_note.applied": "approved",
    }.get(kind, "changed")
    facts = [
        (what.capitalize(), invoice.number),
        ("Order", order.number),
        ("Total", f"{formatting.money(invoice.total_amount, invoice.currency)} {invoice.currency}"),
        ("Dated", formatting.date(invoice.invoice_date)),
    ]
    if invoice.credits_id:
        facts.append(("Credits invoice", invoice.credits.number if invoice.credits else ""))
    flagged = invoice.lines.exclude(match_status="matched").count()
    paragraphs = []
    if kind == "invoice.submitted":
        paragraphs.append(
            f"{flagged} line(s) have three-way match exceptions."
            if flagged
            else "Every line matches."
        )
    if kind == "invoice.withdrawn" and invoice.status_reason:
        paragraphs.append(f"Reason: {invoice.status_reason}")
    who = order.vendor.name if not supplier else _actor(n)
    return Content(
        subject=f"{what.capitalize()} {invoice.number} {done}",
        headline=f"{who} {done} {what} {invoice.number} on order {order.number}.",
        paragraphs=paragraphs,
        facts=facts,
        actions=[(f"Open the {what}", _invoice_link(invoice, supplier))],
    )


def _payment(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    invoice = _invoice_of(data, order)
    payment = Payment.objects.get(pk=data["payment"], invoice=invoice)
    open_amount = invoice.outstanding_amount
    return Content(
        subject=f"Payment on invoice {invoice.number}",
        headline=f"A payment of {formatting.money(payment.amount, invoice.currency)} "
        f"{invoice.currency} was recorded on invoice {invoice.number}.",
        facts=[
            ("Paid on", formatting.date(payment.paid_on)),
            (
                "Invoice total",
                f"{formatting.money(invoice.total_amount, invoice.currency)} {invoice.currency}",
            ),
            (
                "Still to pay",
                f"{formatting.money(open_amount, invoice.currency)} {invoice.currency}",
            ),
        ],
        actions=[("Open the invoice", _invoice_link(invoice, supplier))],
    )


def _acknowledgement(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    summary = n.event.summary if n.event else ""
    return Content(
        subject=f"{order.number}: {summary[:120]}",
        headline=f"{order.vendor.name}: {summary}",
        actions=[("Open the order", order_link(order, supplier))],
    )


def _proposal(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    withdrawn = n.event is not None and n.event.kind == "proposal.withdrawn"
    proposal = ChangeProposal.objects.select_related("line", "delivery", "created_by").get(
        pk=data["proposal"], order=order
    )
    return Content(
        subject=f"{order.number}: proposal {'withdrawn' if withdrawn else 'to answer'} "
        f"from {order.vendor.name}",
        headline=f"{proposal.created_by.display_name} of {order.vendor.name} "
        f"{'withdrew the proposal' if withdrawn else 'proposed'} {describe_proposal(proposal)}.",
        paragraphs=[f"Reason: {proposal.reason}"],
        actions=[("Answer on the order", order_link(order, supplier))],
    )


def _items(data: dict) -> list[dict]:
    return [item for item in data.get("items", []) if isinstance(item, dict)]


def _deliveries(order: Any, data: dict) -> list[Any]:
    ids = [item["delivery"] for item in _items(data) if "delivery" in item]
    return list(
        order.deliveries.filter(pk__in=ids)
        .select_related("line")
        .order_by("line__line_number", "delivery_number")
    )


def _open(delivery: Any) -> Decimal:
    return max(delivery.quantity - delivery.received_quantity, Decimal(0))


def _reminder_acknowledge(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    revision = Revision.objects.filter(order=order, number=order.revision).first()
    since = formatting.date(revision.created_at) if revision else ""
    return Content(
        subject=f"Reminder: {order.number} revision {order.revision} waits for your "
        "acknowledgement",
        headline=f"Order {order.number} revision {order.revision} has waited for your "
        f"acknowledgement since {since}.",
        paragraphs=["Accept it, accept it with changes, or reject it on the order page."],
        items=_revision_items(order, order.revision),
        facts=_order_facts(order),
        actions=[("Review and acknowledge", order_link(order, supplier))],
        accept=order.revision if supplier else None,
    )


def _reminder_promise(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    deliveries = [d for d in _deliveries(order, data) if d.promised_date is None]
    return Content(
        subject=f"Reminder: {order.number}, {len(deliveries)} deliver"
        f"{'y' if len(deliveries) == 1 else 'ies'} due soon without a promised date",
        headline=f"Please confirm these deliveries of order {order.number}, or propose "
        "another date:",
        items=[
            f"Line {d.line.line_number} delivery {d.delivery_number}: "
            f"{formatting.quantity(_open(d))} {d.line.unit_of_measure} due "
            f"{formatting.date(d.due_date)}"
            for d in deliveries
        ],
        actions=[
            ("Confirm or propose on the order", order_link(order, supplier)),
            *[
                (
                    f"Confirm line {d.line.line_number} delivery {d.delivery_number} for "
                    f"{formatting.date(d.due_date)}",
                    actions.link(site_url(), n.recipient_id, actions.CONFIRM, d.pk, order.revision),
                )
                for d in deliveries
            ],
        ],
    )


def _reminder_overdue(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    today = timezone.localdate()
    deliveries = [d for d in _deliveries(order, data) if d.status == "open"]
    return Content(
        subject=f"Overdue: {order.number}, {len(deliveries)} deliver"
        f"{'y' if len(deliveries) == 1 else 'ies'} past the due date",
        headline=f"These deliveries of order {order.number} are past their due date with "
        "quantity still open:",
        items=[
            f"Line {d.line.line_number} delivery {d.delivery_number}: "
            f"{formatting.quantity(_open(d))} {d.line.unit_of_measure} open, due "
            f"{formatting.date(d.due_date)} ({formatting.days_late(d.due_date, today)} days late)"
            + (f", promised {formatting.date(d.promised_date)}" if d.promised_date else "")
            for d in deliveries
        ],
        actions=[("Propose a new date on the order", order_link(order, supplier))],
    )


def _reminder_proposals(n: Notification, order: Any, data: dict, supplier: bool) -> Content:
    ids = [item["proposal"] for item in _items(data) if "proposal" in item]
    proposals = ChangeProposal.objects.filter(
        pk__in=ids, order=order, status="pending"
    ).select_related("line", "delivery")
    described = [f"{describe_proposal(p)} ({p.reason})" for p in proposals]
    return Content(
        subject=f"Reminder: {order.number}, {len(described)} proposal"
        f"{'' if len(described) == 1 else 's'} from {order.vendor.name} to answer",
        headline=f"{order.vendor.name} is waiting for your answer on order {order.number}:",
        items=described,
        actions=[("Answer on the order", order_link(order, supplier))],
    )


BUILDERS = {
    "reminder_acknowledge": _reminder_acknowledge,
    "reminder_promise": _reminder_promise,
    "reminder_overdue": _reminder_overdue,
    "reminder_proposals": _reminder_proposals,
    "order_issued": _order_issued,
    "order_revised": _order_revised,
    "proposal_answered": _proposal_answered,
    "comment": _comment,
    "supplier_comment": _comment,
    "receipt": _receipt,
    "invoice_disputed": _invoice_disputed,
    "payment": _payment,
    "acknowledgement": _acknowledgement,
    "proposal": _proposal,
    "shipment": _ship_notice,
    "invoice_submitted": _invoice_sent_or_decided,
    "invoice_approved": _invoice_sent_or_decided,
    "ship_notice_closed": _ship_notice,
}
ORDERLESS: frozenset[str] = frozenset()


def _unsubscribe_link(notification: Notification, kind: str) -> str:
    return _link(
        "notifications-unsubscribe", token=tokens.unsubscribe_token(notification.recipient_id, kind)
    )


def _domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].rstrip(">") or "localhost"


def render(
    notification: Notification, entries: list[Notification] | None = None
) -> EmailMultiAlternatives:
    """The message for a row: one event or reminder, or (with `entries`) a digest."""
    recipient = notification.recipient
    zone = local_zone(recipient)
    with timezone.override(zone):
        if entries is not None:
            contents = []
            for entry in entries:
                try:
                    contents.append(build(entry))
                except (NotForThisRecipient, LookupError, ValueError):
                    continue
            local_day = timezone.localdate()
            content = Content(
                subject=f"Your day at Vendor Portal: {len(contents)} update"
                f"{'' if len(contents) == 1 else 's'} ({formatting.date(local_day)})",
                headline=f"What happened since your last digest, {formatting.date(local_day)}.",
            )
            unsubscribe_kind = ""
        else:
            content = build(notification)
            contents = []
            unsubscribe_kind = notification.kind
        context = {
            "content": content,
            "links": _personal(content, notification),
            "entries": contents,
            "recipient": recipient,
            "kind_label": KINDS[unsubscribe_kind].label if unsubscribe_kind else "",
            "unsubscribe_url": _unsubscribe_link(notification, unsubscribe_kind)
            if unsubscribe_kind
            else "",
            "settings_url": site_url() + _settings_path(),
            "sent_at": formatting.date(timezone.now()),
            "zone": str(zone),
        }
        text = render_to_string("notifications/email/message.txt", context)
        html = render_to_string("notifications/email/message.html", context)
    headers = {
        "Message-ID": notification.message_id,
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
    if unsubscribe_kind:
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    reply_to = []
    if notification.order_id is not None and entries is None:
        reply_to = [tokens.reply_address(recipient.pk, notification.order_id)]
        thread = f"<order-{notification.order_id}.{recipient.pk}@{_domain()}>"
        headers["References"] = thread
        headers["In-Reply-To"] = thread
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=text,
        to=[recipient.email],
        reply_to=reply_to,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def new_message_id() -> str:
    import uuid

    return f"<{uuid.uuid4().hex}@{_domain()}>"


def local_date(user: Any, at: dt.datetime | None = None) -> dt.date:
    return (at or timezone.now()).astimezone(local_zone(user)).date()
