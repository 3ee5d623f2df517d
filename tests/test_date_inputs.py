"""The browser's date inputs say the format they take (issue 13): every date input is the
one DateWidget (type=date, with YYYY-MM-DD as placeholder, pattern and title, and as help
text where the form shows help), so a browser without a date picker, or a text-mode one,
says what to type; and a date in any other format is refused with the format and an
example, writing nothing."""

from __future__ import annotations

import re

import pytest
from django import forms as django_forms

from tests.clock import TODAY, days
from tests.factories import make_order
from vendorportal.audit.views import AuditFilterForm
from vendorportal.buying import forms as buying_forms
from vendorportal.collaboration.models import ChangeProposal
from vendorportal.portal import forms as portal_forms
from vendorportal.portal.forms import CreditNoteForm
from vendorportal.purchasing.models import Receipt
from vendorportal.web import forms as web_forms
from vendorportal.web.widgets import DateField, DateWidget

pytestmark = pytest.mark.django_db

EXPECTED_ERROR = f"Enter the date as YYYY-MM-DD, e.g. {TODAY.isoformat()}"
# The same day as a European clerk would type it, and as an American would.
EUROPEAN = days(14).strftime("%d/%m/%Y")
AMERICAN = days(14).strftime("%m/%d/%Y")


def date_inputs(html: str) -> dict[str, dict[str, str]]:
    """Every `<input type="date">` of a page: its name → its attributes."""
    found = {}
    for tag in re.findall(r'<input type="date"[^>]*>', html):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        found[attributes["name"]] = attributes
    return found


def assert_labelled(inputs: dict[str, dict[str, str]], *names: str) -> None:
    assert set(names) <= set(inputs), inputs
    for name in names:
        attributes = inputs[name]
        assert attributes["placeholder"] == "YYYY-MM-DD", name
        assert attributes["pattern"] == r"\d{4}-\d{2}-\d{2}", name
        assert "YYYY-MM-DD" in attributes["title"], name


@pytest.fixture
def order(vendor_a, buyer):
    return make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50")], due=days(15))


def test_every_date_field_of_every_form_is_the_iso_date_field(order):
    line = order.lines.get()
    form_instances = [
        web_forms.OpenLinesFilterForm(internal=True),
        AuditFilterForm(),
        portal_forms.ProposalForm(for_delivery=True),
        buying_forms.DeliveryChangeForm(),
        buying_forms.ReleaseForm(),
        buying_forms.CallOffForm(lines=[line]),
        buying_forms.ReceiptForm(deliveries=list(order.deliveries.all())),
        web_forms.InvoiceForm(lines=[line]),
        web_forms.SupplierInvoiceForm(lines=[line]),
        CreditNoteForm(lines=[]),
        buying_forms.PaymentForm(),
    ]
    dates = [
        (type(form).__name__, name, field)
        for form in form_instances
        for name, field in form.fields.items()
        if isinstance(field, django_forms.DateField)
    ]
    assert len(dates) == 15
    for form_name, name, field in dates:
        assert isinstance(field, DateField), (form_name, name)
        assert isinstance(field.widget, DateWidget), (form_name, name)
        assert field.input_formats == ["%Y-%m-%d"], (form_name, name)
        assert field.widget.format == "%Y-%m-%d", (form_name, name)


def test_the_forms_label_their_date_inputs_with_the_format(client, order, amos, buyer):
    delivery = order.deliveries.get()
    client.force_login(amos)
    propose = client.get(f"/portal/orders/{order.number}/propose?delivery={delivery.pk}")
    html = propose.content.decode()
    assert_labelled(date_inputs(html), "due_date")
    assert date_inputs(html)["due_date"]["value"] == delivery.due_date.isoformat()
    assert '<div class="helptext">Format: YYYY-MM-DD</div>' in html
    assert_labelled(date_inputs(client.get("/portal/open-lines/").content.decode()), "due_from")

    client.force_login(buyer)
    pages = {
        f"/buying/orders/{order.number}/revise?delivery={delivery.pk}": ["due_date"],
        f"/buying/orders/{order.number}/receive": ["receipt_date"],
        f"/buying/orders/{order.number}/invoice": ["invoice_date", "due_date"],
        "/buying/open-lines/": ["due_from", "due_to"],
        "/buying/audit/": ["since", "until"],
    }
    for url, names in pages.items():
        html = client.get(url).content.decode()
        assert_labelled(date_inputs(html), *names)
        if "open-lines" not in url and "audit" not in url:
            assert html.count("Format: YYYY-MM-DD") >= len(names), url


@pytest.mark.parametrize("typed", [EUROPEAN, AMERICAN, "next Tuesday"])
def test_a_proposal_with_a_date_in_another_format_is_refused_and_stores_nothing(
    client, order, amos, typed
):
    delivery = order.deliveries.get()
    client.force_login(amos)
    response = client.post(
        f"/portal/orders/{order.number}/propose",
        {"delivery": delivery.pk, "due_date": typed, "reason": "Furnace repair"},
    )
    assert response.status_code == 400
    assert EXPECTED_ERROR in response.content.decode()
    assert not ChangeProposal.objects.filter(order=order).exists()


def test_a_receipt_dated_in_another_format_is_refused_and_stores_nothing(client, order, buyer):
    delivery = order.deliveries.get()
    client.force_login(buyer)
    response = client.post(
        f"/buying/orders/{order.number}/receive",
        {"receipt_date": EUROPEAN, f"qty_{delivery.pk}": "10"},
    )
    assert response.status_code == 400
    assert EXPECTED_ERROR in response.content.decode()
    assert not Receipt.objects.filter(order=order).exists()
    delivery.refresh_from_db()
    assert delivery.received_quantity == 0


def test_the_same_date_as_yyyy_mm_dd_is_taken(client, order, amos):
    delivery = order.deliveries.get()
    client.force_login(amos)
    response = client.post(
        f"/portal/orders/{order.number}/propose",
        {"delivery": delivery.pk, "due_date": days(14).isoformat(), "reason": "Furnace repair"},
    )
    assert response.status_code == 302
    assert ChangeProposal.objects.get(order=order).proposed_due_date == days(14)


def test_an_open_lines_filter_in_another_format_says_the_format(client, order, amos):
    client.force_login(amos)
    html = client.get("/portal/open-lines/", {"due_from": EUROPEAN}).content.decode()
    assert EXPECTED_ERROR in html
    # The filter panel is open, on a phone too, to show the error.
    assert '<details class="filters" open>' in html
