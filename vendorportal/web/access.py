"""View decorators: which side of the portal a view belongs to.

A supplier view answers 404 to anyone but an active vendor login, a buying view to anyone
but a buyer; both send an anonymous visitor to the login page. The viewer itself comes
from `purchasing.access` (set on the request by its middleware).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from vendorportal.events.context import note_page_start
from vendorportal.purchasing.access import Viewer

View = Callable[..., HttpResponse]


def _side(internal: bool) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            viewer: Viewer | None = getattr(request, "viewer", None)
            if viewer is None or viewer.internal != internal:
                raise Http404("No such page.")
            if request.method == "GET":
                note_page_start(request, viewer)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


supplier_view = _side(internal=False)
buyer_view = _side(internal=True)


def viewer_of(request: HttpRequest) -> Viewer:
    viewer: Viewer | None = getattr(request, "viewer", None)
    if viewer is None:  # pragma: no cover - the decorators above run first
        raise Http404("No such page.")
    return viewer
