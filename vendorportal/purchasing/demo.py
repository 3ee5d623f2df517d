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
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.auth.hashers import check_password
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django_scopes import scopes_disabled

from vendorportal.accounts import services as accounts
from vendorportal.accounts.models import Role, SeatPeriod, User
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import (
    Acknowledgement,
    AcknowledgementResponse,
    ChangeProposal,
    Comment,
    ProposalStatus,
)
from vendorportal.errors import DomainError
from vendorportal.events.models import Event
from vendorportal.events.notify import notifier
from vendorportal.purchasing import services
from vendorportal.purchasing.models import (
    ZERO,
    Delivery,
    Invoice,
    InvoiceLine,
    Item,
    Line,
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

DEMO_DOMAIN = "demo.vendorportal.test"
# The documented password of every demo login (override with `vendorportal demo --password`).
DEFAULT_PASSWORD = "demo-portal-2026"  # noqa: S105 - public demo credential, documented
MAIN_BUYER_EMAIL = f"buyer@{DEMO_DOMAIN}"
# Buyers must use two-factor authentication: every demo buyer's authenticator app has this
# fixed, documented secret (add it to any TOTP app, or run `vendorportal demo-code`).
DEMO_TOTP_SECRET = "VENDORPORTALDEMOBUYERSECRETKEYAA"  # noqa: S105 - public demo credential
SEED = 2026
HISTORY_DAYS = 120

PLANT_1 = (
    "Hartwell Drive Systems, Plant 1 (Assembly)\n"
    "Receiving, Dock 3\n"
    "1200 Industrial Parkway\n"
    "Northfield, MN 55057\n"
    "USA"
)
PLANT_2 = (
    "Hartwell Drive Systems, Plant 2 (Fabrication)\n"
    "Goods-in, Gate B\n"
    "45 Cannon Valley Road\n"
    "Dundas, MN 55019\n"
    "USA"
)


class DemoError(Exception):
    """The demo cannot be loaded (conflicting data, or a service refused a planned step)."""


# ---------------------------------------------------------------------------------------
# Master data
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorSpec:
    code: str
    name: str
    contact_name: str
    contact_mailbox: str
    phone: str
    address: str
    rating: int
    internal_notes: str
    payment_terms: str
    net_days: int
    incoterms: str
    ship_to: tuple[str, ...]
    lead_days: tuple[int, int]
    # Days early (negative) or late a shipment arrives, drawn uniformly from this list.
    lateness: tuple[int, ...]
    # Chance that a due delivery has not shipped at all yet, and that a shipment is short.
    miss_rate: float
    partial_rate: float
    invoice_format: str
    invoice_start: int
    slip_format: str
    notes: tuple[str, ...]

    @property
    def domain(self) -> str:
        return f"{self.code.lower()}.{DEMO_DOMAIN}"


VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec(
        code="ACME",
        name="Acme Precision Machining, Inc.",
        contact_name="Joanna Kowalski",
        contact_mailbox="sales",
        phone="+1 414 555 0142",
        address="2280 S. Kinnickinnic Ave\nMilwaukee, WI 53207\nUSA",
        rating=4,
        internal_notes=(
            "Preferred source for machined shafts, housings and brackets. On-time delivery "
            "94% over the last 12 months. Quality escape on coupling hub bores in spring "
            "(NCR-2291): 8D closed, 100% incoming inspection on hubs until further notice. "
            "Annual price review due in Q3, target -3%."
        ),
        payment_terms="Net 45",
        net_days=45,
        incoterms="FCA Milwaukee",
        ship_to=(PLANT_1,),
        lead_days=(28, 42),
        lateness=(-2, -1, 0, 0, 0, 1, 2, 3, 5),
        miss_rate=0.08,
        partial_rate=0.12,
        invoice_format="API-{n:06d}",
        invoice_start=104211,
        slip_format="DN-{n}",
        notes=(
            "Dimensional inspection report to accompany every batch; first-article "
            "inspection report required for new drawing revisions.",
            "Parts to be oiled and packed in VCI bags, max. 25 kg per box. Label each box "
            "with our part number, quantity and heat number.",
        ),
    ),
    VendorSpec(
        code="BOLT",
        name="Boltline Fasteners Co.",
        contact_name="Rick Alvarez",
        contact_mailbox="orders",
        phone="+1 815 555 0117",
        address="1840 Harrison Ave\nRockford, IL 61104\nUSA",
        rating=5,
        internal_notes=(
            "Fastener blanket agreement in place (12 months, fixed prices). On-time "
            "delivery 98%. Vendor-managed inventory trial for Plant 2 under discussion "
            "with R. Alvarez."
        ),
        payment_terms="Net 30",
        net_days=30,
        incoterms="DAP Northfield",
        ship_to=(PLANT_1, PLANT_2),
        lead_days=(7, 16),
        lateness=(-1, 0, 0, 0, 0, 1, 2),
        miss_rate=0.03,
        partial_rate=0.05,
        invoice_format="BF{n}",
        invoice_start=7004512,
        slip_format="PS{n}",
        notes=(
            "Label every box with our part number, quantity and lot number. Mixed boxes "
            "will be refused at goods-in.",
            "Certificates of conformity (EN 10204 2.1) with each shipment.",
        ),
    ),
    VendorSpec(
        code="NORT",
        name="Northgate Electrical Supply LLC",
        contact_name="Sandra Lindqvist",
        contact_mailbox="orders",
        phone="+1 612 555 0163",
        address="3100 Hennepin Ave E\nMinneapolis, MN 55413\nUSA",
        rating=2,
        internal_notes=(
            "Distributor. Frequent partial shipments on connectors and sensors; on-time "
            "delivery 81%, on the watch list. Second source (Lakeshore Electric) in "
            "qualification. Do not increase spend before the Q4 supplier review."
        ),
        payment_terms="2% 10, Net 30",
        net_days=30,
        incoterms="DAP Northfield",
        ship_to=(PLANT_1,),
        lead_days=(12, 30),
        lateness=(0, 1, 2, 3, 5, 8, 12),
        miss_rate=0.18,
        partial_rate=0.22,
        invoice_format="NG-INV-{n}",
        invoice_start=33812,
        slip_format="NG-{n}",
        notes=(
            "Partial shipments accepted; advise backorders by e-mail to the buyer the same day.",
            "Cables on returnable drums; drum deposit to be shown separately on the invoice.",
        ),
    ),
    VendorSpec(
        code="FLOW",
        name="Flowmatic Hydraulics Corp.",
        contact_name="Martin Brandt",
        contact_mailbox="sales",
        phone="+1 319 555 0188",
        address="5200 6th St SW\nCedar Rapids, IA 52404\nUSA",
        rating=3,
        internal_notes=(
            "Sole source for the CETOP 3 valves and the 11 cc gear pump; lead times 6-8 "
            "weeks, keep 4 weeks of safety stock. Net 60 negotiated in exchange for the "
            "2026 volume commitment."
        ),
        payment_terms="Net 60",
        net_days=60,
        incoterms="FCA Cedar Rapids",
        ship_to=(PLANT_1,),
        lead_days=(21, 42),
        lateness=(-2, 0, 0, 1, 3, 5, 8),
        miss_rate=0.1,
        partial_rate=0.12,
        invoice_format="FH-{n}",
        invoice_start=18455,
        slip_format="FH-LS-{n}",
        notes=(
            "All ports plugged; cylinders shipped on pallets. Pressure test certificate "
            "required with each pump, valve and cylinder.",
        ),
    ),
    VendorSpec(
        code="STEL",
        name="Steelbridge Metals Service Center",
        contact_name="Kevin O'Brien",
        contact_mailbox="sales",
        phone="+1 651 555 0129",
        address="890 Red Rock Road\nSt. Paul, MN 55119\nUSA",
        rating=4,
        internal_notes=(
            "Service centre; prices follow the CRU index monthly. Check every invoice for "
            "surcharges that were not agreed on the order. Mill certificates 3.1 mandatory."
        ),
        payment_terms="Net 30",
        net_days=30,
        incoterms="DAP Dundas",
        ship_to=(PLANT_2,),
        lead_days=(10, 21),
        lateness=(-1, 0, 0, 1, 2, 3),
        miss_rate=0.05,
        partial_rate=0.1,
        invoice_format="SB{n}",
        invoice_start=901233,
        slip_format="SB-{n}",
        notes=(
            "Mill test certificates EN 10204 3.1 required with every delivery. Sheets "
            "strapped on pallets, max. 2 t per bundle.",
            "Deliver to Plant 2, gate B. Crane unloading available 06:00-14:00.",
        ),
    ),
    VendorSpec(
        code="PACK",
        name="Pinnacle Packaging Solutions",
        contact_name="Amy Tran",
        contact_mailbox="service",
        phone="+1 651 555 0151",
        address="2975 Lone Oak Circle\nEagan, MN 55121\nUSA",
        rating=4,
        internal_notes=(
            "Local supplier, next-day delivery possible in emergencies. Export pallets "
            "must carry the ISPM 15 stamp."
        ),
        payment_terms="Net 30",
        net_days=30,
        incoterms="DAP Dundas",
        ship_to=(PLANT_1, PLANT_2),
        lead_days=(5, 12),
        lateness=(-2, -1, 0, 0, 1, 2),
        miss_rate=0.05,
        partial_rate=0.08,
        invoice_format="PP-{n}",
        invoice_start=5521,
        slip_format="PK{n}",
        notes=("Pallets must carry the ISPM 15 stamp. Max. pallet height 1.8 m.",),
    ),
)
VENDOR_BY_CODE = {spec.code: spec for spec in VENDORS}


@dataclass(frozen=True)
class ItemSpec:
    part_number: str
    description: str
    uom: str
    cost: str
    vendor: str
    vendor_part_number: str
    lot: tuple[int, int, int]  # usual order quantity: min, max, step

    @property
    def step(self) -> Decimal:
        return Decimal(self.lot[2])


