"""Each login's choice per kind (at once, digest, off), the vendor's defaults, and the
writes that change them: one service each, with an audit row.

What applies to a login for a kind: its own choice; else, for a vendor login, the default
its vendor admin set; else the kind's default (`kinds`).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django_scopes import scopes_disabled

from vendorportal.audit import log as audit
from vendorportal.errors import DomainError
from vendorportal.events.models import (
    Delivery,
    Follow,
    NotificationPreference,
    VendorNotificationDefault,
)
from vendorportal.events.notify.kinds import KINDS, Kind, for_side
from vendorportal.scoping import service


def choices_for(users: Iterable[Any], kind: str) -> dict[int, Delivery]:
    """The delivery that applies to each of `users` for `kind` (two queries for all)."""
    users = list(users)
    own = dict(
        NotificationPreference.objects.filter(
            user_id__in=[u.pk for u in users], kind=kind
        ).values_list("user_id", "delivery")
    )
    vendor_ids = {u.vendor_id for u in users if u.vendor_id and u.pk not in own}
    vendor_defaults: dict[int, str] = {}
    if vendor_ids:
        with scopes_disabled():  # the recipients' own vendors, named here
            vendor_defaults = dict(
                VendorNotificationDefault.objects.filter(
                    vendor_id__in=vendor_ids, kind=kind
                ).values_list("vendor_id", "delivery")
            )
    default = KINDS[kind].default
    result = {}
    for user in users:
        chosen = own.get(user.pk) or vendor_defaults.get(user.vendor_id) or default
        result[user.pk] = Delivery(chosen)
    return result


def settings_of(user: Any) -> list[tuple[Kind, Delivery, bool]]:
    """The login's kinds with what applies and whether it is its own choice."""
    kinds = for_side(user.is_vendor_user)
    own = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    defaults = vendor_defaults(user.vendor) if user.vendor_id else {}
    return [
        (
            kind,
            Delivery(own.get(kind.key) or defaults.get(kind.key) or kind.default),
            kind.key in own,
        )
        for kind in kinds
    ]


def vendor_defaults(vendor: Any) -> dict[str, Delivery]:
    with scopes_disabled():  # this vendor's, named here
        rows = VendorNotificationDefault.objects.filter(vendor=vendor).values_list(
            "kind", "delivery"
        )
        return {kind: Delivery(delivery) for kind, delivery in rows}


def _checked(kind: str, delivery: str, *, supplier: bool) -> Delivery:
    if kind not in KINDS or KINDS[kind].supplier != supplier:
        raise DomainError(f"There is no notification kind '{kind[:40]}'.", field="kind")
    try:
        return Delivery(delivery)
    except ValueError:
        raise DomainError(
            "Choose at once, digest or off.", field=kind, code="invalid_choice"
        ) from None


def time_zone_checked(name: str) -> str:
    name = (name or "").strip()
    if name and name not in zoneinfo.available_timezones():
        raise DomainError(
            f"'{name[:64]}' is not a time zone (e.g. Europe/Berlin).", field="time_zone"
        )
    return name


@service
def preferences_set(
    *, user: Any, choices: Mapping[str, str], time_zone: str | None = None, by: Any
) -> dict[str, Delivery]:
    """Set a login's own choices (kind → delivery); every kind is checked before any is
    written, so a refused choice changes nothing."""
    if by.pk != user.pk:
        raise DomainError("You can change only your own notification settings.", code="forbidden")
    checked = {
        kind: _checked(kind, delivery, supplier=user.is_vendor_user)
        for kind, delivery in choices.items()
    }
    zone = time_zone_checked(time_zone) if time_zone is not None else None
    before = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    changes: dict[str, list[Any]] = {}
    for kind, delivery in checked.items():
        if before.get(kind) == delivery:
            continue
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"delivery": delivery}
        )
        changes[f"notify.{kind}"] = [before.get(kind), delivery.value]
    if zone is not None and zone != user.time_zone:
        changes["time_zone"] = [user.time_zone, zone]
        user.time_zone = zone
        user.save(update_fields=["time_zone"])
    if changes:
        audit.record(
            action="notifications.preferences_changed",
            actor=by,
            vendor_id=user.vendor_id,
            object_type="user",
            object_id=user.pk,
            object_label=user.email,
            changes=changes,
        )
    return {kind.key: delivery for kind, delivery, _ in settings_of(user)}


