"""The Jinja2 environment, used where a page renders hundreds of rows (open lines, the
lines of a large order): the same rows through Django's engine cost several times more."""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment

from vendorportal.web import formatting


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def environment(**options: Any) -> Environment:
    env = Environment(**options)  # noqa: S701 - Django's backend sets autoescape=True
    env.globals.update({"url": url, "static": static})
    env.filters.update(formatting.FILTERS)
    return env
