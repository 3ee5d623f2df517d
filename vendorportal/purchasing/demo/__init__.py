"""Realistic demo data: an industrial manufacturer and the suppliers of its components.

The buying company is "Hartwell Drive Systems", which builds conveyors and gear drives in
two Minnesota plants. It buys machined parts, fasteners, electrical parts, hydraulics, steel
and packaging from six suppliers; three buyers split the suppliers by commodity.

`load()` builds about four months of history (the last 120 days, relative to today):
63 purchase orders in every status, blanket agreements with call-offs, split and
rescheduled deliveries, partial receipts, returns, revisions, invoices with match
exceptions, payments and a disputed invoice, plus the demo logins.

The two suppliers with portal logins (ACME and BOLT) also talk back: they acknowledge
most revisions (one rejected, which the buyer then revised; a couple accepted with
changes), confirm delivery dates, propose changes (accepted, rejected, withdrawn and some
still waiting for the buyer) and comment on orders and lines; buyers answer and keep
internal notes. Each supplier always has a few revisions it has not acknowledged yet.

Where it lives: `data.py` (the suppliers, items, logins and the words people use),
`plan.py` (the story as timed steps), `builder.py` (the steps run through the services),
and here `load()` and what the `demo` command prints.

How it is built:

- Every purchasing write goes through `purchasing.services` (and every acknowledgement,
  proposal and comment through `collaboration.services`, acting as the demo supplier or
  buyer login), so revisions, snapshots and the event log are exactly what the product
  writes in real use.
- The story is first *planned* as a list of timed steps (create, issue, revise, release,
  receive, invoice, pay, ...), then the steps run in time order across all orders, so event
  ids follow the clock just as in real use.
- The services stamp rows with the current time. After each step its rows are backdated
  to the step's simulated time with `QuerySet.update()` (created_at, updated_at,
  issued_at, closed_at, decided_at of the rows the step wrote), so timelines read like
  four months of work. This is the only write that bypasses the services, and it touches
  timestamps only.
- Deterministic: seeded `random.Random`s, dates relative to `timezone.localdate()`.
  Every simulated action happens before today, at business hours on a weekday.
- Idempotent: the whole load is one transaction; when the main buyer login exists the
  demo is considered loaded and nothing is created (only the passwords may be reset).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from vendorportal.accounts.models import Role, User
from vendorportal.collaboration.models import (
    Acknowledgement,
    ChangeProposal,
    Comment,
    ProposalStatus,
)
from vendorportal.events.models import Event
from vendorportal.events.notify import notifier
from vendorportal.purchasing.demo.builder import (
    _Builder,
)
from vendorportal.purchasing.demo.data import (
    BUYERS,
    DEFAULT_PASSWORD,
    DEMO_DOMAIN,
    DEMO_TOTP_SECRET,
    ITEM_BY_PART,
    LOGINS,
    MAIN_BUYER_EMAIL,
    RICK,
    SEED,
    VENDOR_BY_CODE,
    DemoError,
)
from vendorportal.purchasing.models import (
    Delivery,
    Invoice,
    InvoiceLine,
    Item,
    OrderKind,
    OrderStatus,
    Payment,
    PurchaseOrder,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    Revision,
    Vendor,
)

# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginRow:
    email: str
    name: str
    role: str
    vendor: str
    password: str


@dataclass(frozen=True)
class DemoResult:
    created: bool
    passwords_set: bool
    logins: list[LoginRow]
    counts: dict[str, int]


def demo_mfa_setup() -> int:
    """Give every demo buyer the documented authenticator secret (those without one);
    returns how many were set up."""
    made = 0
    for user in User.objects.filter(email__in=[spec.email for spec in BUYERS]):
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
            made += 1
    return made


def current_code(email: str = MAIN_BUYER_EMAIL) -> str:
    """The code a demo login's authenticator app shows right now."""
    if not email.lower().endswith(DEMO_DOMAIN):
        raise DemoError(f"{email} is not a demo login.")
    with scopes_disabled():
        authenticator = Authenticator.objects.filter(
            user__email=email.lower(), type=Authenticator.Type.TOTP
        ).first()
    if authenticator is None:
        raise DemoError(f"{email} has no authenticator app (only demo buyers have one).")
    secret = get_mfa_adapter().decrypt(authenticator.data["secret"])
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def is_loaded() -> bool:
    return User.objects.filter(email=MAIN_BUYER_EMAIL).exists()


def _conflicts() -> list[str]:
    found = [
        f"vendor {code}"
        for code in Vendor.objects.filter(code__in=VENDOR_BY_CODE).values_list("code", flat=True)
    ]
    found += [
        f"item {part}"
        for part in Item.objects.filter(part_number__in=ITEM_BY_PART).values_list(
            "part_number", flat=True
        )
    ]
    found += [
        f"login {email}"
        for email in User.objects.filter(email__in=[login.email for login in LOGINS]).values_list(
            "email", flat=True
        )
    ]
    return found


