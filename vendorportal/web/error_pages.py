"""The product's 404 and 403 pages in development too.

With DEBUG on (`make run`), Django answers a refused page with its technical page: the URL
patterns it tried, or "Page not found" in its own layout. A supplier clicking a link of the
other role (`/buying/` as a supplier, `/portal/team/` as a non-admin) saw that and no way back.
With DEBUG off Django already renders templates/404.html and 403.html; this middleware makes
DEBUG answer the same pages, so what a newcomer sees in the demo is what production shows.
The API (its own error body) and views that render their own 404 (an unknown invitation)
are left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

API_PREFIX = "/api/"


class ProductErrorPagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None  # no URL pattern matched
            and not request.path_info.startswith(API_PREFIX)
        ):
            return render(request, "404.html", status=404)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG or request.path_info.startswith(API_PREFIX):
            return None  # Django's own handlers render the same templates
        if isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        if isinstance(exception, PermissionDenied):
            return render(request, "403.html", status=403)
        return None
