"""Signed values carried by messages: the unsubscribe link and the reply address.

Both are signed with SECRET_KEY (Django's signing, HMAC-SHA256) under their own salt, so a
token made for one use is never accepted for another, and neither can be forged or edited
without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings
from django.core import signing

UNSUBSCRIBE_SALT = "vendorportal.notify.unsubscribe"
REPLY_SALT = b"vendorportal.notify.reply"
# An unsubscribe link keeps working for a year: old messages stay in mailboxes.
UNSUBSCRIBE_MAX_AGE = 365 * 24 * 3600


def unsubscribe_token(user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


class BadToken(Exception):
    """A token that is forged, edited, expired or malformed: `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unsubscribe_read(token: str) -> tuple[int, str]:
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.SignatureExpired:
        raise BadToken("This unsubscribe link has expired.") from None
    except signing.BadSignature:
        raise BadToken("This unsubscribe link is not valid: it was changed or cut off.") from None
    if not (
        isinstance(value, dict)
        and isinstance(value.get("u"), int)
        and isinstance(value.get("k"), str)
    ):
        raise BadToken("This unsubscribe link is not valid.")
    return value["u"], value["k"]


# The reply address: <local>+r<user>-<order>-<mac>@<domain>. Lower-case hex, because mail
# systems may change the case of a local part; 20 hex digits (80 bits) of HMAC-SHA256.
_REPLY = re.compile(r"\+r(?P<user>[0-9]{1,12})-(?P<order>[0-9]{1,12})-(?P<mac>[0-9a-f]{20})@", re.I)


def _reply_mac(user_id: int, order_id: int) -> str:
    key = hashlib.sha256(REPLY_SALT + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, f"{user_id}-{order_id}".encode(), hashlib.sha256).hexdigest()[:20]


def reply_address(user_id: int, order_id: int) -> str:
    """The Reply-To of a message about an order, for this recipient."""
    local, _, domain = settings.NOTIFY_REPLY_ADDRESS.partition("@")
    return f"{local}+r{user_id}-{order_id}-{_reply_mac(user_id, order_id)}@{domain}"


def reply_read(address: str) -> tuple[int, int]:
    """(user id, order id) of a reply address; BadToken if forged or not ours."""
    match = _REPLY.search(address or "")
    if match is None:
        raise BadToken("The address this reply was sent to carries no reply token.")
    user_id, order_id = int(match["user"]), int(match["order"])
    if not hmac.compare_digest(_reply_mac(user_id, order_id), match["mac"].lower()):
        raise BadToken("The reply token in the address is not valid.")
    return user_id, order_id
