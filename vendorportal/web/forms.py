"""Forms both sides use. Errors render next to their field (see shared/field.html)."""

from __future__ import annotations

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