def counts() -> dict[str, int]:
    orders = PurchaseOrder.objects.all()
    result = {
        "vendors": Vendor.objects.count(),
        "items": Item.objects.count(),
        "buyers": User.objects.filter(role=Role.BUYER).count(),
        "orders": orders.count(),
    }
    for status in OrderStatus:
        result[f"orders {status.label.lower()}"] = orders.filter(status=status).count()
    result["blanket orders"] = orders.filter(kind=OrderKind.BLANKET).count()
    result["deliveries"] = Delivery.objects.count()
    result["receipts"] = Receipt.objects.filter(kind=ReceiptKind.RECEIPT).count()
    result["returns"] = Receipt.objects.filter(kind=ReceiptKind.RETURN).count()
    result["receipt lines"] = ReceiptLine.objects.count()
    result["invoices"] = Invoice.objects.count()
    result["invoice lines"] = InvoiceLine.objects.count()
    result["payments"] = Payment.objects.count()
    result["revisions"] = Revision.objects.count()
    result["acknowledgements"] = Acknowledgement.objects.count()
    result["confirmed deliveries"] = Delivery.objects.filter(promised_date__isnull=False).count()
    proposals = ChangeProposal.objects.all()
    result["proposals"] = proposals.count()
    for decision in ProposalStatus:
        result[f"proposals {decision.label.lower()}"] = proposals.filter(status=decision).count()
    result["comments"] = Comment.objects.count()
    result["internal comments"] = Comment.objects.filter(internal=True).count()
    result["events"] = Event.objects.count()
    return result


def _login_rows(password: str | None) -> list[LoginRow]:
    users = {
        user.email: user
        for user in User.objects.filter(email__in=[s.email for s in LOGINS]).select_related(
            "vendor"
        )
    }
    rows = []
    for spec in LOGINS:
        user = users.get(spec.email)
        if user is None:  # pragma: no cover - deleted by hand after loading
            continue
        if password is not None:
            shown = password
        elif check_password(DEFAULT_PASSWORD, user.password):
            shown = DEFAULT_PASSWORD
        else:
            shown = "(changed, not shown)"
        role = Role(user.role).label + (" (admin)" if user.is_superuser else "")
        rows.append(
            LoginRow(
                email=user.email,
                name=user.get_full_name(),
                role=role,
                vendor=user.vendor.code if user.vendor_id and user.vendor else "",
                password=shown,
            )
        )
    return rows


def load(
    *, password: str | None = None, today: dt.date | None = None, seed: int = SEED
) -> DemoResult:
    """Load the demo data unless it is already there; returns the logins and counts.

    When the demo is already loaded nothing is created; with `password` given, the demo
    logins' passwords are reset to it (the only change a second run makes).
    """
    if password is not None and not password:
        raise DemoError("The password must not be empty.")
    # A command acts for the buying company: the explicit internal scope.
    with scopes_disabled():
        return _load(password=password, today=today or timezone.localdate(), seed=seed)


def _load(*, password: str | None, today: dt.date, seed: int) -> DemoResult:
    if is_loaded():
        demo_mfa_setup()
        if password is not None:
            with transaction.atomic():
                for user in User.objects.filter(email__in=[s.email for s in LOGINS]):
                    user.set_password(password)
                    user.save(update_fields=["password"])
        return DemoResult(
            created=False,
            passwords_set=password is not None,
            logins=_login_rows(password),
            counts=counts(),
        )
    conflicts = _conflicts()
    if conflicts:
        raise DemoError(
            "The demo data cannot be loaded: the database already has "
            + ", ".join(conflicts[:5])
            + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
            + ". Load the demo into a fresh database."
        )
    chosen = password if password is not None else DEFAULT_PASSWORD
    builder = _Builder(today=today, seed=seed, password=chosen)
    with transaction.atomic():
        builder.build()
        demo_mfa_setup()
        # The demo's months of history are the past: nobody is e-mailed about them.
        notifier.cursor_at_end()
    return DemoResult(created=True, passwords_set=True, logins=_login_rows(chosen), counts=counts())


__all__ = [
    "BUYERS",
    "DEFAULT_PASSWORD",
    "DEMO_TOTP_SECRET",
    "LOGINS",
    "MAIN_BUYER_EMAIL",
    "RICK",
    "DemoError",
    "DemoResult",
    "LoginRow",
    "counts",
    "current_code",
    "demo_mfa_setup",
    "is_loaded",
    "load",
]
