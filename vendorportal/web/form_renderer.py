"""The form renderer: Django's, with the plain `<input>` widgets rendered in Python.

Django renders each widget through two small templates (the input and its attributes).
That is most of what a filter bar costs: the open-lines page's six inputs took longer to
render than the rest of its page template. The markup is exactly Django's
(tests/test_form_renderer.py compares the two for every input type); any other widget,
and any of these templates if the project ever overrides one, goes through the templates.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.html import conditional_escape

# Widgets whose template is only `{% include "django/forms/widgets/input.html" %}`.
INPUT_TYPES = (
    "checkbox",
    "color",
    "date",
    "datetime",
    "email",
    "hidden",
    "input",
    "number",
    "password",
    "search",
    "tel",
    "text",
    "time",
    "url",
)
INPUT_TEMPLATES = frozenset(f"django/forms/widgets/{name}.html" for name in INPUT_TYPES)


def input_html(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html and attrs.html, in Python."""
    parts = [
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"'
    ]
    if widget["value"] is not None:
        parts.append(f' value="{conditional_escape(widget["value"])}"')
    for name, value in widget["attrs"].items():
        if value is False:
            continue
        parts.append(f" {conditional_escape(name)}")
        if value is not True:
            parts.append(f'="{conditional_escape(value)}"')
    parts.append(">")
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    def render(
        self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None
    ) -> str:
        if template_name in INPUT_TEMPLATES:
            return input_html(context["widget"])
        return super().render(template_name, context, request)
