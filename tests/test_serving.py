"""How `vendorportal serve` serves: which handler each view goes to, and its defaults."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from vendorportal import asgi
from vendorportal.core.management.commands import serve


def _views(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append((prefix + str(pattern.pattern), pattern.callback))
    return found


def test_live_streams_go_to_the_asgi_handler_and_pages_to_the_threads():
    assert asgi.is_async_path("/portal/events")
    assert asgi.is_async_path("/buying/events")
    assert asgi.is_async_path("/health/live")
    for path in ("/portal/open-lines/", "/portal/orders/PO-1/", "/api/v1/deliveries",
                 "/accounts/login/", "/static/vendorportal/app.css", "/no/such/page"):  # fmt: skip
        assert not asgi.is_async_path(path), path


def test_every_async_view_in_the_urlconf_is_an_event_stream_or_its_health():
    """A new async view is found by the router without a list to keep; this says which
    views are async today, so one turning async (or sync) by accident is noticed."""
    async_views = {
        route for route, view in _views(get_resolver().url_patterns)
        if asyncio.iscoroutinefunction(view)
    }  # fmt: skip
    assert async_views == {"portal/events", "buying/events", "health/live"}


@pytest.mark.django_db
def test_a_page_is_answered_by_the_wsgi_handler_in_a_thread():
    """The whole application, called as the ASGI server calls it."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/accounts/login/", "raw_path": b"/accounts/login/",
        "query_string": b"", "root_path": "", "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi.application(scope, receive, send))
    start = sent[0]
    assert start["type"] == "http.response.start" and start["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert b'name="password"' in body


@pytest.fixture
def uvicorn_run(monkeypatch):
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setattr(serve.Command, "_check_static_files", lambda self: None)
    return calls


@pytest.mark.django_db
def test_serve_runs_one_process_per_cpu_on_postgresql_and_one_on_sqlite(uvicorn_run):
    call_command("serve", "--port", "8123")
    (kwargs,) = uvicorn_run
    expected = 1 if connection.vendor == "sqlite" else (os.cpu_count() or 1)
    assert kwargs["workers"] == expected
    assert kwargs["app"] == "vendorportal.asgi:application"
    assert (kwargs["http"], kwargs["loop"]) == ("httptools", "uvloop")
    assert kwargs["port"] == 8123 and kwargs["proxy_headers"] is False


@pytest.mark.django_db
def test_serve_takes_the_workers_it_is_given(uvicorn_run, capsys):
    call_command("serve", "--workers", "3")
    assert uvicorn_run[0]["workers"] == 3
    warning = capsys.readouterr().err
    assert ("live update reaches only" in warning) == (connection.vendor == "sqlite")


def test_the_database_pool_has_room_for_every_thread(settings):
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":  # a file: no pool, kept connections
        assert "pool" not in database["OPTIONS"] and database["CONN_MAX_AGE"] > 0
    else:
        assert database["OPTIONS"]["pool"]["max_size"] >= settings.WEB_THREADS + 1
