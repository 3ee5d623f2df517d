"""The real ASGI server in a subprocess, and small clients for it (for live-stream tests).

pytest-django's `live_server` is a threaded WSGI server that buffers streamed responses,
so streams are tested against `vendorportal serve` (uvicorn) on the test database, which
the test process shares (transactional tests commit, so the server sees their rows).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the test database the test process is using."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = urllib.parse.quote(params.get("USER") or "")
    password = params.get("PASSWORD") or ""
    auth = f"{user}:{urllib.parse.quote(password)}@" if password else f"{user}@"
    host, port = params.get("HOST") or "127.0.0.1", params.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{params['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(tmp_path: Path, *, name: str = "server", **env: str) -> Server:
    """Start `vendorportal serve` on the test database and wait until it answers."""
    port = free_port()
    log = tmp_path / f"{name}-{port}.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vendorportal.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "LIVE_AUTH_CHECK_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
        # As in the test process (tests/conftest.py turns these off unless a test is marked).
        "MFA_ENFORCED": "true" if settings.MFA_ENFORCED else "false",
        "API_AUTH_FAILURE_LIMIT": str(settings.API_AUTH_FAILURE_LIMIT),
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "vendorportal", "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port=port, process=process, log=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited:\n{server.output()}")
        with contextlib.suppress(OSError):
            status, _ = request(server, "GET", "/health/live")
            if status == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"The server did not come up:\n{server.output()}")


@contextlib.contextmanager
def running_server(tmp_path: Path, **kwargs: str) -> Iterator[Server]:
    server = start_server(tmp_path, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def request(
    server: Server,
    method: str,
    path: str,
    *,
    session: str | None = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """One HTTP request; a form is posted with a CSRF token taken from a GET first."""
    headers = dict(headers or {})
    cookies: dict[str, str] = {}
    if session:
        cookies["sessionid"] = session
    body = None
    if form is not None:
        token = _csrf_cookie(server)
        cookies["csrftoken"] = token
        headers["X-CSRFToken"] = token
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(form)
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    conn = http.client.HTTPConnection(*server.address, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def _csrf_cookie(server: Server) -> str:
    """A CSRF cookie, from the login page as an anonymous visitor (the token is not tied
    to a session: the cookie and the header only have to match)."""
    conn = http.client.HTTPConnection(*server.address, timeout=20)
    try:
        conn.request("GET", "/accounts/login/")
        response = conn.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie(header)
            if "csrftoken" in cookie:
                return cookie["csrftoken"].value
    finally:
        conn.close()
    raise AssertionError("The server set no CSRF cookie.")


@dataclass
class Message:
    id: int | None
    event: str
    data: dict


@dataclass
class Stream:
    """A server-sent event stream read by a background thread."""

    status: int
    conn: http.client.HTTPConnection
    response: http.client.HTTPResponse
    messages: queue.Queue[Message | None] = field(default_factory=queue.Queue)
    ended: threading.Event = field(default_factory=threading.Event)
    comments: list[str] = field(default_factory=list)

    def _read(self) -> None:
        event, data, last_id = "message", "", None
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        self.messages.put(Message(last_id, event, json.loads(data)))
                    event, data, last_id = "message", "", None
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "id":
                        last_id = int(value)
                    elif name == "event":
                        event = value
                    elif name == "data":
                        data += value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # the connection closed (by us, or the server ended the stream)
        finally:
            self.ended.set()
            self.messages.put(None)

    def next(self, timeout: float = 5.0) -> Message | None:
        """The next message, or None if the stream ended or nothing came in time."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def take(self, count: int, timeout: float = 5.0) -> list[Message]:
        got: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            message = self.next(max(0.0, deadline - time.monotonic()))
            if message is None:
                break
            got.append(message)
        return got

    def drain(self, quiet: float = 0.5) -> list[Message]:
        """Everything that arrives until the stream is quiet for `quiet` seconds."""
        got: list[Message] = []
        while (message := self.next(quiet)) is not None:
            got.append(message)
        return got

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.sock and self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


def open_stream(
    server: Server, path: str, *, session: str | None, last_event_id: int | None = None
) -> Stream:
    conn = http.client.HTTPConnection(*server.address, timeout=30)
    headers = {"Accept": "text/event-stream"}
    if session:
        headers["Cookie"] = f"sessionid={session}"
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    stream = Stream(status=response.status, conn=conn, response=response)
    if response.status == 200:
        threading.Thread(target=stream._read, daemon=True).start()
        # The server's first bytes (retry hint and a comment) say the stream is registered.
        deadline = time.monotonic() + 5
        while not stream.comments and not stream.ended.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
    else:
        response.read()
        stream.ended.set()
    return stream