# Part number, supplier, supplier's part number, unit, standard cost, usual order quantity
# (min, max, step), description.
# fmt: off
_ITEM_ROWS: tuple[tuple[str, str, str, str, str, tuple[int, int, int], str], ...] = (
    # Machined parts (ACME)
    ("MCH-21045", "ACME", "AP-21045-C", "EA", "38.50", (50, 200, 10),
     "Drive shaft 25 x 410 mm, 42CrMo4, induction hardened"),
    ("MCH-21052", "ACME", "AP-21052-B", "EA", "21.75", (50, 200, 10),
     "Idler shaft 20 x 285 mm, C45"),
    ("MCH-21310", "ACME", "AP-21310-D", "EA", "142.00", (12, 36, 4),
     "Gearbox housing, cast iron GG25, machined"),
    ("MCH-21318", "ACME", "AP-21318-A", "EA", "18.40", (100, 400, 50),
     "Bearing cover, aluminium 6082-T6, anodised"),
    ("MCH-21402", "ACME", "AP-21402-B", "EA", "12.60", (100, 400, 50),
     "Motor mounting bracket, S355, zinc plated"),
    ("MCH-21415", "ACME", "AP-21415-C", "EA", "27.90", (60, 200, 20),
     "Coupling hub, 32 mm H7 bore with keyway"),
    ("MCH-21520", "ACME", "AP-21520-A", "EA", "3.85", (200, 1000, 100),
     "Spacer ring 40 x 52 x 8 mm, stainless 304"),
    ("MCH-21533", "ACME", "AP-21533-A", "EA", "46.20", (20, 60, 10),
     "Tensioner arm, welded, powder coated RAL 7035"),
    # Fasteners (BOLT)
    ("FST-10830", "BOLT", "BL-4017-0830-ZP", "BOX", "14.20", (10, 40, 5),
     "Hex bolt ISO 4017 M8x30, 8.8, zinc plated (box of 200)"),
    ("FST-11025", "BOLT", "BL-4017-1025-ZP", "BOX", "12.90", (10, 40, 5),
     "Hex bolt ISO 4017 M10x25, 8.8, zinc plated (box of 100)"),
    ("FST-11260", "BOLT", "BL-4014-1260-PL", "BOX", "19.80", (10, 30, 5),
     "Hex bolt ISO 4014 M12x60, 10.9, plain (box of 50)"),
    ("FST-20008", "BOLT", "BL-4032-08-ZP", "BOX", "9.60", (5, 30, 5),
     "Hex nut ISO 4032 M8, class 8, zinc plated (box of 500)"),
    ("FST-20012", "BOLT", "BL-985-12-ZP", "BOX", "17.30", (5, 30, 5),
     "Nyloc nut DIN 985 M12, zinc plated (box of 200)"),
    ("FST-30008", "BOLT", "BL-7089-08-ZP", "BOX", "11.40", (5, 20, 5),
     "Flat washer ISO 7089 8 mm, zinc plated (box of 1000)"),
    ("FST-40516", "BOLT", "BL-4762-0516-BK", "BOX", "8.75", (10, 40, 5),
     "Socket head cap screw ISO 4762 M5x16, 12.9 (box of 200)"),
    ("FST-50640", "BOLT", "BL-976-06-A2", "EA", "3.10", (50, 200, 25),
     "Threaded rod DIN 976 M6 x 1000 mm, A2 stainless"),
    # Electrical (NORT)
    ("ELC-60115", "NORT", "NG-CC7G15", "M", "2.85", (300, 1500, 50),
     "Control cable 7G1.5 mm2, PVC, grey"),
    ("ELC-60225", "NORT", "NG-H07RN4G25", "M", "4.40", (300, 1500, 50),
     "Power cable 4G2.5 mm2, H07RN-F"),
    ("ELC-61008", "NORT", "NG-M12F4-5PUR", "EA", "11.90", (50, 200, 10),
     "M12 connector, 4-pin female, straight, 5 m PUR cable"),
    ("ELC-62040", "NORT", "NG-IS18-8PNO", "EA", "24.50", (20, 80, 10),
     "Inductive proximity sensor M18, PNP NO, 8 mm"),
    ("ELC-63010", "NORT", "NG-CT18-24DC", "EA", "31.20", (10, 40, 5),
     "Contactor 3-pole 18 A, 24 V DC coil"),
    ("ELC-63250", "NORT", "NG-MCB-C16-1P", "EA", "6.45", (50, 200, 25),
     "Miniature circuit breaker C16, 1-pole"),
    ("ELC-64100", "NORT", "NG-TB25-GY-50", "BOX", "21.00", (10, 40, 5),
     "Feed-through terminal block 2.5 mm2, grey (box of 50)"),
    ("ELC-65012", "NORT", "NG-CG-M20-100", "BOX", "16.80", (5, 20, 5),
     "Cable gland M20x1.5, nylon, IP68 (box of 100)"),
    # Hydraulics (FLOW)
    ("HYD-70310", "FLOW", "FM-2SN-10", "M", "7.95", (100, 500, 25),
     "Hydraulic hose 2SN DN10 (3/8 in)"),
    ("HYD-70412", "FLOW", "FM-DKOL-12L", "EA", "4.20", (100, 400, 50),
     "Hose fitting DKOL 12L straight, crimp type"),
    ("HYD-71020", "FLOW", "FM-GP11-SAEA", "EA", "188.00", (4, 16, 2),
     "Gear pump 11 cc/rev, SAE A 2-bolt flange"),
    ("HYD-71550", "FLOW", "FM-DV03-43-24", "EA", "96.50", (6, 24, 2),
     "Directional valve CETOP 3, 4/3, 24 V DC"),
    ("HYD-72008", "FLOW", "FM-ORK-NBR30", "BOX", "22.40", (5, 15, 5),
     "O-ring kit NBR 70, 30 sizes"),
    ("HYD-72515", "FLOW", "FM-CYL-50-30-300", "EA", "154.00", (6, 20, 2),
     "Hydraulic cylinder 50/30 x 300 mm stroke"),
    # Steel and aluminium (STEL)
    ("MAT-80120", "STEL", "SB-S235-2.0-1225", "KG", "1.18", (2000, 6000, 250),
     "Steel sheet S235JR 2.0 mm, 1250 x 2500 mm"),
    ("MAT-80135", "STEL", "SB-S235-3.0-1530", "KG", "1.15", (2000, 6000, 250),
     "Steel sheet S235JR 3.0 mm, 1500 x 3000 mm"),
    ("MAT-80410", "STEL", "SB-42CRMO4-RD30", "KG", "2.65", (1000, 3000, 100),
     "Round bar 42CrMo4 dia. 30 mm, peeled"),
    ("MAT-80525", "STEL", "SB-AL6082-PL10", "KG", "5.90", (300, 1200, 50),
     "Aluminium plate 6082-T651, 10 mm"),
    ("MAT-80610", "STEL", "SB-RHS-60403", "M", "8.70", (120, 480, 6),
     "Rectangular tube 60 x 40 x 3 mm, S355, 6 m lengths"),
    ("MAT-80720", "STEL", "SB-14301-1.5-2B", "KG", "4.35", (500, 1500, 100),
     "Stainless sheet 1.4301 2B, 1.5 mm"),
    # Packaging (PACK)
    ("PKG-90110", "PACK", "PP-RSC-644-DW", "EA", "2.35", (500, 3000, 250),
     "Corrugated carton 600 x 400 x 400 mm, double wall"),
    ("PKG-90120", "PACK", "PP-RSC-432-SW", "EA", "1.05", (1000, 5000, 500),
     "Corrugated carton 400 x 300 x 250 mm, single wall"),
    ("PKG-90210", "PACK", "PP-EPAL-HT", "EA", "14.50", (50, 200, 25),
     "Euro pallet 1200 x 800 mm, heat treated ISPM 15"),
    ("PKG-90305", "PACK", "PP-SF-500-23", "EA", "12.80", (20, 60, 4),
     "Stretch film 500 mm x 300 m, 23 micron (roll)"),
    ("PKG-90410", "PACK", "PP-VCI-6080-250", "BOX", "48.00", (4, 12, 2),
     "VCI rust-inhibiting bag 600 x 800 mm (box of 250)"),
)
# fmt: on
ITEMS: tuple[ItemSpec, ...] = tuple(
    ItemSpec(part, description, uom, cost, vendor, vendor_part, lot)
    for part, vendor, vendor_part, uom, cost, lot, description in _ITEM_ROWS
)
ITEM_BY_PART = {spec.part_number: spec for spec in ITEMS}


@dataclass(frozen=True)
class LoginSpec:
    email: str
    first_name: str
    last_name: str
    role: str
    vendor: str | None = None
    admin: bool = False


BUYERS: tuple[LoginSpec, ...] = (
    LoginSpec(MAIN_BUYER_EMAIL, "Dana", "Whitfield", Role.BUYER, admin=True),
    LoginSpec(f"marcus.okafor@{DEMO_DOMAIN}", "Marcus", "Okafor", Role.BUYER),
    LoginSpec(f"priya.raman@{DEMO_DOMAIN}", "Priya", "Raman", Role.BUYER),
)
VENDOR_LOGINS: tuple[LoginSpec, ...] = (
    LoginSpec(f"admin@acme.{DEMO_DOMAIN}", "Joanna", "Kowalski", Role.VENDOR_ADMIN, "ACME"),
    LoginSpec(f"sales@acme.{DEMO_DOMAIN}", "Tom", "Reyes", Role.VENDOR_USER, "ACME"),
    LoginSpec(f"admin@bolt.{DEMO_DOMAIN}", "Rick", "Alvarez", Role.VENDOR_ADMIN, "BOLT"),
    LoginSpec(f"orders@bolt.{DEMO_DOMAIN}", "Lena", "Fischer", Role.VENDOR_USER, "BOLT"),
)
LOGINS = BUYERS + VENDOR_LOGINS
DANA, MARCUS, PRIYA = (login.email for login in BUYERS)
JOANNA, TOM, RICK, LENA = (login.email for login in VENDOR_LOGINS)
# Who answers a supplier's orders in the portal (the order desk more often than the admin).
RESPONDERS = {"ACME": (TOM, TOM, TOM, JOANNA), "BOLT": (LENA, LENA, LENA, RICK)}
# However much the suppliers answer, this many of their open orders still wait for an
# acknowledgement of the current revision (the "to acknowledge" counters are never empty).
UNACKNOWLEDGED_PER_VENDOR = 3
ACCEPTED = AcknowledgementResponse.ACCEPTED
ACCEPTED_WITH_CHANGES = AcknowledgementResponse.ACCEPTED_WITH_CHANGES
REJECTED = AcknowledgementResponse.REJECTED

# Buyers split the suppliers by commodity.
BUYER_OF_VENDOR = {
    "ACME": BUYERS[0].email,
    "FLOW": BUYERS[0].email,
    "BOLT": BUYERS[1].email,
    "PACK": BUYERS[1].email,
    "NORT": BUYERS[2].email,
    "STEL": BUYERS[2].email,
}

INTERNAL_NOTES = (
    "Line-down risk: needed for conveyor build CX-40 batch {n}. Expedite if late.",
    "Price 3% below the last order after negotiation with {contact}.",
    "Budget approved by the Plant 1 manager (capex CX-2026-{n}).",
    "Customer order SO-18{n} has a fixed ship date; no slack on this one.",
    "Requisition REQ-2{n}0 from maintenance. Charge to cost centre 4410.",
    "Quantity covers 6 weeks of demand; stock level was below safety stock.",
)
GENERIC_NOTES = (
    "Please quote our PO number and line number on every packing slip and invoice.",
    "Deliveries accepted Monday to Friday, 07:00-15:00. Please book a slot 24 hours ahead "
    "with receiving (+1 507 555 0180).",
)
PUSH_REASONS = (
    "Supplier requested a later date (capacity); accepted, no impact on the build plan.",
    "Supplier reports a raw material delay; due date moved, agreed with planning.",
    "Rescheduled out at our request: the CX-40 build slipped one week.",
)
PULL_REASONS = (
    "Pull-in requested by production planning (MRP exception message).",
    "Customer order brought forward; please ship earlier.",
)
QTY_REASONS = (
    "MRP requirement changed after the weekly planning run; quantity updated.",
    "Quantity adjusted to cover the additional CX-40 units ordered by the customer.",
)
PRICE_REASONS = (
    "Unit price updated to the agreed quote Q-{n}.",
    "Price corrected to the 2026 contract price list.",
)

# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def _workday(day: dt.date, *, back: bool = False) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=-1 if back else 1)
    return day


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _date(day: dt.date) -> str:
    return f"{day:%d %b %Y}"


# ---------------------------------------------------------------------------------------
# The plan: what each order goes through, mirrored in memory so later steps fit
# ---------------------------------------------------------------------------------------


@dataclass
class _PlannedDelivery:
    number: int
    quantity: Decimal
    due: dt.date
    # Nothing is received on it before this moment (order issued, release added, ...).
    not_before: dt.datetime
    received: Decimal = ZERO
    cancelled: bool = False
    first_receipt: dt.datetime | None = None
    confirmed: bool = False

    @property
    def open_quantity(self) -> Decimal:
        return ZERO if self.cancelled else max(self.quantity - self.received, ZERO)


@dataclass
class _PlannedLine:
    number: int
    item: ItemSpec
    quantity: Decimal
    price: Decimal
    deliveries: list[_PlannedDelivery] = field(default_factory=list)
    open: bool = True

    def delivery(self, number: int) -> _PlannedDelivery:
        return next(d for d in self.deliveries if d.number == number)

    def live(self) -> list[_PlannedDelivery]:
        return [d for d in self.deliveries if not d.cancelled]


@dataclass
class _Step:
    when: dt.datetime
    seq: int
    label: str
    action: Callable[[], Any]


@dataclass
class _PlannedProposal:
    line: int
    delivery: int | None
    due: dt.date | None
    pk: int | None = None


@dataclass
class _PlannedInvoice:
    plan: _Plan
    when: dt.datetime
    invoice_date: dt.date
    due_date: dt.date
    pk: int | None = None


