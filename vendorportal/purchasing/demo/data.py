"""The demo's data: the buying company's suppliers, items, logins, and the words its
people use (reasons, notes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from vendorportal.accounts.models import Role
from vendorportal.collaboration.models import (
    AcknowledgementResponse,
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
