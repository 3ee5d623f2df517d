"""The buyer's forms: revising an order, releases, closing, receipts, proposals, invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from vendorportal.web.widgets import DateField


def quantity_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, min_value=Decimal("0.0001"), decimal_places=4, max_digits=16
    )


class ReasonMixin(forms.Form):
    reason = forms.CharField(
        label="Reason for the supplier",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown with the new revision.",
    )


class DeliveryChangeForm(ReasonMixin):
    due_date = DateField(label="Due date")
    quantity = quantity_field("Quantity")
    cancel = forms.BooleanField(label="Cancel this delivery", required=False)

    field_order = ["due_date", "quantity", "cancel", "reason"]


class LineChangeForm(ReasonMixin):
    quantity = quantity_field("Quantity")
    unit_price = forms.DecimalField(
        label="Unit price", min_value=Decimal(0), decimal_places=4, max_digits=16
    )
    description = forms.CharField(label="Description", max_length=300)
    internal_notes = forms.CharField(
        label="Internal notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Buyers only; never shown to the supplier.",
    )

    field_order = ["quantity", "unit_price", "description", "internal_notes", "reason"]


class HeaderChangeForm(ReasonMixin):
    payment_terms = forms.CharField(label="Payment terms", required=False, max_length=100)
    incoterms = forms.CharField(label="Incoterms", required=False, max_length=50)
    ship_to = forms.CharField(
        label="Ship to", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    notes_to_vendor = forms.CharField(
        label="Notes to the supplier", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    internal_notes = forms.CharField(
        label="Internal notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Buyers only; never shown to the supplier.",
    )

    field_order = [
        "payment_terms",
        "incoterms",
        "ship_to",
        "notes_to_vendor",
        "internal_notes",
        "reason",
    ]


class ReleaseForm(ReasonMixin):
    quantity = quantity_field("Release quantity")
    due_date = DateField(label="Due date")

    field_order = ["quantity", "due_date", "reason"]


class CallOffForm(ReasonMixin):
    """A call-off: a quantity and due date for each blanket line to release now (a blank
    quantity releases nothing on that line). One revision for all of them."""

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        reason = self.fields.pop("reason")
        for line in lines:
            self.fields[f"quantity_{line.line_number}"] = forms.DecimalField(
                label=f"Line {line.line_number} quantity",
                required=False,
                min_value=Decimal("0.0001"),
                decimal_places=4,
                max_digits=16,
            )
            self.fields[f"due_date_{line.line_number}"] = DateField(
                label=f"Line {line.line_number} due date", required=False
            )
        self.fields["reason"] = reason

    def rows(self) -> list[tuple[Any, Any, Any]]:
        """(line, quantity field, due date field) for the table on the page."""
        return [
            (line, self[f"quantity_{line.line_number}"], self[f"due_date_{line.line_number}"])
            for line in self.lines
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        wanted = 0
        for line in self.lines:
            quantity = data.get(f"quantity_{line.line_number}")
            due = data.get(f"due_date_{line.line_number}")
            if quantity and not due:
                self.add_error(f"due_date_{line.line_number}", "When is it due?")
            wanted += bool(quantity)
        if not wanted and not self.errors:
            raise forms.ValidationError("Enter a quantity for at least one line.")
        return data

    def releases(self) -> list[tuple[int, Decimal, Any]]:
        return [
            (
                line.line_number,
                self.cleaned_data[f"quantity_{line.line_number}"],
                self.cleaned_data[f"due_date_{line.line_number}"],
            )
            for line in self.lines
            if self.cleaned_data.get(f"quantity_{line.line_number}")
        ]


class CloseForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The supplier sees this: what is not yet received is no longer wanted.",
    )


class RejectForm(forms.Form):
    note = forms.CharField(
        label="Reason for the supplier", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReceiptForm(forms.Form):
    receipt_date = DateField(label="Received on")
    packing_slip = forms.CharField(label="Packing slip", required=False, max_length=100)

    def __init__(self, *args: Any, deliveries: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deliveries = deliveries
        for delivery in deliveries:
            self.fields[f"qty_{delivery.pk}"] = forms.DecimalField(
                label=f"Line {delivery.line.line_number}-{delivery.delivery_number}",
                required=False,
                min_value=Decimal("0"),
                decimal_places=4,
                max_digits=16,
            )

    def quantity_fields(self) -> list[tuple[Any, forms.BoundField]]:
        return [(d, self[f"qty_{d.pk}"]) for d in self.deliveries]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(f"qty_{d.pk}") for d in self.deliveries):
            self.add_error(None, "Enter the quantity received on at least one delivery.")
        return data


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount", min_value=Decimal("0.01"), decimal_places=2, max_digits=18
    )
    paid_on = DateField(label="Paid on")
    reference = forms.CharField(label="Reference", required=False, max_length=100)


class ShipNoticeCloseForm(forms.Form):
    reason = forms.CharField(
        label="Why the difference is closed",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the supplier on the notice, e.g. “4 damaged in transit, to be "
        "credited” or “rest follows on a new notice”.",
    )
