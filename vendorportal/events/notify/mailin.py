"""Replies become comments: `vendorportal mail-in` hands one RFC 5322 message to `receive`.

Every notification about an order has a Reply-To address carrying a signed token for
(recipient, order) (`tokens.reply_address`). A reply is stored as a shared comment on that
order, as that login, when:

- the token is valid (not forged, names an active login and an existing order that login
  may comment on), and
- the sender (From) is that login's address, and
- the message is within MAIL_IN_MAX_BYTES and has no attachments (until attachments exist).

Only the reply's new text is kept: the quoted history and signatures are stripped by
mail-parser-reply (several languages' "On … wrote:" lines). Anything refused raises
`Refused` with the explanation the mail server puts in its bounce; nothing is written.
Automatic replies (out-of-office, bounces) are ignored without a bounce, so that two robots
never answer each other.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled
from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]

from vendorportal.audit import context as audit_context
from vendorportal.audit.models import Channel
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.services import COMMENT_MAX
from vendorportal.errors import DomainError
from vendorportal.events.notify.tokens import BadToken, reply_read
from vendorportal.purchasing.models import PurchaseOrder

# The languages whose reply headers ("On … wrote:", "Am … schrieb …:") are recognised.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "cs", "da"]

# sysexits.h: what the mail server does with the message when the command exits so.
EX_DATAERR = 65  # bounce: the message is not acceptable
EX_NOUSER = 67  # bounce: no such (valid) recipient address
EX_NOPERM = 77  # bounce: this sender may not do this
EX_TEMPFAIL = 75  # try again later


class Refused(Exception):
    def __init__(self, reason: str, status: int = EX_DATAERR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Outcome:
    order_number: str
    author: str
    comment_id: int | None  # None: an automatic reply, ignored


def _is_automatic(message: EmailMessage) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto != "no"
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or str(message.get("Content-Type", "")).lower().startswith("multipart/report")
    )


def _attachments(message: EmailMessage) -> list[str]:
    names = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if (
            disposition == "attachment"
            or (disposition == "inline" and part.get_filename())
            or part.get_content_maintype() not in {"text"}
        ):
            names.append(part.get_filename() or part.get_content_type())
    return names


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if body.get_content_subtype() == "html":
        content = re.sub(r"(?is)<(script|style).*?</\1>", "", content)
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
        content = html.unescape(re.sub(r"<[^>]+>", "", content))
    return str(content)


# A reply header left alone when the whole message is quoted ("On Mon, Bea wrote:").
_HEADER = re.compile(
    r"^\s*(on|am|le|el|il|op|den|dne)\b.*(wrote|schrieb|a écrit|escribió|ha scritto|schreef|"
    r"napisał|skrev|napsal)\s*:\s*$",
    re.IGNORECASE,
)


def new_text(text: str) -> str:
    """The reply without the quoted history and signature."""
    reply = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text)
    lines = [line.rstrip() for line in (reply or "").replace("\r\n", "\n").split("\n")]
    # The parser keeps a message that is all quotation as it is: drop what is quoted.
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    while lines and (not lines[-1].strip() or _HEADER.match(lines[-1])):
        lines.pop()
    return "\n".join(lines).strip()


def _recipients(message: EmailMessage, envelope_recipient: str | None) -> list[str]:
    found = [envelope_recipient] if envelope_recipient else []
    for header in ("Delivered-To", "X-Original-To", "To", "Cc"):
        found += [address for _, address in getaddresses(message.get_all(header, []))]
    return [address for address in found if address]


def receive(raw: bytes, *, envelope_recipient: str | None = None) -> Outcome:
    """Store one reply as a comment, or raise Refused saying why (nothing written)."""
    if len(raw) > settings.MAIL_IN_MAX_BYTES:
        raise Refused(
            f"The message is {len(raw) // 1024} KB; replies to Vendor Portal may be at most "
            f"{settings.MAIL_IN_MAX_BYTES // 1024} KB. Write a shorter reply, or comment on "
            "the order page."
        )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - the policy makes one
        raise Refused("The message could not be read.")
    token_error: BadToken | None = None
    user_id = order_id = None
    for address in _recipients(message, envelope_recipient):
        try:
            user_id, order_id = reply_read(address)
            break
        except BadToken as error:
            token_error = token_error or error
    if user_id is None or order_id is None:
        reason = token_error.reason if token_error else "The message has no recipient."
        raise Refused(f"{reason} Reply to a notification from Vendor Portal.", EX_NOUSER)
    user: Any = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    with scopes_disabled():  # the login's own order (checked by the service below)
        order = PurchaseOrder.objects.filter(pk=order_id).first()
    if user is None or order is None:
        raise Refused(
            "This reply address belongs to a login or an order that no longer exists.", EX_NOUSER
        )
    sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
    if sender != user.email.lower():
        raise Refused(
            "This reply address was made for another sender; replies are accepted only from "
            "the address the notification was sent to.",
            EX_NOPERM,
        )
    if _is_automatic(message):
        return Outcome(order.number, user.email, None)
    attached = _attachments(message)
    if attached:
        raise Refused(
            "Attachments are not accepted by e-mail yet "
            f"({', '.join(attached[:3])}). Send the text alone, and add files on the order page."
        )
    text = new_text(_text(message))
    if not text:
        raise Refused("The reply has no text of its own (only the quoted message).")
    if len(text) > COMMENT_MAX:
        raise Refused(
            f"The reply is {len(text)} characters; a comment may be at most {COMMENT_MAX}."
        )
    origin = audit_context.Origin(channel=Channel.EMAIL, user_id=user.pk, user_email=user.email)
    with audit_context.origin(origin):
        try:
            comment = collaboration.comment_add(order=order, by=user, body=text)
        except DomainError as error:
            raise Refused(error.message, EX_NOPERM) from None
    return Outcome(order.number, user.email, comment.pk)
