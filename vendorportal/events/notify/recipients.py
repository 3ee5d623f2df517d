"""Who hears of an event, and as which kind.

- Suppliers: the vendor's active logins, for what the buying side (a buyer, or the ERP
  through sync) did to their orders, receipts and invoices. Never an internal event, and
  never what a colleague at the same vendor did (they are told by the screen they share).
- Buyers: the order's buyer and every buyer who follows the vendor or the order, for what
  the supplier did (acknowledgements, proposals, comments).
- Never the actor itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from vendorportal.accounts.models import VENDOR_ROLES, Role
from vendorportal.events.models import Event, Follow
from vendorportal.events.notify.kinds import BUYER_BY_EVENT, SUPPLIER_BY_EVENT


@dataclass(frozen=True)
class Recipient:
    event: Event
    user: Any
    kind: str


def _by_supplier(event: Event) -> bool:
    actor = event.actor
    return actor is not None and actor.role in VENDOR_ROLES


def recipients(events: Iterable[Event]) -> list[Recipient]:
    """Every (event, login, kind) the events make; three queries for the whole batch.

    `events` come with `actor` and `order` loaded (select_related)."""
    events = list(events)
    supplier_events = [
        e for e in events if e.kind in SUPPLIER_BY_EVENT and not e.internal and not _by_supplier(e)
    ]
    buyer_events = [e for e in events if e.kind in BUYER_BY_EVENT and _by_supplier(e)]
    users = get_user_model().objects
    found: list[Recipient] = []

    if supplier_events:
        logins: dict[int, list[Any]] = defaultdict(list)
        for user in users.filter(
            is_active=True,
            role__in=VENDOR_ROLES,
            vendor_id__in={e.vendor_id for e in supplier_events},
        ).order_by("id"):
            logins[user.vendor_id or 0].append(user)
        for event in supplier_events:
            kind = SUPPLIER_BY_EVENT[event.kind].key
            found += [
                Recipient(event, user, kind)
                for user in logins[event.vendor_id]
                if user.pk != event.actor_id
            ]

    if buyer_events:
        vendor_ids = {e.vendor_id for e in buyer_events}
        order_ids = {e.order_id for e in buyer_events if e.order_id}
        follows = Follow.objects.filter(Q(vendor_id__in=vendor_ids) | Q(order_id__in=order_ids))
        by_vendor: dict[int, set[int]] = defaultdict(set)
        by_order: dict[int, set[int]] = defaultdict(set)
        for user_id, vendor_id, order_id in follows.values_list("user_id", "vendor_id", "order_id"):
            if vendor_id:
                by_vendor[vendor_id].add(user_id)
            else:
                by_order[order_id].add(user_id)
        wanted: dict[int, set[int]] = {}
        for event in buyer_events:
            ids = by_vendor[event.vendor_id] | by_order[event.order_id or 0]
            if event.order is not None and event.order.buyer_id:
                ids.add(event.order.buyer_id)
            ids.discard(event.actor_id or 0)
            wanted[event.pk] = ids
        buyers = {
            user.pk: user
            for user in users.filter(
                pk__in=set().union(*wanted.values()), is_active=True, role=Role.BUYER
            )
        }
        for event in buyer_events:
            kind = BUYER_BY_EVENT[event.kind].key
            found += [
                Recipient(event, buyers[user_id], kind)
                for user_id in sorted(wanted[event.pk])
                if user_id in buyers
            ]
    return found
