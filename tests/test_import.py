"""`vendorportal import`: the documented example files, idempotence, and refused records."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from vendorportal.events.models import Event
from vendorportal.purchasing.models import (
    Invoice,
    Item,
    Payment,
    PurchaseOrder,
    Receipt,
    Revision,
    Vendor,
)

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_the_documented_json_example_imports_and_a_second_run_changes_nothing(buyer):
    report = run_import(str(EXAMPLES / "import.json"))
    assert "Imported 7 record(s)" in report
    order = PurchaseOrder.objects.get(external_id="SAP-PO-4500012345")
    assert order.status == "issued" and order.revision == 1 and order.vendor.code == "FASTCO"
    assert order.deliveries.count() == 3
    assert Receipt.objects.get(external_id="SAP-GR-5000000001").lines.count() == 2
    invoice = Invoice.objects.get(external_id="SAP-IV-5105600001")
    assert invoice.status == "paid" and invoice.total_amount == 755
    assert Payment.objects.get(external_id="SAP-PAY-1400000007").amount == 755

    before = (Event.objects.count(), Revision.objects.count(), Vendor.objects.count())
    again = run_import(str(EXAMPLES / "import.json"))
    assert (Event.objects.count(), Revision.objects.count(), Vendor.objects.count()) == before
    for kind in ("vendors", "items", "orders", "receipts", "invoices", "payments"):
        line = next(line for line in again.splitlines() if line.strip().startswith(kind))
        assert " 0 created" in line and " 0 updated" in line and " 0 refused" in line, line


def test_the_documented_csv_example_groups_rows_into_orders(buyer):
    run_import(str(EXAMPLES / "import.json"))
    report = run_import(str(EXAMPLES / "orders.csv"))
    assert "orders          1 created" in report
    order = PurchaseOrder.objects.get(number="PO-4500012346")
    line = order.lines.get(line_number=10)
    assert [d.quantity for d in line.deliveries.order_by("delivery_number")] == [600, 600]
    assert run_import(str(EXAMPLES / "orders.csv")).count("1 unchanged") == 1


def test_a_bad_record_is_reported_and_leaves_nothing_behind(tmp_path, buyer):
    run_import(str(EXAMPLES / "import.json"))
    good = json.loads((EXAMPLES / "import.json").read_text())["orders"][0]
    bad = {
        **good,
        "external_id": "SAP-PO-BAD",
        "number": "PO-BAD",
        "lines": [{**good["lines"][0], "item_external_id": "NO-SUCH-ITEM"}],
    }
    second = {**good, "external_id": "SAP-PO-OK", "number": "PO-OK"}
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [bad, {"external_id": "X"}, second]}))
    errors = tmp_path / "refused.csv"
    out = StringIO()
    with pytest.raises(CommandError, match="2 record"):
        call_command("import", str(path), "--no-progress", "--errors", str(errors), stdout=out)
    report = out.getvalue()
    assert "orders #1 (SAP-PO-BAD): lines.0.item_external_id: Line 10: no item" in report
    assert "orders #2 (X): number: Field required" in report
    assert not PurchaseOrder.objects.filter(external_id="SAP-PO-BAD").exists()
    assert not Item.objects.filter(external_id="NO-SUCH-ITEM").exists()
    assert PurchaseOrder.objects.filter(external_id="SAP-PO-OK").exists()
    rows = list(csv.DictReader(errors.open()))
    assert [(r["kind"], r["record"], r["external_id"]) for r in rows] == [
        ("orders", "1", "SAP-PO-BAD"),
        ("orders", "2", "X"),
    ]


def test_a_csv_needs_a_kind(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("external_id,code,name\nV-1,ACME2,Acme Two\n")
    with pytest.raises(CommandError, match="--kind"):
        run_import(str(path))
    assert "vendors         1 created" in run_import(str(path), "--kind", "vendors")
    assert Vendor.objects.get(external_id="V-1").name == "Acme Two"
