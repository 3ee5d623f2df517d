"""The ASGI entry point `vendorportal serve` runs (uvicorn): one port for every request.

Two kinds of view live behind it, and each is served the way that measured fastest here
(bench/serving.py; README "Performance" has the figures):

- The live streams (`async def` views: /portal/events, /buying/events, /health/live) go
  to Django's ASGI handler: they wait on the event loop for minutes, costing no thread.
- Every other view is an ordinary sync view. Django's ASGI handler would run each in a
  thread too, but through asgiref's sync-to-async adapters around the middleware chain
  and with the response copied back to the loop; Django's WSGI handler in a thread pool
  (a2wsgi) does the same work with less in between: a page costs about 1.5 ms less
  server CPU, a small page about a third less.

Which handler a request goes to is decided from the view its path resolves to
(`asyncio.iscoroutinefunction`), so a new async view needs nothing here. Paths that do
not resolve (404s, static files served by whitenoise) go the sync way.
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache
from typing import Any

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorportal.settings")
# Django's own ASGI application (also what the bench compares the product's server with).
django_application = get_asgi_application()

Scope = dict[str, Any]


@lru_cache(maxsize=4096)  # bounded: paths with ids are many, their answer is the same
def is_async_path(path: str) -> bool:
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    return asyncio.iscoroutinefunction(match.func)


class Application:
    """Sends each HTTP request to the ASGI or the WSGI handler (see the module)."""

    def __init__(self, threads: int) -> None:
        # django-stubs types the handler as returning its response (an iterable of bytes).
        self.sync_views = WSGIMiddleware(get_wsgi_application(), workers=threads)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not is_async_path(scope["path"]):
            await self.sync_views(scope, receive, send)  # type: ignore[arg-type]
        else:
            await django_application(scope, receive, send)


application = Application(threads=settings.WEB_THREADS)
