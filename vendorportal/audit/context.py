"""Where the current write comes from: a context variable set per request or command.

`AuditContextMiddleware` sets it for every web request, the API's token authentication
adds the token (and switches the channel to "api"), and the `vendorportal` command sets
channel "command". Anything else (background workers, tests calling services directly)
is channel "system". Only plain values are kept, so reading it never queries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest, HttpResponse

from vendorportal.audit.models import Channel
from vendorportal.core.client_address import client_address

USER_AGENT_LIMIT = 300


@dataclass(frozen=True)
class Origin:
    channel: str = Channel.SYSTEM
    ip: str | None = None
    user_agent: str = ""
    user_id: int | None = None
    user_email: str = ""
    token_id: int | None = None
    token_name: str = ""


SYSTEM = Origin()
_current: ContextVar[Origin] = ContextVar("vendorportal_audit_origin", default=SYSTEM)


def current() -> Origin:
    return _current.get()


@contextlib.contextmanager
def origin(value: Origin) -> Iterator[Origin]:
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


def set_origin(value: Origin) -> None:
    """Set the origin for the rest of the current context (used where no `with` fits)."""
    _current.set(value)


def command() -> contextlib.AbstractContextManager[Origin]:
    return origin(Origin(channel=Channel.COMMAND))


def of_request(
    request: HttpRequest, *, channel: str = Channel.WEB, with_user: bool = True
) -> Origin:
    user = getattr(request, "user", None) if with_user else None
    if user is None or not user.is_authenticated:
        user = None
    return Origin(
        channel=channel,
        ip=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LIMIT],
        user_id=user.pk if user is not None else None,
        user_email=user.email if user is not None else "",
    )


def for_token(request: HttpRequest, token: Any) -> None:
    """The API authenticated `token`: this request's writes are its login's, via the API."""
    base = of_request(request, channel=Channel.API, with_user=False)
    set_origin(
        replace(
            base,
            user_id=token.user_id,
            user_email=token.user.email,
            token_id=token.pk,
            token_name=token.name,
        )
    )


class AuditContextMiddleware:
    """Notes the origin of each request (after authentication, so the user is known).

    A plain sync middleware that only sets and resets a context variable: a streaming
    response (the live stream) is returned untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path_info.startswith("/api/")
        # The API ignores session cookies (api/auth.py); its login comes from the token.
        value = of_request(request, channel=Channel.API if api else Channel.WEB, with_user=not api)
        token = _current.set(value)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
