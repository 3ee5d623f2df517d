"""`vendorportal serve`: run the application (vendorportal/asgi.py) under uvicorn.

An ASGI server is required, not `runserver`: the live event stream (server-sent events)
needs async, and `runserver` buffers it. Ordinary views run in a pool of WEB_THREADS threads
per process (see vendorportal/asgi.py for why). uvicorn runs with its C parts (httptools for
HTTP, uvloop for the event loop): measured here, they take about a fifth off a small page's
server time. Static files are served by whitenoise's middleware (from the app and project
static folders when DEBUG is on, from STATIC_ROOT otherwise).

Processes: on PostgreSQL one per CPU by default (every process hears every event through
LISTEN/NOTIFY, vendorportal/events/live.py); on SQLite one, since a committed event reaches
only the live streams of the process that wrote it.
"""

from __future__ import annotations

import os
from argparse import ArgumentTypeError
from typing import Any

import uvicorn
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

ASGI_APP = "vendorportal.asgi:application"


def _port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ArgumentTypeError(f"{raw!r} is not a port number") from exc
    if not 0 < value < 65536:
        raise ArgumentTypeError(f"{value} is not between 1 and 65535")
    return value


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ArgumentTypeError(f"{raw!r} is not a whole number") from exc
    if value < 1:
        raise ArgumentTypeError(f"{value} must be at least 1")
    return value


class Command(BaseCommand):
    help = "Serve Vendor Portal over HTTP with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default: 127.0.0.1)."
        )
        parser.add_argument(
            "--port", type=_port, default=8000, help="Port to listen on (default: 8000)."
        )
        parser.add_argument(
            "--workers",
            type=_positive_int,
            default=None,
            help="Number of worker processes (default: one per CPU on PostgreSQL, 1 on "
            "SQLite). Not combinable with --reload.",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="Restart when Python files under the vendorportal package change (development).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        reload: bool = options["reload"]
        on_sqlite = connections[DEFAULT_DB_ALIAS].vendor == "sqlite"
        workers: int = options["workers"] or (1 if on_sqlite or reload else os.cpu_count() or 1)

        if reload and workers > 1:
            raise CommandError("--reload runs a single process; drop --workers or --reload.")
        if on_sqlite and workers > 1:
            self.stderr.write(
                self.style.WARNING(
                    "On SQLite a live update reaches only the streams of the process that "
                    "made the change: with several workers, some screens miss updates until "
                    "reloaded. Use PostgreSQL for several processes."
                )
            )
        self._check_static_files()
        self._warn_unapplied_migrations()
        connections.close_all()  # the check's connection would stay open for the server's life

        self.stdout.write(
            f"Vendor Portal on http://{_url_host(host)}:{port}/ "
            f"({workers} worker{'s' if workers != 1 else ''} x {settings.WEB_THREADS} threads"
            f"{', reloading' if reload else ''}; DEBUG={settings.DEBUG}). Quit with CTRL-C."
        )
        if settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "DEBUG is on: for development only. A server error shows its traceback "
                    "in the browser to whoever caused it; run with DEBUG=false anywhere "
                    "others can reach (the product's error pages are shown then)."
                )
            )
        uvicorn.run(
            ASGI_APP,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            reload_dirs=[str(settings.BASE_DIR)] if reload else None,
            http="httptools",
            loop="uvloop",
            # A line per request is for development: in production it costs a tenth of a
            # small page, and the audit trail and the error log say what matters.
            access_log=settings.DEBUG or reload,
            # Django's ASGI handler does not implement the lifespan protocol.
            lifespan="off",
            # uvicorn would rewrite the client address from X-Forwarded-For sent by any
            # local peer; TRUSTED_PROXIES decides that, once (vendorportal/core/client_address.py).
            proxy_headers=False,
            forwarded_allow_ips="",
            # Live streams never finish by themselves: on shutdown or reload, cut them after
            # a moment; browsers reconnect with Last-Event-ID and miss nothing.
            timeout_graceful_shutdown=3,
        )

    def _warn_unapplied_migrations(self) -> None:
        """Like runserver: warn, not fail, when the database is behind the code."""
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            apps = ", ".join(sorted({migration.app_label for migration, _ in plan}))
            self.stderr.write(
                self.style.NOTICE(
                    f"{len(plan)} unapplied migration(s) for: {apps}. "
                    "Run `vendorportal migrate` first."
                )
            )

    def _check_static_files(self) -> None:
        """With DEBUG off, pages need the collected manifest; fail now instead of per request."""
        if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
            return
        if staticfiles_storage.read_manifest() is None:
            raise CommandError(
                f"DEBUG is off and no static files are collected in {settings.STATIC_ROOT}: "
                "run `vendorportal collectstatic --no-input` first."
            )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
