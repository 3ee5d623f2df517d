"""The order as a PDF: how long one purchase order of 100 lines, 2 deliveries a line, takes
to render (purchasing/pdf.py, reportlab), median of --runs.

Setup: a fresh SQLite database in a temporary directory (DATABASE_URL, as the other benches
set it), migrated; one vendor with a German/Cyrillic name and an address, 100 items, and the
order made and issued through the services, then revised once (so the PDF is revision 2,
with a promised date on the first line). Timed, in this process: `order_sheet` (the
revision's snapshot and the promised dates: 1 query) plus `render_order` (the PDF), and
`render_order` alone; the first render (font loading) is reported apart.

The library was chosen on these figures (issue 16; the same order drawn by each candidate,
DejaVu Sans embedded, 2-CPU machine): reportlab's canvas ~30 ms, reportlab platypus ~100 ms,
fpdf2 cell by cell ~180 ms, fpdf2's table() ~660 ms.

This prints figures; it is not a pass/fail test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES = 100
DELIVERIES_PER_LINE = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="renders to take the median of")
    parser.add_argument("--keep", metavar="FILE", help="write the PDF to FILE")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vp-bench-pdf-"))
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="vendorportal.settings",
            DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
            VENDORPORTAL_VAR_DIR=str(tmp),
            DEBUG="false",
            VENDORPORTAL_HTTPS="false",
            SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 40),
            LOG_LEVEL="WARNING",
        )
        run(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    from vendorportal.accounts.models import Role, User
    from vendorportal.purchasing import pdf, services
    from vendorportal.purchasing.models import Item, PurchaseOrder, Vendor

    call_command("migrate", verbosity=0)
    with scopes_disabled():
        buyer = User.objects.create_user(
            email="buyer@bench.example", role=Role.BUYER, first_name="Bench", last_name="Buyer"
        )
        vendor = Vendor.objects.create(
            code="V0001",
            name="Müller Präzisionsteile GmbH — Завод №1",
            address="Industriestraße 7\n70173 Stuttgart\nGermany",
        )
        items = Item.objects.bulk_create(
            Item(part_number=f"BP-{n:05d}", description=f"Bench part {n}") for n in range(LINES)
        )
        first_due = dt.date(2027, 1, 4)
        order = services.order_create(
            vendor=vendor,
            by=buyer,
            number="PO-BENCH-PDF",
            currency="EUR",
            payment_terms="Net 45",
            incoterms="DAP Stuttgart",
            ship_to="Receiving dock 4\nWerkstraße 1\n89073 Ulm",
            notes_to_vendor="Quote the order number on every box and delivery note. " * 3,
            lines=[
                services.LineInput(
                    item=item,
                    description=f"Hex bolt ISO 4017 M8x{20 + n % 60}, 8.8, zinc plated, "
                    f"box of 200 (Sechskantschraube Größe {n})",
                    vendor_part_number=f"VP-{n:05d}",
                    quantity=Decimal(1200),
                    unit_price=Decimal("2.4375"),
                    deliveries=[
                        services.DeliveryInput(
                            Decimal(600), first_due + dt.timedelta(days=7 * (n % 20 + k))
                        )
                        for k in range(DELIVERIES_PER_LINE)
                    ],
                )
                for n, item in enumerate(items)
            ],
        )
        services.order_issue(order=order, by=buyer)
        services.order_revise(
            order=order,
            by=buyer,
            reason="Price agreed for 2027",
            changes=[services.SetLine(line=10, field="unit_price", value=Decimal("2.40"))],
        )
        order = PurchaseOrder.objects.select_related("vendor", "buyer").get(pk=order.pk)
        revision = order.revisions.get(number=order.revision)

        started = time.perf_counter()
        filename, content = pdf.order_pdf(order, revision)
        first = time.perf_counter() - started
        whole, render = [], []
        for _ in range(args.runs):
            pdf._wrap.cache_clear()  # as for an order never rendered before
            started = time.perf_counter()
            sheet = pdf.order_sheet(order, revision)
            middle = time.perf_counter()
            content = pdf.render_order(sheet)
            done = time.perf_counter()
            whole.append(done - started)
            render.append(done - middle)
    pages = _pages(content)
    print(
        f"order PDF, {LINES} lines x {DELIVERIES_PER_LINE} deliveries "
        f"({filename}: {pages} pages, {len(content) / 1024:.0f} KiB)"
    )
    print(f"  first render (loads the fonts): {first * 1000:.0f} ms")
    print(
        f"  median of {args.runs}: {statistics.median(whole) * 1000:.0f} ms "
        f"(sheet + render), {statistics.median(render) * 1000:.0f} ms render alone; "
        f"max {max(whole) * 1000:.0f} ms"
    )
    if args.keep:
        Path(args.keep).write_bytes(content)
        print(f"  written to {args.keep}")


def _pages(content: bytes) -> int | str:
    try:
        from pypdf import PdfReader  # a dev dependency
    except ImportError:  # pragma: no cover
        return "?"
    return len(PdfReader(io.BytesIO(content)).pages)


if __name__ == "__main__":
    main()
