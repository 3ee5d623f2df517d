"""Security headers Django's own middleware does not send on every response.

`SecurityMiddleware` sends nosniff, Referrer-Policy, Cross-Origin-Opener-Policy and (with
HTTPS) HSTS; `XFrameOptionsMiddleware` sits at the end of the chain, so responses that
end earlier (static files from whitenoise) would miss X-Frame-Options. This middleware,
near the top, adds Permissions-Policy and X-Frame-Options to every response.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.permissions_policy = settings.PERMISSIONS_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        return response