@service
def vendor_defaults_set(*, vendor: Any, choices: Mapping[str, str], by: Any) -> dict[str, Delivery]:
    """A vendor admin's defaults for the vendor's logins (their own choices still win)."""
    if not (by.is_vendor_admin and by.vendor_id == vendor.pk):
        raise DomainError("Only the vendor's admins set its defaults.", code="forbidden")
    checked = {kind: _checked(kind, delivery, supplier=True) for kind, delivery in choices.items()}
    before = vendor_defaults(vendor)
    changes: dict[str, list[Any]] = {}
    for kind, delivery in checked.items():
        if before.get(kind) == delivery:
            continue
        VendorNotificationDefault.objects.update_or_create(
            vendor=vendor, kind=kind, defaults={"delivery": delivery}
        )
        changes[f"notify.{kind}"] = [
            before[kind].value if kind in before else None,
            delivery.value,
        ]
    if changes:
        audit.record(
            action="notifications.vendor_defaults_changed",
            actor=by,
            vendor_id=vendor.pk,
            object_type="vendor",
            object_id=vendor.pk,
            object_label=vendor.name,
            changes=changes,
        )
    return vendor_defaults(vendor)


@service
def unsubscribe(*, user: Any, kind: str) -> bool:
    """The signed link's one write: this kind off for this login. True if it changed."""
    if kind not in KINDS:
        raise DomainError("This link names no notification kind.", field="kind")
    current = choices_for([user], kind)[user.pk]
    if current == Delivery.OFF:
        return False
    NotificationPreference.objects.update_or_create(
        user=user, kind=kind, defaults={"delivery": Delivery.OFF}
    )
    audit.record(
        action="notifications.unsubscribed",
        actor=user,
        vendor_id=user.vendor_id,
        object_type="user",
        object_id=user.pk,
        object_label=user.email,
        changes={f"notify.{kind}": [current.value, Delivery.OFF.value]},
        summary="Unsubscribed with the link in a message.",
    )
    return True


def local_zone(user: Any) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# --- follows: buyers who hear of a vendor's orders, or of one order, besides the order's buyer


def following(user: Any, order: Any) -> dict[str, bool]:
    """Whether `user` follows this order and its vendor (for the order page's buttons)."""
    with scopes_disabled():  # buyers' own rows
        rows = set(
            Follow.objects.filter(user=user)
            .filter(models.Q(order=order) | models.Q(vendor_id=order.vendor_id))
            .values_list("order_id", "vendor_id")
        )
    return {
        "order": (order.pk, None) in rows,
        "vendor": (None, order.vendor_id) in rows,
    }


@service
def follow_set(*, user: Any, on: bool, order: Any = None, vendor: Any = None) -> bool:
    """A buyer starts or stops following an order or a vendor; True if it changed."""
    if not user.is_buyer:
        raise DomainError("Only buyers follow orders and vendors.", code="forbidden")
    if (order is None) == (vendor is None):
        raise DomainError("Follow an order or a vendor.", field="follow")
    target = {"order": order} if order is not None else {"vendor": vendor}
    existing = Follow.objects.filter(user=user, **target)
    if on == existing.exists():
        return False
    if on:
        Follow.objects.create(user=user, **target)
    else:
        existing.delete()
    what = f"order {order.number}" if order is not None else f"vendor {vendor.name}"
    audit.record(
        action="notifications.follow_started" if on else "notifications.follow_stopped",
        actor=user,
        vendor_id=order.vendor_id if order is not None else vendor.pk,
        object_type="purchase_order" if order is not None else "vendor",
        object_id=order.pk if order is not None else vendor.pk,
        object_label=order.number if order is not None else vendor.name,
        changes={"following": [not on, on]},
        summary=f"{user.display_name} {'follows' if on else 'stopped following'} {what}.",
    )
    return True
