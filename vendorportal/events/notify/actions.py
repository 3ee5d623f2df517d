"""One-click actions from a message: "Acknowledge revision N", "Confirm the due date".

A link is `/a/<token>/`, where the token is signed (Django's signing, its own salt) and
carries: the recipient, the action, the object (order or delivery), the order's revision
when the link was made, a random nonce, and the time it was made (it expires after
ACTION_LINK_DAYS). Nothing is stored when a message is sent; using a link stores its nonce
(`ActionLinkUse`, unique), in the same transaction as the action, so a link works once.

Opening the link (GET) only shows what it will do; the action is one POST from that page
(CSRF-protected). It acts as the recipient it was made for, whoever follows it, and only
as far as that login may act: the same services as the order page check it (a stale
revision, another vendor's order, a deactivated login are refused exactly as there). The
audit row says channel "email".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django_scopes import scopes_disabled

from vendorportal.audit import context as audit_context
from vendorportal.audit.models import Channel
from vendorportal.collaboration import services as collaboration
from vendorportal.errors import DomainError
from vendorportal.events.models import ActionLinkUse
from vendorportal.events.notify.tokens import BadToken
from vendorportal.purchasing.models import Delivery, PurchaseOrder
from vendorportal.web import formatting

SALT = "vendorportal.notify.action"
ACKNOWLEDGE = "acknowledge"
CONFIRM = "confirm_delivery"


def token_for(user_id: int, action: str, object_id: int, revision: int) -> str:
    payload = {"u": user_id, "a": action, "o": object_id, "r": revision, "n": secrets.token_hex(8)}
    return signing.dumps(payload, salt=SALT, compress=True)


def link(site: str, user_id: int, action: str, object_id: int, revision: int) -> str:
    token = token_for(user_id, action, object_id, revision)
    return site + reverse("notifications-action", kwargs={"token": token})


@dataclass(frozen=True)
class Action:
    user: Any
    action: str
    order: PurchaseOrder
    revision: int
    nonce: str
    delivery: Delivery | None = None

    @property
    def label(self) -> str:
        if self.action == ACKNOWLEDGE or self.delivery is None:
            return f"Accept revision {self.revision} of order {self.order.number}"
        return (
            f"Confirm line {self.delivery.line.line_number} delivery "
            f"{self.delivery.delivery_number} of order {self.order.number} for its due date"
        )


def read(token: str) -> Action:
    """The action a token names, or BadToken saying why it is refused."""
    try:
        value = signing.loads(token, salt=SALT, max_age=settings.ACTION_LINK_DAYS * 24 * 3600)
    except signing.SignatureExpired:
        raise BadToken(
            f"This link has expired (links work for {settings.ACTION_LINK_DAYS} days)."
        ) from None
    except signing.BadSignature:
        raise BadToken("This link is not valid: it was changed or cut off.") from None
    if not isinstance(value, dict) or value.get("a") not in (ACKNOWLEDGE, CONFIRM):
        raise BadToken("This link is not valid.")
    try:
        user_id, object_id, revision, nonce = (
            int(value["u"]),
            int(value["o"]),
            int(value["r"]),
            str(value["n"]),
        )
    except (KeyError, TypeError, ValueError):
        raise BadToken("This link is not valid.") from None
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.is_active or not user.is_vendor_user:
        raise BadToken("This link belongs to a login that is no longer active.")
    if ActionLinkUse.objects.filter(nonce=nonce).exists():
        raise BadToken("This link was used already; each link works once.")
    vendor_id = user.vendor_id or 0
    with scopes_disabled():  # the recipient's own vendor, named in each query
        delivery = None
        if value["a"] == CONFIRM:
            delivery = (
                Delivery.objects.select_related("order", "line")
                .filter(pk=object_id, vendor_id=vendor_id)
                .first()
            )
            order = delivery.order if delivery else None
        else:
            order = PurchaseOrder.objects.filter(pk=object_id, vendor_id=vendor_id).first()
    if order is None:
        raise BadToken("What this link is about no longer exists.")
    return Action(user, value["a"], order, revision, nonce, delivery)


def perform(action: Action) -> str:
    """Do what the link says, as its recipient, once; returns what was done, in words.
    DomainError (nothing written) when the order page would refuse it too."""
    origin = audit_context.Origin(
        channel=Channel.EMAIL, user_id=action.user.pk, user_email=action.user.email
    )
    with audit_context.origin(origin), transaction.atomic():
        try:
            with transaction.atomic():
                ActionLinkUse.objects.create(
                    nonce=action.nonce, user=action.user, action=action.action
                )
        except IntegrityError:
            raise DomainError("This link was used already; each link works once.") from None
        if action.action == ACKNOWLEDGE:
            collaboration.acknowledgement_record(
                order=action.order,
                revision=action.revision,
                response="accepted",
                by=action.user,
                comment="Accepted with the link in the notification e-mail.",
            )
            return f"Revision {action.revision} of order {action.order.number} is accepted."
        if action.delivery is None:
            raise DomainError("This link names no delivery.", field="delivery")
        if action.order.revision != action.revision:
            raise DomainError(
                f"Order {action.order.number} has changed since this e-mail (it is at "
                f"revision {action.order.revision}); open the order to confirm what it says now.",
                field="revision",
            )
        delivery = collaboration.delivery_confirm(delivery=action.delivery, by=action.user)
        return (
            f"Line {action.delivery.line.line_number} delivery "
            f"{action.delivery.delivery_number} is confirmed for its due date "
            f"({formatting.date(delivery.promised_date)})."
        )
