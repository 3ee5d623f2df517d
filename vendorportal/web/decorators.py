"""Mounting a shared screen on one side of the portal."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any

from django.http import HttpResponse
from django.views.decorators.http import require_POST, require_safe

View = Callable[..., HttpResponse]


def on_side(side: str, guard: Callable[[View], View]) -> Callable[..., View]:
    """`on_side("portal", supplier_view)(view, **fixed)`: the shared `view` with
    `side="portal"` (and any fixed keyword arguments), behind the side's guard."""

    def mount(view: View, *, post: bool = False, **fixed: Any) -> View:
        bound = partial(view, side=side, **fixed)
        update_wrapper(bound, view)
        # A page answers GET/HEAD, an action POST; any other method 405 (not the page).
        wrapped: View = require_POST(bound) if post else require_safe(bound)
        return guard(wrapped)

    return mount
