"""Who is on the other end of a request: one rule for every part that needs to know.

The login lockout (django-axes), allauth's rate limits, the API's failure and rate limits and
the audit trail all count or record a client address. If any of them read a forwarded header
on its own, a client could send `X-Forwarded-For: <anything>` and be a new address for that
one part: a fresh lockout counter per guess. So exactly one setting, `TRUSTED_PROXIES`
(addresses or networks of proxies you run), decides, and exactly one place applies it:

- `vendorportal serve` runs uvicorn with its own proxy-header handling off, so the server
  never rewrites the peer address (uvicorn trusts `X-Forwarded-For` from 127.0.0.1 by
  default, which is how the lockout was bypassed on the demo).
- `ClientAddressMiddleware`, first in the stack, replaces `REMOTE_ADDR` with the address
  `client_address` finds, so everything after it reads the same value from the same key.

A forwarded header counts only when the connection comes from a trusted proxy, and then
`X-Forwarded-For` is read from the right: each hop a trusted proxy appended is skipped, and
the first address a trusted proxy did not add is the client (the left-most entries are
whatever the client chose to send). No other header (`Forwarded`, `X-Real-IP`,
`X-Client-IP`, ...) is ever read: a proxy we trust is configured to set `X-Forwarded-For`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Where the middleware keeps the connection's own address once REMOTE_ADDR is the client's.
PEER_KEY = "vendorportal.peer_address"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks ("10.0.0.5", "10.0.0.0/8", "::1"); a typo is a startup error."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {value!r} is not an IP address or network."
            ) from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(configured)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def valid_ip(value: str) -> str | None:
    """The address in its normal form, or None when `value` is not one."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443", as some proxies write it
        value = value[1 : value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address under the one rule above (None when the peer is unknown)."""
    if PEER_KEY in request.META:  # the middleware already decided
        return valid_ip(request.META.get("REMOTE_ADDR") or "")
    return resolve(request.META.get("REMOTE_ADDR") or "", request.META.get("HTTP_X_FORWARDED_FOR"))


def resolve(peer: str, forwarded_for: str | None) -> str | None:
    peer_ip = valid_ip(peer)
    networks = trusted_networks()
    if peer_ip is None or not networks or not _is_trusted(peer_ip, networks):
        return peer_ip
    client = peer_ip
    # Repeated X-Forwarded-For headers arrive joined with commas, in order.
    for entry in reversed((forwarded_for or "").split(",")):
        hop = valid_ip(entry)
        if hop is None:
            break  # garbage from before our proxies: the last good hop is the client
        client = hop
        if not _is_trusted(hop, networks):
            break
    return client


class ClientAddressMiddleware:
    """Set REMOTE_ADDR to the client's address for everything after it; keep the peer's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        peer = request.META.get("REMOTE_ADDR") or ""
        client = resolve(peer, request.META.get("HTTP_X_FORWARDED_FOR"))
        request.META[PEER_KEY] = peer
        request.META["REMOTE_ADDR"] = client or ""
        return self.get_response(request)


def for_axes(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: axes also sees requests the middleware has not (its own
    tests, management commands), so it asks the rule, not REMOTE_ADDR."""
    return client_address(request)