class _Plan:
    """One order: its lines as they will be, and the steps that get it there."""

    def __init__(self, builder: _Builder, vendor: str, *, kind: str, order_date: dt.date) -> None:
        self.b = builder
        self.spec = VENDOR_BY_CODE[vendor]
        self.kind = kind
        self.order_date = order_date
        self.buyer = builder.users[BUYER_OF_VENDOR[vendor]]
        self.lines: dict[int, _PlannedLine] = {}
        self.order: PurchaseOrder | None = None
        self.issued: dt.datetime | None = None
        self.clock: dt.datetime | None = None
        # When each revision the supplier sees is made (issue = revision 1, then every
        # revise, release, close or accepted proposal), and when it was closed/cancelled.
        self.moments: list[dt.datetime] = []
        self.ended: dt.datetime | None = None
        # When the supplier acknowledged (or a proposal of theirs was accepted).
        self.answered: list[dt.datetime] = []
        # A story that scripts its own acknowledgements and confirmations.
        self.scripted = False
        builder.plans.append(self)

    def at(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """A story's next moment: `offset` days from today, never before the previous one
        (two offsets can fall on the same weekday once weekends are skipped)."""
        when = _at(self.b.day(offset), hour, minute)
        if self.clock is not None and when <= self.clock:
            when = self.clock + dt.timedelta(minutes=25)
        self.clock = when
        return when

    # -- structure ------------------------------------------------------------------

    @property
    def po(self) -> PurchaseOrder:
        if self.order is None:  # pragma: no cover - steps run in time order
            raise DemoError("A step ran before its order was created.")
        return self.order

    def add_line(
        self,
        part: str,
        quantity: int | str | Decimal,
        *,
        due: dt.date | None = None,
        splits: Sequence[tuple[int | str | Decimal, dt.date]] = (),
        price: Decimal | None = None,
        not_before: dt.datetime | None = None,
    ) -> _PlannedLine:
        item = ITEM_BY_PART[part]
        number = (max(self.lines) if self.lines else 0) + 10
        line = _PlannedLine(
            number=number,
            item=item,
            quantity=Decimal(quantity),
            price=price if price is not None else self.b.prices[part],
        )
        start = not_before or _at(self.order_date, 8)
        schedule = list(splits) or ([(quantity, due)] if due is not None else [])
        for index, (qty, when) in enumerate(schedule, start=1):
            line.deliveries.append(_PlannedDelivery(index, Decimal(qty), when, start))
        self.lines[number] = line
        return line

    def line_input(self, line: _PlannedLine) -> services.LineInput:
        return services.LineInput(
            item=self.b.items[line.item.part_number],
            quantity=line.quantity,
            unit_price=line.price,
            vendor_part_number=line.item.vendor_part_number,
            deliveries=tuple(
                services.DeliveryInput(quantity=d.quantity, due_date=d.due) for d in line.deliveries
            ),
        )

    def _line(self, number: int) -> Line:
        return Line.objects.get(order=self.po, line_number=number)

    def _delivery(self, line: int, number: int) -> Delivery:
        return Delivery.objects.get(order=self.po, line__line_number=line, delivery_number=number)

    # -- steps ----------------------------------------------------------------------

    def create(
        self, when: dt.datetime, *, notes: str = "", internal: str = "", **header: Any
    ) -> None:
        inputs = [self.line_input(line) for line in self.lines.values()]
        header.setdefault("payment_terms", self.spec.payment_terms)
        header.setdefault("incoterms", self.spec.incoterms)
        header.setdefault("ship_to", self.b.rng.choice(self.spec.ship_to))
        vendor, by = self.b.vendors[self.spec.code], self.buyer

        def run() -> None:
            self.order = services.order_create(
                vendor=vendor,
                by=by,
                kind=self.kind,
                lines=inputs,
                order_date=self.order_date,
                notes_to_vendor=notes,
                internal_notes=internal,
                **header,
            )

        self.b.add(when, f"create {self.kind} order for {vendor.code}", run)

    def issue(self, when: dt.datetime, reason: str = "") -> None:
        self.issued = when
        self.moments.append(when)
        for line in self.lines.values():
            for delivery in line.deliveries:
                delivery.not_before = max(delivery.not_before, when)
        self.b.add(
            when,
            "issue",
            lambda: services.order_issue(order=self.po, by=self.buyer, reason=reason),
        )

    def revise(self, when: dt.datetime, reason: str, changes: list[services.OrderChange]) -> None:
        self._revised(when)
        self.b.add(
            when,
            f"revise ({reason})",
            lambda: services.order_revise(
                order=self.po, by=self.buyer, reason=reason, changes=changes
            ),
        )

    def _revised(self, when: dt.datetime) -> None:
        # A draft is edited without revisions; the supplier sees only issued orders.
        if self.issued is not None and when >= self.issued:
            self.moments.append(when)

    def revision_at(self, when: dt.datetime) -> int:
        """The order's revision number at `when` (as the supplier sees it)."""
        return sum(1 for moment in self.moments if moment <= when)

    def open_at_end(self) -> bool:
        """Still issued today: an open line with something left to release or receive."""
        if self.issued is None or self.ended is not None:
            return False
        for line in self.lines.values():
            if not line.open:
                continue
            live = line.live()
            if sum((d.quantity for d in live), ZERO) < line.quantity:
                return True  # a blanket line not fully released
            if any(d.open_quantity > 0 for d in live):
                return True
        return False

    def current_acknowledged(self) -> bool:
        return bool(self.moments) and any(t >= max(self.moments) for t in self.answered)

    # Each change helper updates the plan and returns the service change object.

    def move_due(self, line: int, delivery: int, due: dt.date, when: dt.datetime) -> Any:
        planned = self.lines[line].delivery(delivery)
        planned.due = due
        planned.not_before = max(planned.not_before, when)
        # A moved date withdraws the promise (services.editor._Editor._renew_promise).
        planned.confirmed = False
        return services.SetDelivery(line, delivery, "due_date", due)

    def set_quantity(self, line: int, quantity: Decimal, when: dt.datetime) -> Any:
        planned = self.lines[line]
        (only,) = planned.live()
        only.quantity = planned.quantity = quantity
        only.confirmed = False  # what was promised changed: the promise is withdrawn
        only.not_before = max(only.not_before, when)
        return services.SetLine(line, "quantity", quantity)

    def set_price(self, line: int, price: Decimal) -> Any:
        self.lines[line].price = price
        return services.SetLine(line, "unit_price", price)

    def cancel_delivery(self, line: int, delivery: int) -> Any:
        planned = self.lines[line]
        target = planned.delivery(delivery)
        target.cancelled = True
        planned.quantity -= target.quantity
        return services.CancelDelivery(line, delivery)

    def new_line(self, part: str, quantity: int, due: dt.date, when: dt.datetime) -> Any:
        line = self.add_line(part, quantity, due=due, not_before=when)
        return services.AddLine(self.line_input(line))

    def call_off(
        self, when: dt.datetime, releases: list[tuple[int, Decimal, dt.date]], reason: str
    ) -> None:
        """Several releases at once (an MRP run): one revision for the supplier."""
        for line, quantity, due in releases:
            planned = self.lines[line]
            planned.deliveries.append(
                _PlannedDelivery(len(planned.deliveries) + 1, quantity, due, when)
            )
        self._revised(when)
        self.b.add(
            when,
            f"call-off of {len(releases)} releases",
            lambda: services.call_off(
                order=self.po,
                releases=[services.Release(line, q, due) for line, q, due in releases],
                by=self.buyer,
                reason=reason,
            ),
        )

    def receive(self, when: dt.datetime, entries: list[tuple[int, int, Decimal]]) -> None:
        for line, delivery, quantity in entries:
            planned = self.lines[line].delivery(delivery)
            planned.received += quantity
            if planned.first_receipt is None or when < planned.first_receipt:
                planned.first_receipt = when
        spec = self.spec

        def run() -> None:
            services.receipt_record(
                order=self.po,
                by=self.buyer,
                receipt_date=when.date(),
                packing_slip=self.b.next_slip(spec),
                lines=[
                    services.ReceiptLineInput(self._delivery(line, delivery), quantity)
                    for line, delivery, quantity in entries
                ],
            )

        self.b.add(when, "receipt", run)

    def return_goods(
        self, when: dt.datetime, entries: list[tuple[int, int, Decimal]], reason: str
    ) -> None:
        for line, delivery, quantity in entries:
            self.lines[line].delivery(delivery).received -= quantity
        self.b.add(
            when,
            "return",
            lambda: services.return_record(
                order=self.po,
                by=self.buyer,
                reason=reason,
                return_date=when.date(),
                lines=[
                    services.ReceiptLineInput(self._delivery(line, delivery), quantity)
                    for line, delivery, quantity in entries
                ],
            ),
        )

    def _short_close(self, planned: _PlannedLine) -> None:
        for delivery in planned.live():
            if delivery.received > 0:
                delivery.quantity = min(delivery.quantity, delivery.received)
            else:
                delivery.cancelled = True
        planned.quantity = sum((d.quantity for d in planned.live()), ZERO)
        planned.open = False

    def close_line(self, when: dt.datetime, line: int, reason: str) -> None:
        self._short_close(self.lines[line])
        self._revised(when)
        self.b.add(
            when,
            f"close line {line}",
            lambda: services.line_close(line=self._line(line), by=self.buyer, reason=reason),
        )

    def close(self, when: dt.datetime, reason: str) -> None:
        for planned in self.lines.values():
            if planned.open:
                self._short_close(planned)
        self._revised(when)
        self.ended = when
        self.b.add(
            when,
            "close order",
            lambda: services.order_close(order=self.po, by=self.buyer, reason=reason),
        )

    def cancel(self, when: dt.datetime, reason: str) -> None:
        for planned in self.lines.values():
            planned.open = False
            for delivery in planned.deliveries:
                delivery.cancelled = True
        self._revised(when)
        self.ended = when
        self.b.add(
            when,
            "cancel order",
            lambda: services.order_cancel(order=self.po, by=self.buyer, reason=reason),
        )

    # -- the supplier's side (and the buyer's answers) ----------------------------------

    def acknowledge(self, when: dt.datetime, by: str, response: str, comment: str = "") -> None:
        """`by` acknowledges the revision that is current at `when`."""
        self.answered.append(when)
        user = self.b.users[by]

        def run() -> None:
            collaboration.acknowledgement_record(
                order=self.po,
                revision=self.revision_at(when),
                response=response,
                by=user,
                comment=comment,
            )

        self.b.add(when, f"acknowledge ({response})", run)

    def confirm(self, when: dt.datetime, by: str, line: int, delivery: int) -> None:
        self.lines[line].delivery(delivery).confirmed = True
        user = self.b.users[by]
        self.b.add(
            when,
            f"confirm line {line} delivery {delivery}",
            lambda: collaboration.delivery_confirm(
                delivery=self._delivery(line, delivery), by=user
            ),
        )

    def propose(
        self,
        when: dt.datetime,
        by: str,
        line: int,
        *,
        reason: str,
        delivery: int | None = None,
        due: dt.date | None = None,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> _PlannedProposal:
        planned = _PlannedProposal(line, delivery, due)
        user = self.b.users[by]

        def run() -> None:
            proposal = collaboration.proposal_create(
                order=self.po,
                line=self._line(line),
                delivery=self._delivery(line, delivery) if delivery is not None else None,
                by=user,
                reason=reason,
                due_date=due,
                quantity=quantity,
                unit_price=price,
            )
            planned.pk = proposal.pk

        self.b.add(when, f"proposal on line {line}", run)
        return planned

    def _proposal(self, planned: _PlannedProposal) -> ChangeProposal:
        if planned.pk is None:  # pragma: no cover - steps run in time order
            raise DemoError("A step ran before its proposal was made.")
        return ChangeProposal.objects.get(pk=planned.pk)

    def accept(self, when: dt.datetime, planned: _PlannedProposal, note: str = "") -> None:
        """The buyer accepts: a new revision, counted as acknowledged by the proposer."""
        if planned.due is None or planned.delivery is None:  # pragma: no cover - planning
            raise DemoError("The demo plans accepted proposals of due dates only.")
        self.move_due(planned.line, planned.delivery, planned.due, when)
        # The supplier's own date, accepted, is its promise: nothing left to confirm.
        self.lines[planned.line].delivery(planned.delivery).confirmed = True
        self._revised(when)
        self.answered.append(when)
        self.b.add(
            when,
            "accept proposal",
            lambda: collaboration.proposal_accept(
                proposal=self._proposal(planned), by=self.buyer, note=note
            ),
        )

    def reject(self, when: dt.datetime, planned: _PlannedProposal, note: str) -> None:
        self.b.add(
            when,
            "reject proposal",
            lambda: collaboration.proposal_reject(
                proposal=self._proposal(planned), by=self.buyer, note=note
            ),
        )

    def withdraw(self, when: dt.datetime, planned: _PlannedProposal, by: str) -> None:
        user = self.b.users[by]
        self.b.add(
            when,
            "withdraw proposal",
            lambda: collaboration.proposal_withdraw(proposal=self._proposal(planned), by=user),
        )

    def comment(
        self,
        when: dt.datetime,
        by: str,
        body: str,
        *,
        line: int | None = None,
        internal: bool = False,
    ) -> None:
        user = self.b.users[by]
        self.b.add(
            when,
            "internal comment" if internal else "comment",
            lambda: collaboration.comment_add(
                order=self.po,
                by=user,
                body=body,
                line=self._line(line) if line is not None else None,
                internal=internal,
            ),
        )


# ---------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------

# (model, timestamp fields) that a service step may write; backdated after each step.
STAMPED: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (PurchaseOrder, ("created_at", "updated_at", "issued_at", "closed_at")),
    (Line, ("created_at", "updated_at")),
    (Delivery, ("created_at", "updated_at")),
    (Revision, ("created_at",)),
    (Receipt, ("created_at",)),
    (Invoice, ("created_at", "updated_at")),
    (Payment, ("created_at",)),
    (Acknowledgement, ("created_at",)),
    (ChangeProposal, ("created_at", "decided_at")),
    (Comment, ("created_at",)),
    (Event, ("created_at",)),
)


class _Builder:
    def __init__(self, *, today: dt.date, seed: int, password: str) -> None:
        self.today = today
        self.yesterday = today - dt.timedelta(days=1)
        # Nothing simulated happens after this moment (so it is always in the past).
        self.cutoff = _at(self.yesterday, 18)
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not security
        # The suppliers' answers draw from their own generator, so the order history
        # itself stays the same whatever they say.
        self.talk = random.Random(seed + 1)  # noqa: S311 - demo data, not security
        self.plans: list[_Plan] = []
        self.password = password
        self.steps: list[_Step] = []
        self.vendors: dict[str, Vendor] = {}
        self.items: dict[str, Item] = {}
        self.users: dict[str, User] = {}
        self.prices: dict[str, Decimal] = {}
        self.invoice_numbers = {spec.code: spec.invoice_start for spec in VENDORS}
        self.slip_numbers = {spec.code: 40000 + 1000 * i for i, spec in enumerate(VENDORS)}
        self.payment_number = 88140

    # -- time -----------------------------------------------------------------------

    def day(self, offset: int) -> dt.date:
        """A weekday `offset` days from today (rolled back into the past when negative)."""
        return _workday(self.today + dt.timedelta(days=offset), back=offset < 0)

    def time_on(self, day: dt.date, first: int = 8, last: int = 16) -> dt.datetime:
        return _at(day, self.rng.randint(first, last), self.rng.choice((0, 10, 20, 30, 40, 50)))

    def add(self, when: dt.datetime, label: str, action: Callable[[], Any]) -> None:
        if when > self.cutoff:  # pragma: no cover - planning keeps steps in the past
            raise DemoError(f"Planned step '{label}' at {when} is not in the past.")
        self.steps.append(_Step(when, len(self.steps), label, action))

    # -- numbering (assigned when the step runs, so numbers rise with time) -----------

    def next_slip(self, spec: VendorSpec) -> str:
        self.slip_numbers[spec.code] += self.rng.randint(3, 40)
        return spec.slip_format.format(n=self.slip_numbers[spec.code])

    def next_invoice_number(self, spec: VendorSpec) -> str:
        self.invoice_numbers[spec.code] += self.rng.randint(2, 30)
        return spec.invoice_format.format(n=self.invoice_numbers[spec.code])

    def next_payment_reference(self, day: dt.date) -> str:
        self.payment_number += 1
        return f"ACH {day:%Y%m%d}-{self.payment_number}"

    # -- master data ----------------------------------------------------------------

    def create_master_data(self) -> None:
        for spec in VENDORS:
            self.vendors[spec.code] = Vendor.objects.create(
                code=spec.code,
                name=spec.name,
                contact_name=spec.contact_name,
                contact_email=f"{spec.contact_mailbox}@{spec.domain}",
                phone=spec.phone,
                address=spec.address,
                internal_notes=spec.internal_notes,
                rating=spec.rating,
            )
        for item in ITEMS:
            cost = Decimal(item.cost)
            self.items[item.part_number] = Item.objects.create(
                part_number=item.part_number,
                description=item.description,
                unit_of_measure=item.uom,
                standard_cost=cost,
            )
            # The supplier's contract price: near the standard cost.
            factor = Decimal(self.rng.randint(950, 1100)) / 1000
            places = Decimal("0.0001") if cost < 2 else CENT
            self.prices[item.part_number] = (cost * factor).quantize(places, ROUND_HALF_UP)
        for login in LOGINS:
            user = User.objects.create_user(
                email=login.email,
                password=self.password,
                first_name=login.first_name,
                last_name=login.last_name,
                role=login.role,
                vendor=self.vendors[login.vendor] if login.vendor else None,
                is_staff=login.admin,
                is_superuser=login.admin,
            )
            self.users[login.email] = user
        # Master data predates the order history.
        since = _at(self.day(-HISTORY_DAYS - 30), 9)
        Vendor.objects.filter(pk__in=[v.pk for v in self.vendors.values()]).update(
            created_at=since, updated_at=since
        )
        Item.objects.filter(pk__in=[i.pk for i in self.items.values()]).update(
            created_at=since, updated_at=since
        )
        User.objects.filter(pk__in=[u.pk for u in self.users.values()]).update(date_joined=since)
        # Vendor logins are portal seats from the day they joined (the seat history is
        # what `vendorportal seats` and the back office's seat page charge for).
        for user in self.users.values():
            accounts.seats_sync(user=user)
        SeatPeriod.objects.filter(user__in=list(self.users.values())).update(
            started_on=since.date()
        )

    # -- quantities -----------------------------------------------------------------

    def lot(self, item: ItemSpec) -> Decimal:
        low, high, step = item.lot
        return Decimal(self.rng.randrange(low, high + 1, step))

    def part_of(self, quantity: Decimal, item: ItemSpec) -> Decimal | None:
        """A short shipment: 50-90% of `quantity`, in whole steps; None if impossible."""
        fraction = Decimal(self.rng.randint(50, 90)) / 100
        step = item.step
        part = (quantity * fraction / step).to_integral_value(ROUND_DOWN) * step
        return part if ZERO < part < quantity else None

    def weighed(self, quantity: Decimal) -> Decimal:
        """Goods sold by weight arrive a little over (within the 5% receipt tolerance)."""
        return (quantity * (1 + Decimal(self.rng.randint(0, 25)) / 1000)).quantize(
            Decimal("0.5"), ROUND_DOWN
        )

    # -- invoices and payments ------------------------------------------------------

    def invoice(
        self,
        plan: _Plan,
        when: dt.datetime,
        invoice_date: dt.date,
        lines: list[tuple[int, Decimal, Decimal]],
    ) -> _PlannedInvoice:
        planned = _PlannedInvoice(
            plan, when, invoice_date, invoice_date + dt.timedelta(days=plan.spec.net_days)
        )

        def run() -> None:
            invoice = services.invoice_record(
                vendor=self.vendors[plan.spec.code],
                number=self.next_invoice_number(plan.spec),
                by=plan.buyer,
                invoice_date=invoice_date,
                due_date=planned.due_date,
                lines=[
                    services.InvoiceLineInput(plan._line(number), quantity, price)
                    for number, quantity, price in lines
                ],
            )
            planned.pk = invoice.pk

        self.add(when, "invoice", run)
        return planned

    def _invoice_of(self, planned: _PlannedInvoice) -> Invoice:
        if planned.pk is None:  # pragma: no cover - steps run in time order
            raise DemoError("A step ran before its invoice was recorded.")
        return Invoice.objects.get(pk=planned.pk)

    def pay(
        self, planned: _PlannedInvoice, when: dt.datetime, amount: Decimal | None = None
    ) -> None:
        def run() -> None:
            invoice = self._invoice_of(planned)
            services.payment_record(
                invoice=invoice,
                # Accounts payable posts payments from the ERP: no portal user acts.
                by=None,
                amount=amount if amount is not None else invoice.total_amount - invoice.paid_amount,
                paid_on=when.date(),
                reference=self.next_payment_reference(when.date()),
            )

        self.add(when, "payment", run)

    def dispute(self, planned: _PlannedInvoice, when: dt.datetime, reason: str) -> None:
        self.add(
            when,
            "dispute",
            lambda: services.invoice_dispute(
                invoice=self._invoice_of(planned), by=planned.plan.buyer, reason=reason
            ),
        )

    def invoice_receipt(
        self, plan: _Plan, received: dt.datetime, entries: list[tuple[int, int, Decimal]]
    ) -> None:
        """Most shipments are invoiced; the invoice is paid when due (if that is past)."""
        rng = self.rng
        if rng.random() > 0.9:
            return
        invoice_date = max(received.date() - dt.timedelta(days=rng.randint(0, 2)), plan.order_date)
        when = self.time_on(_workday(received.date() + dt.timedelta(days=rng.randint(1, 6))), 9)
        if when > self.cutoff:
            return
        quantities: dict[int, Decimal] = {}
        for line, _, quantity in entries:
            quantities[line] = quantities.get(line, ZERO) + quantity
        planned = self.invoice(
            plan,
            when,
            invoice_date,
            [(n, q, plan.lines[n].price) for n, q in sorted(quantities.items())],
        )
        pay_day = _workday(planned.due_date - dt.timedelta(days=rng.randint(0, 3)))
        pay_day = max(pay_day, _workday(when.date() + dt.timedelta(days=1)))
        if pay_day <= self.yesterday and rng.random() < 0.95:
            self.pay(planned, self.time_on(pay_day, 10, 15))

    # -- receiving ------------------------------------------------------------------

    def receive_as_due(self, plan: _Plan) -> None:
        """Receive every open delivery the way this supplier ships: early, late, short."""
        rng, spec = self.rng, plan.spec
        arrivals: dict[dt.date, list[tuple[_PlannedLine, _PlannedDelivery, bool]]] = {}
        # What is due on the same day ships together: one lateness per due date.
        lateness: dict[dt.date, int] = {}
        for line in plan.lines.values():
            if not line.open:
                continue
            for delivery in line.live():
                if delivery.open_quantity <= 0:
                    continue
                if delivery.due not in lateness:
                    late = rng.choice(spec.lateness)
                    if rng.random() < spec.miss_rate:  # missed the date badly: weeks late
                        late = rng.randint(12, 35)
                    lateness[delivery.due] = late
                arrive = _workday(delivery.due + dt.timedelta(days=lateness[delivery.due]))
                arrive = max(arrive, _workday(delivery.not_before.date() + dt.timedelta(days=1)))
                arrivals.setdefault(arrive, []).append((line, delivery, False))
        while arrivals:
            day = min(arrivals)
            group = arrivals.pop(day)
            if day > self.yesterday:
                continue
            entries: list[tuple[int, int, Decimal]] = []
            for line, delivery, follow_up in group:
                quantity = delivery.open_quantity
                if quantity <= 0:
                    continue
                if not follow_up and rng.random() < spec.partial_rate:
                    part = self.part_of(quantity, line.item)
                    if part is not None:
                        quantity = part
                        # The balance follows one to four weeks later.
                        later = _workday(day + dt.timedelta(days=rng.randint(6, 28)))
                        arrivals.setdefault(later, []).append((line, delivery, True))
                elif line.item.uom == "KG":
                    quantity = self.weighed(quantity)
                entries.append((line.number, delivery.number, quantity))
            if entries:
                when = self.time_on(day, 7, 14)
                plan.receive(when, entries)
                self.invoice_receipt(plan, when, entries)

    # -- orders ---------------------------------------------------------------------

    def plan(self, vendor: str, order_date: dt.date, kind: str = OrderKind.STANDARD) -> _Plan:
        return _Plan(self, vendor, kind=kind, order_date=order_date)

    def notes_for(self, spec: VendorSpec) -> str:
        rng = self.rng
        chosen = [rng.choice(GENERIC_NOTES)] if rng.random() < 0.6 else []
        if rng.random() < 0.7:
            chosen.append(rng.choice(spec.notes))
        return "\n".join(chosen)

    def internal_for(self, spec: VendorSpec) -> str:
        if self.rng.random() > 0.45:
            return ""
        return self.rng.choice(INTERNAL_NOTES).format(
            n=self.rng.randint(11, 99), contact=spec.contact_name
        )

    def standard_order(self, vendor: str, order_date: dt.date) -> None:
        """An ordinary order: 1-5 lines, some split, perhaps revised, received as shipped."""
        rng = self.rng
        spec = VENDOR_BY_CODE[vendor]
        plan = self.plan(vendor, order_date)
        catalogue = [item for item in ITEMS if item.vendor == vendor]
        count = min(rng.choices((1, 2, 3, 4, 5), weights=(30, 30, 20, 12, 8))[0], len(catalogue))
        due = _workday(order_date + dt.timedelta(days=rng.randint(*spec.lead_days)))
        for item in rng.sample(catalogue, count):
            quantity = self.lot(item)
            line_due = _workday(due + dt.timedelta(days=rng.choice((0, 0, 0, 7))))
            if quantity >= 2 * item.step * 2 and rng.random() < 0.22:
                parts = rng.choice((2, 2, 3))
                each = (quantity / parts / item.step).to_integral_value(ROUND_DOWN) * item.step
                gap = rng.choice((14, 21, 28))
                splits = [
                    (
                        quantity - each * (parts - 1) if k == parts - 1 else each,
                        _workday(line_due + dt.timedelta(days=gap * k)),
                    )
                    for k in range(parts)
                ]
                plan.add_line(item.part_number, quantity, splits=splits)
            else:
                plan.add_line(item.part_number, quantity, due=line_due)
        created = self.time_on(order_date, 8, 11)
        plan.create(created, notes=self.notes_for(spec), internal=self.internal_for(spec))
        issued = created + dt.timedelta(minutes=rng.randint(20, 200))
        if rng.random() < 0.2:
            issued = self.time_on(_workday(order_date + dt.timedelta(days=1)), 8, 11)
        if issued > self.cutoff:
            return
        plan.issue(issued)
        self.maybe_revise(plan, issued)
        self.receive_as_due(plan)

    def maybe_revise(self, plan: _Plan, issued: dt.datetime) -> None:
        """About a third of the orders change once or twice before the goods arrive."""
        rng = self.rng
        when = issued
        for chance in (0.32, 0.3):
            if rng.random() >= chance:
                return
            when = self.time_on(_workday(when.date() + dt.timedelta(days=rng.randint(2, 10))), 9)
            if when > self.cutoff:
                return
            horizon = when.date() + dt.timedelta(days=10)
            candidates = [
                (line, delivery)
                for line in plan.lines.values()
                for delivery in line.live()
                if delivery.due >= horizon and delivery.received == 0
            ]
            if not candidates:
                return
            line, delivery = rng.choice(candidates)
            kind = rng.choice(("push", "push", "pull", "quantity", "price"))
            if kind == "quantity" and len(line.live()) != 1:
                kind = "push"
            if kind == "pull":
                new_due = _workday(max(delivery.due - dt.timedelta(days=7), horizon))
                if new_due >= delivery.due:
                    kind = "push"
            if kind == "push":
                new_due = _workday(delivery.due + dt.timedelta(days=rng.choice((7, 7, 14))))
                change = plan.move_due(line.number, delivery.number, new_due, when)
                reason = rng.choice(PUSH_REASONS)
            elif kind == "pull":
                change = plan.move_due(line.number, delivery.number, new_due, when)
                reason = rng.choice(PULL_REASONS)
            elif kind == "quantity":
                delta = line.item.step * rng.choice((-2, -1, 1, 2, 3))
                new_quantity = max(line.quantity + delta, line.item.step)
                if new_quantity == line.quantity:
                    new_quantity += line.item.step
                change = plan.set_quantity(line.number, new_quantity, when)
                reason = rng.choice(QTY_REASONS)
            else:
                factor = Decimal(rng.choice((970, 980, 1015, 1025))) / 1000
                places = Decimal("0.0001") if line.price < 2 else CENT
                change = plan.set_price(line.number, (line.price * factor).quantize(places))
                for other in line.live():
                    other.not_before = max(other.not_before, when)
                reason = rng.choice(PRICE_REASONS).format(n=rng.randint(24000, 24999))
            plan.revise(when, reason, [change])

    def blanket_order(
        self,
        vendor: str,
        order_date: dt.date,
        *,
        agreement: str,
        lines: list[tuple[str, int, int]],
        cadence: int,
        notes: str,
        internal: str,
    ) -> None:
        """A 12-month agreement with committed quantities, called off every few weeks.

        Each call-off is released `cadence` days ahead of its due date, so the latest one
        is always still open.
        """
        rng = self.rng
        plan = self.plan(vendor, order_date, kind=OrderKind.BLANKET)
        valid_from = _workday(order_date + dt.timedelta(days=3))
        valid_to = valid_from + dt.timedelta(days=364)
        for part, committed, _ in lines:
            plan.add_line(part, committed)
        created = _at(order_date, 9, 15)
        plan.create(
            created, notes=notes, internal=internal, valid_from=valid_from, valid_to=valid_to
        )
        plan.issue(created + dt.timedelta(hours=4), reason=f"Blanket agreement {agreement} signed")
        call_off = _workday(valid_from + dt.timedelta(days=4))
        number = 0
        while call_off <= self.yesterday:
            number += 1
            due = _workday(call_off + dt.timedelta(days=cadence))
            releases = []
            for index, (_part, _committed, per_release) in enumerate(lines):
                line = plan.lines[10 * (index + 1)]
                step = line.item.step
                quantity = Decimal(per_release) * Decimal(rng.randint(80, 120)) / 100
                quantity = max((quantity / step).to_integral_value(ROUND_HALF_UP) * step, step)
                released = sum((d.quantity for d in line.live()), ZERO)
                if released + quantity > line.quantity:
                    continue
                releases.append((line.number, quantity, due))
            if releases:
                plan.call_off(
                    _at(call_off, 10, (7 * number) % 45),
                    releases,
                    reason=f"Call-off {number} under {agreement} "
                    f"(MRP run, week {call_off.isocalendar().week})",
                )
            call_off = _workday(call_off + dt.timedelta(days=cadence))
        self.receive_as_due(plan)

    # -- the story --------------------------------------------------------------------

    def build(self) -> None:
        self.create_master_data()
        self.plan_blankets()
        self.plan_stories()
        self.plan_drafts()
        self.plan_everyday_orders()
        self.plan_conversations()
        self.plan_answers()
        self.run()

    def plan_blankets(self) -> None:
        day = self.day
        self.blanket_order(
            "BOLT",
            day(-116),
            agreement="BA-2026-014",
            lines=[("FST-10830", 360, 30), ("FST-20008", 240, 20), ("FST-30008", 120, 10)],
            cadence=21,
            notes="Fastener agreement for both plants. Call-offs are released through the "
            "portal; ship each call-off complete. Prices fixed for the agreement period.",
            internal="Annual volume from the 2026 build plan (310 CX-40 units). Prices 6% "
            "below spot orders.",
        )
        self.blanket_order(
            "STEL",
            day(-104),
            agreement="BA-2026-021",
            lines=[("MAT-80410", 14000, 1100), ("MAT-80610", 2400, 180)],
            cadence=14,
            notes="Bar and tube agreement. Mill test certificates EN 10204 3.1 with every "
            "call-off. Bar cut to 3 m lengths, tube in 6 m lengths.",
            internal="Price basis: CRU index of the agreement month; surcharges only if "
            "agreed in writing.",
        )
        self.blanket_order(
            "PACK",
            day(-97),
            agreement="BA-2026-025",
            lines=[("PKG-90210", 600, 50), ("PKG-90110", 9000, 750)],
            cadence=21,
            notes="Packaging agreement. Deliver call-offs to Plant 2, gate B. Pallets must "
            "carry the ISPM 15 stamp.",
            internal="Consolidated packaging spend for both plants.",
        )
        self.blanket_order(
            "NORT",
            day(-88),
            agreement="BA-2026-030",
            lines=[("ELC-60225", 6000, 500), ("ELC-64100", 240, 20)],
            cadence=21,
            notes="Cable and terminal agreement. Cable on returnable drums of 500 m.",
            internal="Agreement kept small while Northgate is on the watch list.",
        )

    def plan_stories(self) -> None:
        """Hand-written orders that show each situation a buyer deals with."""
        self.story_return_replaced()
        self.story_return_pending()
        self.story_four_revisions()
        self.story_pull_in()
        self.story_invoiced_more_than_received()
        self.story_price_variance_disputed()
        self.story_line_closed_short()
        self.story_order_closed_short()
        self.story_cancellations()

    @staticmethod
    def billed(
        plan: _Plan, entries: list[tuple[int, int, Decimal]]
    ) -> list[tuple[int, Decimal, Decimal]]:
        """Invoice lines for received entries, at the order price."""
        return [(line, quantity, plan.lines[line].price) for line, _, quantity in entries]

    def story_return_replaced(self) -> None:
        """Received in full, 12 hubs returned with an NCR, replaced: closed again."""
        plan = self.plan("ACME", self.day(-96))
        plan.add_line("MCH-21415", 120, due=self.day(-62))
        plan.add_line("MCH-21520", 400, due=self.day(-62))
        plan.create(
            plan.at(-96, 9, 10),
            notes=VENDOR_BY_CODE["ACME"].notes[0],
            internal="Hubs for the CX-40 drive train; 100% incoming inspection on bores.",
        )
        plan.issue(plan.at(-96, 11, 40))
        entries = [(10, 1, Decimal(120)), (20, 1, Decimal(400))]
        plan.receive(plan.at(-61, 8, 20), entries)
        invoice = self.invoice(plan, plan.at(-58, 10, 5), self.day(-61), self.billed(plan, entries))
        plan.return_goods(
            plan.at(-57, 14, 30),
            [(10, 1, Decimal(12))],
            reason="Incoming inspection NCR-2291: 12 pcs rejected, bore 32 H7 measured "
            "32.04-32.06 mm (oversize). Returned for replacement; please confirm the "
            "replacement date.",
        )
        plan.comment(
            plan.at(-56, 10, 10),
            JOANNA,
            "NCR-2291: root cause is a worn boring bar on machine 4 (replaced); every hub "
            "bore is now gauged before packing. The 12 replacement hubs ship on "
            f"{_date(self.day(-45))}; the 8D report follows by e-mail.",
            line=10,
        )
        plan.receive(plan.at(-44, 9, 0), [(10, 1, Decimal(12))])
        pay_day = min(_workday(invoice.due_date, back=True), self.yesterday)
        self.pay(invoice, max(_at(pay_day, 11, 0), plan.at(-44, 12, 0)))

    def story_return_pending(self) -> None:
        """4 housings returned, replacement still owed: open quantity on a past due date."""
        plan = self.plan("ACME", self.day(-52))
        plan.add_line("MCH-21310", 24, due=self.day(-14))
        plan.add_line("MCH-21318", 150, due=self.day(-14))
        plan.add_line("MCH-21402", 300, splits=[(150, self.day(-14)), (150, self.day(14))])
        plan.create(
            plan.at(-52, 10, 20),
            notes="\n".join(VENDOR_BY_CODE["ACME"].notes),
            internal="Housings for CX-40 batch 12; the gearbox line stops without them.",
        )
        plan.issue(plan.at(-52, 15, 5))
        entries = [(10, 1, Decimal(24)), (20, 1, Decimal(150)), (30, 1, Decimal(150))]
        plan.receive(plan.at(-13, 7, 50), entries)
        self.invoice(plan, plan.at(-12, 13, 30), self.day(-13), self.billed(plan, entries))
        plan.return_goods(
            plan.at(-8, 11, 15),
            [(10, 1, Decimal(4))],
            reason="NCR-2317: porosity on the machined sealing face of 4 housings (leak "
            "test failed). Returned; replacement needed before gearbox assembly of CX-40 "
            "batch 12.",
        )
        plan.comment(
            plan.at(-7, 9, 40),
            JOANNA,
            "NCR-2317 received. The 4 replacement housings are machined from castings of a "
            f"new heat and leak tested 100%; they ship on {_date(self.day(3))}.",
            line=10,
        )
        later = _workday(plan.lines[30].delivery(2).due + dt.timedelta(days=10))
        plan.propose(
            plan.at(-2, 10, 40),
            TOM,
            30,
            delivery=2,
            due=later,
            reason="Raw-material delay: the S355 sheet for the second lot of brackets is "
            "late from the service centre (the mill's rolling schedule slipped). We can ship "
            f"the 150 brackets on {_date(later)}.",
        )

    def story_four_revisions(self) -> None:
        """Rescheduled, re-priced, re-quantified, a line added and a delivery cancelled."""
        plan = self.plan("ACME", self.day(-74))
        plan.add_line("MCH-21045", 200, splits=[(100, self.day(-38)), (100, self.day(-10))])
        plan.add_line("MCH-21052", 150, due=self.day(-38))
        plan.add_line("MCH-21318", 300, due=self.day(-31))
        plan.create(
            plan.at(-74, 8, 45),
            notes=VENDOR_BY_CODE["ACME"].notes[0],
            internal="Quote Q-24117 (J. Kowalski). Drive shafts are on the critical path "
            "for the CX-40 launch.",
        )
        plan.issue(plan.at(-74, 13, 20))
        # The supplier answers every revision before the next one is made.
        plan.scripted = True
        plan.acknowledge(
            plan.at(-73, 9, 30),
            JOANNA,
            REJECTED,
            f"We cannot make the first shaft batch (line 10) by {_date(self.day(-38))}: our "
            "heat-treatment subcontractor has a two-week backlog. The first 100 shafts can "
            f"ship on {_date(self.day(-31))}; please revise line 10 delivery 1.",
        )
        when = plan.at(-70, 10, 0)
        plan.revise(
            when,
            "Supplier request (J. Kowalski): heat-treatment subcontractor backlog, first "
            "shaft batch moved out one week.",
            [plan.move_due(10, 1, self.day(-31), when)],
        )
        plan.acknowledge(plan.at(-69, 8, 40), TOM, ACCEPTED)
        plan.confirm(plan.at(-69, 8, 45), TOM, 10, 1)
        plan.confirm(plan.at(-69, 8, 50), TOM, 20, 1)
        when = plan.at(-63, 14, 35)
        new_price = (plan.lines[20].price * Decimal("1.03")).quantize(CENT)
        plan.revise(
            when,
            "Demand increase on the CX-40 build (MRP); idler shaft price per quote "
            "Q-24117 rev B (C45 bar surcharge accepted).",
            [plan.set_quantity(30, Decimal(360), when), plan.set_price(20, new_price)],
        )
        plan.acknowledge(
            plan.at(-62, 10, 5),
            TOM,
            ACCEPTED_WITH_CHANGES,
            "Accepted with one change: the additional 60 bearing covers (line 30) need a "
            "second anodising batch. 300 pcs ship by the due date, the remaining 60 about "
            "two weeks later.",
        )
        when = plan.at(-52, 9, 25)
        plan.revise(
            when,
            "Second shaft batch not required after the forecast cut; tensioner arms added "
            "per requisition REQ-20931.",
            [plan.cancel_delivery(10, 2), plan.new_line("MCH-21533", 40, self.day(9), when)],
        )
        plan.acknowledge(plan.at(-51, 11, 30), JOANNA, ACCEPTED)
        plan.confirm(plan.at(-51, 11, 35), JOANNA, 40, 1)
        first = [(10, 1, Decimal(100)), (20, 1, Decimal(150))]
        plan.receive(plan.at(-31, 9, 40), first)
        plan.comment(
            plan.at(-30, 15, 0),
            TOM,
            "Partial shipment: 300 of the 360 bearing covers ship today. The remaining 60 "
            "are in the second anodising batch and follow in about two weeks.",
            line=30,
        )
        second = [(30, 1, Decimal(300))]
        plan.receive(plan.at(-29, 8, 15), second)
        self.invoice(plan, plan.at(-28, 10, 0), self.day(-31), self.billed(plan, first))
        self.invoice(plan, plan.at(-26, 11, 10), self.day(-29), self.billed(plan, second))
        plan.comment(
            plan.at(-9, 11, 0),
            DANA,
            "The remaining 60 bearing covers are now more than three weeks late and the "
            "gearbox line needs them. Please give us a firm ship date.",
            line=30,
        )
        plan.comment(
            plan.at(-8, 14, 20),
            TOM,
            "Sorry for the delay: our anodiser had a rectifier failure. The 60 covers are "
            f"anodised and pass inspection; they ship on {_date(self.day(2))}.",
            line=30,
        )

    def story_pull_in(self) -> None:
        """Pulled in and increased at short notice; received, invoiced and paid."""
        plan = self.plan("BOLT", self.day(-40))
        plan.add_line("FST-11260", 40, due=self.day(-26))
        plan.add_line("FST-20012", 30, due=self.day(-26))
        plan.create(plan.at(-40, 9, 0), notes=VENDOR_BY_CODE["BOLT"].notes[0])
        plan.issue(plan.at(-40, 9, 45))
        when = plan.at(-37, 16, 10)
        plan.revise(
            when,
            "Pull-in: assembly line 2 is short of M12x60 for the CX-40 frames; quantity "
            "raised to cover the extra Saturday shift.",
            [
                plan.move_due(10, 1, self.day(-31), when),
                plan.set_quantity(10, Decimal(48), when),
                plan.move_due(20, 1, self.day(-31), when),
            ],
        )
        entries = [(10, 1, Decimal(48)), (20, 1, Decimal(30))]
        plan.receive(plan.at(-31, 13, 5), entries)
        invoice = self.invoice(plan, plan.at(-30, 9, 30), self.day(-31), self.billed(plan, entries))
        pay_day = min(_workday(invoice.due_date, back=True), self.yesterday)
        self.pay(invoice, max(_at(pay_day, 10, 30), plan.at(-30, 12, 0)))

    def story_invoiced_more_than_received(self) -> None:
        """Cable shipped short but invoiced in full: a quantity exception, paid in part."""
        plan = self.plan("NORT", self.day(-58))
        cable = plan.add_line("ELC-60115", 500, due=self.day(-40))
        sensor = plan.add_line("ELC-62040", 60, due=self.day(-40))
        plan.create(
            plan.at(-58, 11, 0),
            notes=VENDOR_BY_CODE["NORT"].notes[0],
            internal="Sensors for the retrofit of conveyor line 3 (maintenance).",
        )
        plan.issue(plan.at(-58, 14, 30))
        plan.receive(plan.at(-37, 10, 45), [(10, 1, Decimal(420)), (20, 1, Decimal(60))])
        invoice = self.invoice(
            plan,
            plan.at(-36, 14, 0),
            self.day(-38),
            [(10, Decimal(500), cable.price), (20, Decimal(60), sensor.price)],
        )
        # Accounts payable pays what was received and holds the 80 m not yet delivered.
        held = _money(Decimal(420) * cable.price) + _money(Decimal(60) * sensor.price)
        self.pay(invoice, plan.at(-8, 10, 0), amount=held)

    def story_price_variance_disputed(self) -> None:
        """Steel invoiced with a surcharge nobody agreed to: price variance, disputed."""
        plan = self.plan("STEL", self.day(-45))
        thin = plan.add_line("MAT-80120", 4000, due=self.day(-30))
        thick = plan.add_line("MAT-80135", 2500, due=self.day(-30))
        plan.create(
            plan.at(-45, 13, 15),
            notes=VENDOR_BY_CODE["STEL"].notes[0],
            internal="Price per the CRU index of the order month; no surcharges agreed.",
        )
        plan.issue(plan.at(-45, 15, 0))
        plan.receive(plan.at(-29, 6, 40), [(10, 1, Decimal(4080)), (20, 1, Decimal(2500))])
        surcharged = (thin.price * Decimal("1.0466")).quantize(Decimal("0.0001"))
        invoice = self.invoice(
            plan,
            plan.at(-27, 10, 20),
            self.day(-29),
            [(10, Decimal(4080), surcharged), (20, Decimal(2500), thick.price)],
        )
        difference = _money((surcharged - thin.price) * 4080)
        self.dispute(
            invoice,
            plan.at(-25, 9, 5),
            f"Line 10 invoiced at {surcharged}/KG against the order price {thin.price}/KG. "
            "The energy surcharge was not agreed for this order; please send a credit note "
            f"for USD {difference:,.2f} or a corrected invoice.",
        )

    def story_line_closed_short(self) -> None:
        """Hose shipped short, the balance no longer wanted: the line is closed short."""
        plan = self.plan("FLOW", self.day(-66))
        plan.add_line("HYD-70310", 400, due=self.day(-35))
        plan.add_line("HYD-70412", 300, due=self.day(-35))
        plan.add_line("HYD-72515", 12, due=self.day(12))
        plan.create(
            plan.at(-66, 10, 10),
            notes=VENDOR_BY_CODE["FLOW"].notes[0],
            internal="Cylinders for the CX-40 lift table option.",
        )
        plan.issue(plan.at(-66, 11, 0))
        entries = [(10, 1, Decimal(250)), (20, 1, Decimal(300))]
        plan.receive(plan.at(-33, 9, 10), entries)
        self.invoice(plan, plan.at(-31, 15, 20), self.day(-33), self.billed(plan, entries))
        plan.close_line(
            plan.at(-20, 10, 40),
            10,
            reason="Remaining 150 m not required: hose routing changed to DN12 under "
            "ECO-2291. Please do not ship the balance.",
        )

    def story_order_closed_short(self) -> None:
        """Cartons delivered short and the order closed: the rest is not wanted."""
        plan = self.plan("PACK", self.day(-34))
        plan.add_line("PKG-90110", 2000, due=self.day(-24))
        plan.add_line("PKG-90305", 40, due=self.day(-24))
        plan.create(plan.at(-34, 8, 35), notes=VENDOR_BY_CODE["PACK"].notes[0])
        plan.issue(plan.at(-34, 9, 0))
        entries = [(10, 1, Decimal(1800)), (20, 1, Decimal(40))]
        plan.receive(plan.at(-23, 12, 30), entries)
        self.invoice(plan, plan.at(-22, 9, 40), self.day(-23), self.billed(plan, entries))
        plan.close(
            plan.at(-16, 14, 0),
            "Closed short: the remaining 200 cartons are not required; the new "
            "600 x 400 x 300 mm carton replaces this size from next month.",
        )

    def story_cancellations(self) -> None:
        """Two issued orders cancelled before anything shipped, and a duplicate draft."""
        plan = self.plan("FLOW", self.day(-30))
        plan.add_line("HYD-71020", 8, due=self.day(15))
        plan.add_line("HYD-71550", 8, due=self.day(15))
        plan.create(
            plan.at(-30, 9, 20),
            notes=VENDOR_BY_CODE["FLOW"].notes[0],
            internal="For customer project P-2207 (hydraulic lift stations).",
        )
        plan.issue(plan.at(-30, 10, 0))
        plan.cancel(
            plan.at(-12, 15, 45),
            "Customer project P-2207 postponed indefinitely; requirement removed in MRP. "
            "Cancellation agreed with M. Brandt (work not started, no charges).",
        )

        plan = self.plan("NORT", self.day(-20))
        plan.add_line("ELC-63010", 40, due=self.day(10))
        plan.add_line("ELC-63250", 100, due=self.day(10))
        plan.create(plan.at(-20, 11, 30), notes=VENDOR_BY_CODE["NORT"].notes[0])
        plan.issue(plan.at(-20, 13, 0))
        plan.cancel(
            plan.at(-6, 9, 30),
            "Ordered against the superseded electrical BOM (rev C); replaced by the "
            "consolidated order for CX-40 batch 13.",
        )

        plan = self.plan("BOLT", self.day(-9))
        plan.add_line("FST-40516", 20, due=self.day(6))
        plan.create(plan.at(-9, 14, 0), internal="Raised from requisition REQ-21108.")
        plan.cancel(
            plan.at(-8, 8, 50),
            "Duplicate: raised twice from requisition REQ-21108; the other draft is kept.",
        )

    def plan_conversations(self) -> None:
        """Orders whose story is what supplier and buyer say to each other.

        Planned after everything else so that the rest of the history stays the same
        whatever is told here (creating an order draws from the generator).
        """
        self.story_supplier_proposals()
        self.story_stock_shortage()
        self.story_proposals_waiting()

    def story_supplier_proposals(self) -> None:
        """ACME: a later date proposed (accepted), a quantity proposed and withdrawn, and a
        price increase waiting for the buyer; a drawing question answered."""
        plan = self.plan("ACME", self.day(-33))
        plan.scripted = True
        plan.add_line("MCH-21045", 120, due=self.day(4))
        housings = plan.add_line("MCH-21310", 24, due=self.day(11))
        plan.add_line("MCH-21533", 40, due=self.day(11))
        plan.create(
            plan.at(-33, 9, 30),
            notes=VENDOR_BY_CODE["ACME"].notes[0],
            internal="Drive train parts for CX-40 batch 14. Quote Q-24502 (J. Kowalski).",
        )
        plan.issue(plan.at(-33, 10, 15))
        plan.comment(
            plan.at(-33, 10, 25),
            DANA,
            "Please machine these shafts to drawing 21045 rev. D (keyway length now 45 mm, "
            "ECO-2288). Rev. C is obsolete.",
            line=10,
        )
        plan.acknowledge(
            plan.at(-32, 9, 5),
            TOM,
            ACCEPTED_WITH_CHANGES,
            "Accepted with one change: the gearbox housings (line 20) will be cast by our "
            "second foundry, same pattern and drawing. A first-article inspection report "
            "comes for your approval before the lot ships.",
        )
        plan.comment(
            plan.at(-32, 9, 20),
            TOM,
            "Drawing 21045 rev. D is released in our system. The first-article report for "
            "the new keyway length ships with the lot.",
            line=10,
        )
        plan.confirm(plan.at(-32, 9, 30), TOM, 20, 1)
        plan.confirm(plan.at(-32, 9, 35), TOM, 30, 1)
        later = self.day(11)
        hardening = plan.propose(
            plan.at(-24, 14, 10),
            TOM,
            10,
            delivery=1,
            due=later,
            reason="Our induction-hardening line is down for a spindle repair (parts due from "
            f"the machine builder next week). The 120 shafts can ship on {_date(later)}.",
        )
        plan.accept(
            plan.at(-23, 9, 40),
            hardening,
            note="Accepted: batch 14 gearbox assembly starts the week after, so there is "
            "still enough time.",
        )
        fixture = plan.propose(
            plan.at(-20, 11, 0),
            JOANNA,
            30,
            delivery=1,
            quantity=Decimal(36),
            reason="The weld fixture for the tensioner arms is damaged; until it is repaired "
            "we can make only 36 of the 40 arms by the due date.",
        )
        plan.withdraw(plan.at(-19, 15, 20), fixture, JOANNA)
        plan.comment(
            plan.at(-19, 15, 30),
            JOANNA,
            "The fixture was repaired sooner than expected, so we withdrew the proposal: all "
            "40 tensioner arms ship as ordered.",
            line=30,
        )
        surcharged = (housings.price * Decimal("1.065")).quantize(CENT)
        plan.propose(
            plan.at(-3, 13, 45),
            TOM,
            20,
            price=surcharged,
            reason="Our foundry raises the GG25 casting price from next month (scrap and "
            "energy surcharge, +6.5%). We have to pass it on for this lot: "
            f"{_fmt(surcharged)} per housing instead of {_fmt(housings.price)}. The "
            "foundry's letter was sent to purchasing.",
        )
        plan.comment(
            plan.at(-2, 9, 15),
            DANA,
            "The surcharge is plausible (scrap index up about 6% last month), but this order "
            "is per quote Q-24502. Counter at +3% and take it into the annual price review; "
            "do not accept before talking to J. Kowalski.",
            internal=True,
        )

    def story_stock_shortage(self) -> None:
        """BOLT: a stock shortage, so a later date is proposed and accepted; a surcharge
        proposed and rejected; a partial shipment announced."""
        plan = self.plan("BOLT", self.day(-27))
        plan.scripted = True
        plan.add_line("FST-20012", 30, due=self.day(-13))
        plan.add_line("FST-11025", 30, due=self.day(-13))
        rod = plan.add_line("FST-50640", 100, due=self.day(6))
        plan.create(
            plan.at(-27, 10, 40),
            notes=VENDOR_BY_CODE["BOLT"].notes[0],
            internal="Frame hardware for the CX-40 batch 13 build (Plant 1).",
        )
        plan.issue(plan.at(-27, 11, 15))
        plan.acknowledge(plan.at(-26, 8, 40), LENA, ACCEPTED)
        plan.confirm(plan.at(-26, 8, 45), LENA, 20, 1)
        plan.confirm(plan.at(-26, 8, 50), LENA, 30, 1)
        later = self.day(-6)
        shortage = plan.propose(
            plan.at(-20, 10, 5),
            LENA,
            10,
            delivery=1,
            due=later,
            reason="The M12 nyloc nuts are out of stock in our Rockford warehouse; the "
            f"manufacturer's replenishment arrives the week before. We can ship line 10 on "
            f"{_date(later)}; line 20 ships complete on the original date.",
        )
        plan.accept(
            plan.at(-20, 14, 30),
            shortage,
            note="OK: Plant 1 has M12 nyloc nuts in stock until then.",
        )
        surcharge = plan.propose(
            plan.at(-16, 9, 50),
            RICK,
            30,
            price=(rod.price * Decimal("1.08")).quantize(CENT),
            reason="Our mill adds a nickel alloy surcharge on A2 stainless from next month "
            "(+8%); it applies to every open order that ships after the first.",
        )
        plan.reject(
            plan.at(-15, 11, 20),
            surcharge,
            note="This order was placed at your quoted price (Q-24411, valid until the end "
            "of the year) and no surcharge was agreed. Please ship at the order price; we can "
            "discuss the surcharge for next year's orders.",
        )
        plan.comment(
            plan.at(-14, 15, 10),
            LENA,
            "Partial shipment notice: line 20 (M10x25) ships complete today; line 10 "
            f"follows on {_date(later)} as agreed, line 30 as confirmed.",
        )
        first = [(20, 1, Decimal(30))]
        plan.receive(plan.at(-13, 9, 30), first)
        self.invoice(plan, plan.at(-12, 10, 45), self.day(-13), self.billed(plan, first))
        plan.receive(plan.at(-6, 10, 15), [(10, 1, Decimal(30))])

    def story_proposals_waiting(self) -> None:
        """BOLT: a new order the supplier answers with two proposals instead of an
        acknowledgement; a packaging question; the buyer's internal note."""
        plan = self.plan("BOLT", self.day(-6))
        plan.scripted = True
        plan.add_line("FST-11025", 40, due=self.day(9))
        bolts = plan.add_line("FST-11260", 30, due=self.day(9))
        plan.add_line("FST-40516", 20, due=self.day(9))
        plan.create(
            plan.at(-6, 8, 50),
            notes=VENDOR_BY_CODE["BOLT"].notes[0],
            internal="Frames for CX-40 batch 14 (Plant 2).",
        )
        plan.issue(plan.at(-6, 9, 30))
        plan.comment(
            plan.at(-5, 10, 20),
            LENA,
            "Packaging question: do you want the M12x60 (line 20) in boxes of 50 as on the "
            "order, or in bulk cartons of 1,000? Bulk saves about 4% and fits on one pallet.",
            line=20,
        )
        plan.comment(
            plan.at(-5, 13, 5),
            MARCUS,
            "Boxes of 50 please, labelled as in our notes: the Plant 2 kanban bins are sized "
            "for them.",
            line=20,
        )
        plan.propose(
            plan.at(-4, 9, 35),
            LENA,
            10,
            delivery=1,
            quantity=Decimal(25),
            reason="Mill allocation: we have 25 boxes of M10x25 8.8 zinc plated; the next lot "
            "is not expected before the end of next month. We propose reducing line 10 to 25 "
            "boxes; lines 20 and 30 ship complete on the due date.",
        )
        # Confirmed, though the order is not acknowledged until the proposals are decided.
        plan.confirm(plan.at(-4, 9, 40), LENA, 20, 1)
        plan.confirm(plan.at(-4, 9, 45), LENA, 30, 1)
        increased = (bolts.price * Decimal("1.05")).quantize(CENT)
        plan.propose(
            plan.at(-3, 11, 10),
            RICK,
            20,
            price=increased,
            reason="Price increase on 10.9 grade bolts from next month: our mill's alloy "
            f"surcharge went up. New price {_fmt(increased)} per box for shipments after the "
            "first of the month.",
        )
        plan.comment(
            plan.at(-2, 14, 0),
            LENA,
            "We will acknowledge the order as soon as both proposals are decided.",
        )
        plan.comment(
            plan.at(-1, 10, 0),
            MARCUS,
            "Do not accept the reduced quantity yet: the CX-40 frames need 32 boxes of M10x25 "
            "through next month. Check Plant 1 stock and get a quote for the balance from "
            "our second fastener source first.",
            internal=True,
        )

    def plan_drafts(self) -> None:
        """Recent drafts, not yet sent to the supplier."""
        drafts = (
            (
                "ACME",
                -6,
                [("MCH-21045", 120), ("MCH-21415", 80)],
                "Waiting for revised quote Q-24388 before issuing.",
            ),
            (
                "BOLT",
                -5,
                [("FST-40516", 20)],
                "Check Plant 2 stock first: possibly covered by the next blanket call-off.",
            ),
            (
                "NORT",
                -4,
                [("ELC-61008", 120), ("ELC-62040", 40), ("ELC-65012", 10)],
                "Compare with the Lakeshore Electric quote (second source) before issuing.",
            ),
            ("STEL", -3, [("MAT-80720", 800)], ""),
            (
                "FLOW",
                -2,
                [("HYD-72008", 10), ("HYD-70412", 200)],
                "Maintenance stock replenishment; approve with the maintenance lead.",
            ),
        )
        for vendor, offset, lines, internal in drafts:
            spec = VENDOR_BY_CODE[vendor]
            plan = self.plan(vendor, self.day(offset))
            due = _workday(plan.order_date + dt.timedelta(days=spec.lead_days[1]))
            for part, quantity in lines:
                plan.add_line(part, quantity, due=due)
            plan.create(plan.at(offset, 9, 15), notes=self.notes_for(spec), internal=internal)
            if vendor == "ACME":
                offer = (plan.lines[10].price * Decimal("0.97")).quantize(CENT)
                plan.revise(
                    plan.at(offset, 11, 0),
                    "Price per the supplier's verbal offer; written quote to follow.",
                    [plan.set_price(10, offer)],
                )

    def plan_everyday_orders(self) -> None:
        """The bulk of the history: 40 ordinary orders spread over the last 120 days."""
        rng = self.rng
        vendors = ["ACME"] * 10 + ["BOLT"] * 9 + ["NORT"] * 7 + ["FLOW"] * 5 + ["STEL"] * 5
        vendors += ["PACK"] * 4
        rng.shuffle(vendors)
        dates = sorted(self.day(-rng.randint(3, HISTORY_DAYS)) for _ in vendors)
        for vendor, order_date in zip(vendors, dates, strict=True):
            self.standard_order(vendor, order_date)

    # -- the suppliers' answers -----------------------------------------------------------

    def reply_time(self, after: dt.datetime) -> dt.datetime:
        """When a supplier answers something that arrived at `after`: within a few hours
        or one to three working days later, in business hours."""
        rng = self.talk
        if rng.random() < 0.45:
            reply = after + dt.timedelta(minutes=rng.randint(35, 230))
            if reply.date() == after.date() and reply.hour < 17:
                return reply
        day = _workday(after.date() + dt.timedelta(days=rng.choice((1, 1, 1, 2, 3))))
        return _at(day, rng.randint(7, 15), rng.choice((5, 15, 25, 35, 45, 55)))

    def plan_answers(self) -> None:
        """The suppliers with portal logins answer the orders the stories do not script.

        Each revision is acknowledged (most of them) before the next one is made, and open
        deliveries are confirmed with the acknowledgement. The most recently changed open
        orders are left waiting, so each supplier has a few revisions to acknowledge.
        """
        for code in RESPONDERS:
            plans = [p for p in self.plans if p.spec.code == code and p.moments]
            open_now = [p for p in plans if p.open_at_end()]
            waiting = sum(1 for p in open_now if p.scripted and not p.current_acknowledged())
            recent = sorted(
                (p for p in open_now if not p.scripted),
                key=lambda p: max(p.moments),
                reverse=True,
            )
            unanswered = recent[: max(UNACKNOWLEDGED_PER_VENDOR - waiting, 0)]
            for plan in plans:
                if not plan.scripted:
                    self.answer(plan, leave_current=plan in unanswered)

    def answer(self, plan: _Plan, *, leave_current: bool) -> None:
        """Acknowledge each revision of `plan` in time and confirm its delivery dates.

        With `leave_current` the latest revision is not acknowledged yet: the order desk
        has confirmed the dates it is sure of and is still checking the rest.
        """
        rng = self.talk
        moments = sorted(plan.moments)
        still_open = plan.open_at_end()
        for index, made in enumerate(moments):
            current = index == len(moments) - 1
            if plan.ended is not None and made >= plan.ended:
                break  # nothing to acknowledge on a cancelled or closed-short order
            chance = 1.0 if current and still_open else 0.92 if current else 0.85
            if rng.random() >= chance:
                continue
            reply = self.reply_time(made)
            limit = self.cutoff if current else moments[index + 1]
            if plan.ended is not None:
                limit = min(limit, plan.ended)
            if reply >= limit:
                continue  # the next revision (or the end of the day) came first
            by = rng.choice(RESPONDERS[plan.spec.code])
            acknowledged = not (current and leave_current)
            if acknowledged:
                plan.acknowledge(reply, by, ACCEPTED)
            self.confirm_dates(plan, reply, limit, by, share=0.85 if acknowledged else 0.5)

    def confirm_dates(
        self, plan: _Plan, reply: dt.datetime, limit: dt.datetime, by: str, *, share: float
    ) -> None:
        """Confirm delivery dates that exist at `reply`, will not change any more and have
        not arrived yet (a share of those; fewer of those that arrive later anyway)."""
        rng = self.talk
        when = reply
        for line in plan.lines.values():
            for delivery in line.deliveries:
                if delivery.confirmed or delivery.cancelled or delivery.not_before >= reply:
                    continue
                when += dt.timedelta(minutes=rng.randint(2, 6))
                arrived = delivery.first_receipt
                if (arrived is not None and arrived <= when) or when >= limit:
                    continue
                if rng.random() < (share if arrived is None else share / 2):
                    plan.confirm(when, by, line.number, delivery.number)

    # -- running the plan ---------------------------------------------------------------

    def run(self) -> None:
        for step in sorted(self.steps, key=lambda s: (s.when, s.seq)):
            mark = timezone.now()
            try:
                step.action()
            except DomainError as exc:
                raise DemoError(
                    f"The service refused the planned step '{step.label}' "
                    f"({step.when:%Y-%m-%d %H:%M}): {exc}"
                ) from exc
            backdate(mark, step.when)


def backdate(since: dt.datetime, when: dt.datetime) -> None:
    """Move the timestamps the last step wrote (all at or after `since`) to `when`.

    Demo data only: the services stamp "now"; the demo replays four months of history,
    so each step's rows are dated to the simulated moment with a queryset update.
    """
    for model, names in STAMPED:
        touched = Q()
        for name in names:
            touched |= Q(**{f"{name}__gte": since})
        model._default_manager.filter(touched).update(
            **{
                name: Case(When(**{f"{name}__gte": since}, then=Value(when)), default=F(name))
                for name in names
            }
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
    "DEFAULT_PASSWORD",
    "DEMO_TOTP_SECRET",
    "DemoError",
    "DemoResult",
    "LoginRow",
    "counts",
    "current_code",
    "demo_mfa_setup",
    "is_loaded",
    "load",
]
