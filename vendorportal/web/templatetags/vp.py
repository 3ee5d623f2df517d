"""Display filters for Django templates: {% load vp %} then {{ x|qty }},
{{ x|money:order.currency }}."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.urls import reverse

from vendorportal.web import formatting

register = template.Library()


@register.filter
def qty(value: Decimal | None) -> str:
    return formatting.quantity(value)


@register.filter
def money(value: Decimal | None, currency: str | None) -> str:
    """To the currency's places: the currency is required, so no price shows in the wrong
    places because a template forgot it."""
    return formatting.money(value, currency)


@register.filter
def nicedate(value: dt.date | dt.datetime | None) -> str:
    return formatting.date(value)


@register.filter
def get(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key)


@register.filter
def status_badge(status: str) -> str:
    """The badge colour for a status value."""
    return formatting.status_badge(status)


@register.simple_tag(takes_context=True)
def sideurl(context: dict[str, Any], name: str, *args: Any) -> str:
    """Reverse `name` in the namespace of the side being shown (portal or buying)."""
    return reverse(f"{context['side']}:{name}", args=args or None)
