"""The supplier's forms: acknowledging a revision, proposing a change, announcing a
shipment, a credit note (its invoice form is shared: web/forms.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from vendorportal.collaboration.models import AcknowledgementResponse
from vendorportal.purchasing import services
from vendorportal.purchasing.models import InvoiceLine
from vendorportal.purchasing.services.inputs import SHIP_NOTICE_FIELDS
from vendorportal.web.forms import add_quantity_and_price
from vendorportal.web.widgets import DateField


class AcknowledgeForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    response = forms.ChoiceField(
        label="Your answer",
        choices=AcknowledgementResponse.choices,
        widget=forms.RadioSelect,
        initial=AcknowledgementResponse.ACCEPTED,
    )
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you accept with changes or reject.",
    )


class ProposalForm(forms.Form):
    due_date = DateField(label="New due date", required=False)
    quantity = forms.DecimalField(
        label="New quantity",
        required=False,
        min_value=Decimal("0.0001"),
        decimal_places=4,
        max_digits=16,
    )
    unit_price = forms.DecimalField(
        label="New unit price",
        required=False,
        min_value=Decimal(0),
        decimal_places=4,
        max_digits=16,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The buyer sees this with your proposal.",
    )

    def __init__(self, *args: Any, for_delivery: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if for_delivery:
            del self.fields["unit_price"]
        else:
            del self.fields["due_date"]
            del self.fields["quantity"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        proposed = [data.get(name) for name in ("due_date", "quantity", "unit_price")]
        if not self.errors and all(value is None for value in proposed):
            first = "due_date" if "due_date" in self.fields else "unit_price"
            self.add_error(first, "Enter the new value you propose.")
        return data


class ShipNoticeForm(forms.Form):
    """A shipment: its dates and papers, and per open delivery the quantity on the truck."""

    ship_date = DateField(label="Ship date")
    expected_date = DateField(label="Expected arrival")
    carrier = forms.CharField(label="Carrier", required=False, max_length=100)
    tracking_number = forms.CharField(label="Tracking number", required=False, max_length=100)
    packing_slip = forms.CharField(label="Packing slip number", required=False, max_length=100)
    note = forms.CharField(
        label="Note for the buyer",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, shippable: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shippable = shippable
        for entry in shippable:
            d = entry.delivery
            self.fields[f"qty_{d.pk}"] = forms.DecimalField(
                label=f"Line {d.line.line_number}-{d.delivery_number} quantity shipped",
                required=False,
                min_value=Decimal("0"),
                decimal_places=4,
                max_digits=16,
            )

    def quantity_fields(self) -> list[tuple[Any, forms.BoundField]]:
        return [(entry, self[f"qty_{entry.delivery.pk}"]) for entry in self.shippable]

    def quantities(self) -> list[tuple[Any, Decimal]]:
        data = self.cleaned_data
        return [
            (entry.delivery, data[f"qty_{entry.delivery.pk}"])
            for entry in self.shippable
            if data.get(f"qty_{entry.delivery.pk}")
        ]

    def details(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in SHIP_NOTICE_FIELDS}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.quantities():
            self.add_error(None, "Enter the quantity shipped on at least one delivery.")
        return data


class CreditNoteForm(forms.Form):
    number = forms.CharField(label="Credit note number", max_length=64)
    credit_date = DateField(label="Date")
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    tax_amount = forms.DecimalField(
        label="Tax credited",
        required=False,
        min_value=Decimal("0"),
        decimal_places=2,
        max_digits=18,  # the amounts' column (the invoice form's tax has the same bound)
    )

    def __init__(self, *args: Any, lines: list[InvoiceLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invoice_lines = lines
        for il in lines:
            add_quantity_and_price(
                self,
                il.pk,
                label=f"Line {il.order_line.line_number}",
                price=il.unit_price,
                quantity_label="quantity credited",
            )

    def line_fields(self) -> list[tuple[InvoiceLine, forms.BoundField, forms.BoundField]]:
        return [(il, self[f"qty_{il.pk}"], self[f"price_{il.pk}"]) for il in self.invoice_lines]

    def credit_lines(self) -> list[services.CreditLineInput]:
        data = self.cleaned_data
        return [
            services.CreditLineInput(
                il, data[f"qty_{il.pk}"], data.get(f"price_{il.pk}") or il.unit_price
            )
            for il in self.invoice_lines
            if data.get(f"qty_{il.pk}")
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.credit_lines():
            self.add_error(None, "Enter the quantity credited on at least one line.")
        return data
