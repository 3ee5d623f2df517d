"""The form renderer's Python <input>s are exactly what Django's templates make."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import django
import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from vendorportal.web.form_renderer import INPUT_TEMPLATES, FormRenderer
from vendorportal.web.forms import OpenLinesFilterForm

DJANGO_WIDGETS = Path(django.__file__).parent / "forms" / "templates" / "django" / "forms"


def test_the_input_templates_are_djangos_own_and_only_include_the_input():
    """If the project or an app overrode one of these templates, rendering it in Python
    would bypass the override."""
    engine = FormRenderer().engine
    for name in INPUT_TEMPLATES:
        template = engine.get_template(name)
        assert Path(template.origin.name).is_relative_to(DJANGO_WIDGETS), name
        if not name.endswith("/input.html"):
            source = Path(template.origin.name).read_text().strip()
            assert source == '{% include "django/forms/widgets/input.html" %}', name


WIDGETS = [
    forms.TextInput(attrs={"maxlength": 100, "placeholder": 'a "quoted" <b>'}),
    forms.DateInput(attrs={"type": "date"}),
    forms.CheckboxInput(),
    forms.NumberInput(attrs={"step": "0.001", "min": 0}),
    forms.EmailInput(attrs={"autocomplete": "email", "required": True}),
    forms.HiddenInput(),
    forms.PasswordInput(render_value=True),
    forms.URLInput(attrs={"disabled": False, "readonly": True}),
    forms.TimeInput(),
    forms.DateTimeInput(),
    forms.SearchInput(attrs={"aria-label": "Search & filter"}),
    forms.TelInput(),
    forms.ColorInput(),
]
VALUES = [
    None,
    "",
    "plain",
    "<script>&\"'",
    mark_safe("<i>safe</i>"),
    7,
    Decimal("12.500"),
    dt.date(2027, 2, 3),
    True,
]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
def test_every_input_widget_renders_like_djangos_templates(widget):
    ours, django_renderer = FormRenderer(), DjangoTemplates()
    for value in VALUES:
        expected = widget.render("field", value, attrs={"id": "id_field"}, renderer=django_renderer)
        assert widget.render("field", value, attrs={"id": "id_field"}, renderer=ours) == expected


def test_every_template_rendered_in_python_is_compared():
    assert {w.template_name for w in WIDGETS} == INPUT_TEMPLATES - {
        "django/forms/widgets/input.html"
    }


def test_a_bound_form_with_errors_renders_the_same():
    data = {"q": "<x>", "due_from": "2027-02-10", "due_to": "2027-01-01", "overdue": "on"}
    ours = OpenLinesFilterForm(data, internal=True, renderer=FormRenderer())
    theirs = OpenLinesFilterForm(data, internal=True, renderer=DjangoTemplates())
    assert not ours.is_valid() and not theirs.is_valid()
    for name in ours.fields:
        assert str(ours[name]) == str(theirs[name])
    assert str(ours) == str(theirs)
