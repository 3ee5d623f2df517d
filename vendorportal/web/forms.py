"""Forms both sides use. Errors render next to their field (see shared/field.html)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from vendorportal.purchasing.selectors import OpenLineFilters
from vendorportal.web.widgets import DateField


class OpenLinesFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    po = forms.CharField(required=False, label="PO", max_length=32)
    item = forms.CharField(required=False, label="Item", max_length=64)
    due_from = DateField(required=False, label="Due from")
    due_to = DateField(required=False, label="Due to")
    overdue = forms.BooleanField(required=False, label="Overdue only")
    vendor = forms.CharField(required=False, label="Vendor", max_length=100)

    def __init__(self, *args: Any, internal: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not internal:
            del self.fields["vendor"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("due_from"), data.get("due_to")
        if start and end and end < start:
            self.add_error("due_to", "The end of the due range is before its start.")
        return data

    def filters(self) -> OpenLineFilters:
        if not self.is_valid():
            return OpenLineFilters()
        data = self.cleaned_data
        return OpenLineFilters(
            po=data.get("po") or "",
            item=data.get("item") or "",
            q=data.get("q") or "",
            due_from=data.get("due_from"),
            due_to=data.get("due_to"),
            overdue=bool(data.get("overdue")),
            vendor=data.get("vendor") or "",
        )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    line = forms.TypedChoiceField(label="About", required=False, coerce=int, empty_value=None)
    internal = forms.BooleanField(
        required=False, label="Internal (buyers only)", help_text="Never shown to the supplier."
    )

    def __init__(self, *args: Any, line_numbers: list[int], internal: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        if isinstance(line_field, forms.ChoiceField):
            line_field.choices = [("", "The whole order")] + [
                (n, f"Line {n}") for n in line_numbers
            ]
        if not internal:
            del self.fields["internal"]


def _amount(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, min_value=Decimal("0"), decimal_places=2, max_digits=18, **kwargs
    )


def add_quantity_and_price(
    form: forms.Form, pk: int, *, label: str, price: Decimal, quantity_label: str = "quantity"
) -> None:
    """A line's two optional inputs on an invoice or credit note, `qty_<pk>` and
    `price_<pk>` (the price starting at `price`)."""
    form.fields[f"qty_{pk}"] = forms.DecimalField(
        label=f"{label} {quantity_label}",
        required=False,
        min_value=Decimal("0"),
        decimal_places=4,
        max_digits=16,
    )
    form.fields[f"price_{pk}"] = forms.DecimalField(
        label=f"{label} unit price",
        required=False,
        min_value=Decimal("0"),
        decimal_places=4,
        max_digits=16,
        initial=price,
    )


class InvoiceForm(forms.Form):
    """An invoice against one order: its header, tax and freight, and per order line the
    quantity and price invoiced (empty quantity: the line is not on this invoice)."""

    number = forms.CharField(label="Invoice number", max_length=64)
    invoice_date = DateField(label="Invoice date")
    due_date = DateField(label="Payment due", required=False)
    tax_amount = _amount("Tax", required=False)
    freight_amount = _amount("Freight", required=False)
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_lines = lines
        for line in lines:
            add_quantity_and_price(
                self, line.pk, label=f"Line {line.line_number}", price=line.unit_price
            )

    def line_fields(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        return [(ln, self[f"qty_{ln.pk}"], self[f"price_{ln.pk}"]) for ln in self.order_lines]

    def entries(self) -> list[tuple[Any, Decimal, Decimal]]:
        """(order line, quantity, unit price) of each line with a quantity."""
        data = self.cleaned_data
        return [
            (ln, data[f"qty_{ln.pk}"], data.get(f"price_{ln.pk}") or ln.unit_price)
            for ln in self.order_lines
            if data.get(f"qty_{ln.pk}")
        ]

    def charges(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "tax_amount": data.get("tax_amount") or Decimal("0"),
            "freight_amount": data.get("freight_amount") or Decimal("0"),
            "note": data.get("note") or "",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(f"qty_{ln.pk}") for ln in self.order_lines):
            self.add_error(None, "Enter the invoiced quantity of at least one line.")
        return data


class SupplierInvoiceForm(InvoiceForm):
    """The supplier's invoice from its order: the same, plus sending flagged exceptions."""

    accept_exceptions = forms.BooleanField(
        label="Send the lines the match flags as exceptions",
        required=False,
        help_text="The buyer sees them flagged and may dispute them.",
    )
    # Checked by the attachment rules (type from the content, size, name) when it is sent.
    document = forms.FileField(
        label="Your invoice document (PDF)",
        required=False,
        help_text="Optional: attached to the invoice for the buyer.",
    )

    field_order = ["number", "invoice_date", "due_date", "tax_amount", "freight_amount", "note"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
