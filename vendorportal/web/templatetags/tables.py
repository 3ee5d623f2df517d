"""{% sort_header "Due" "due" %} and {% page_link 2 %} for list pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from vendorportal.web.tables import with_params

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context: dict[str, Any], label: str, key: str) -> str:
    request, sort = context["request"], context["sort"]
    href, aria = sort.link(request.GET, key)
    if aria:
        return format_html('<a href="{}" aria-sort="{}">{}</a>', href, aria, label)
    return format_html('<a href="{}">{}</a>', href, label)


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    return with_params(context["request"].GET, **changes)
