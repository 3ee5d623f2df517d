"""Writing audit rows: one INSERT each, in the caller's transaction, with no reads.

- `record_for_event` is called by `events.log.record_event`, so every service write that
  records an event gets its audit row from there (action = the event's kind).
- `record` is for the services that record no event (accounts, tokens, webhook
  subscriptions): call it once, inside the service's transaction.
- `record_security` is for security events; see its docstring.

Who and from where come from `audit.context` (set by the request middleware, the API's
token authentication, or the `vendorportal` command); the actor passed in wins over the
request's user when given.
"""

from __future__ import annotations

import logging
from typing import Any

from vendorportal.audit import context
from vendorportal.audit.models import AuditEntry

logger = logging.getLogger(__name__)

Changes = dict[str, list[Any]]


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    return str(value)


def record(
    *,
    action: str,
    actor: Any = None,
    actor_id: int | None = None,
    actor_email: str | None = None,
    vendor_id: int | None = None,
    object_type: str = "",
    object_id: Any = "",
    object_label: str = "",
    order_number: str = "",
    revision: int | None = None,
    changes: Changes | None = None,
    summary: str = "",
    event_id: int | None = None,
) -> AuditEntry:
    """Append one audit row (a single INSERT). `actor` is a User (or None for the
    request's user / the system); `changes` maps a field to `[old, new]`."""
    origin = context.current()
    if actor is not None:
        actor_id = actor.pk
        actor_email = actor.email
    elif actor_id is None and origin.user_id is not None:
        actor_id = origin.user_id
    if actor_email is None:
        actor_email = origin.user_email if actor_id == origin.user_id else ""
    return AuditEntry.objects.create(
        action=action[:64],
        actor_id=actor_id,
        actor_email=(actor_email or "")[:254],
        vendor_id=vendor_id,
        channel=origin.channel,
        ip=origin.ip,
        user_agent=origin.user_agent,
        token_id=origin.token_id,
        token_name=origin.token_name,
        object_type=object_type[:32],
        object_id=str(object_id if object_id is not None else "")[:64],
        object_label=str(object_label or "")[:200],
        order_number=str(order_number or "")[:32],
        revision=revision,
        changes=_json_safe(changes or {}),
        summary=summary[:500],
        event_id=event_id,
    )


def _event_object(event: Any) -> tuple[str, Any, str]:
    data = event.data or {}
    if isinstance(data.get("invoice"), int):
        return "invoice", data["invoice"], str(data.get("number", ""))
    if isinstance(data.get("ship_notice"), int):
        return "ship_notice", data["ship_notice"], str(data.get("number", ""))
    if event.order_id is not None:
        return "purchase_order", event.order_id, str(data.get("order", ""))
    return "vendor", event.vendor_id, ""


def record_for_event(event: Any, *, actor: Any = None, changes: Changes | None = None) -> None:
    """The audit row of a service write that recorded `event` (called by record_event)."""
    object_type, object_id, label = _event_object(event)
    data = event.data or {}
    record(
        action=event.kind,
        actor=actor,
        actor_id=event.actor_id,
        vendor_id=event.vendor_id,
        object_type=object_type,
        object_id=object_id,
        object_label=label,
        order_number=str(data.get("order", "") or ""),
        revision=event.revision,
        changes=changes,
        summary=event.summary,
        event_id=event.pk,
    )


def revision_changes(changes: list[dict[str, Any]]) -> Changes:
    """A revision's change list (purchasing.revisions) as field → [old, new]."""
    result: Changes = {}
    for change in changes:
        parts: list[str] = []
        if "line" in change:
            parts.append(f"line {change['line']}")
        if "delivery" in change:
            parts.append(f"delivery {change['delivery']}")
        if "field" in change:
            parts.append(str(change["field"]))
        key = ".".join(parts) or str(change.get("target", "order"))
        result[key] = [change.get("old"), change.get("new")]
    return result


def record_security(
    action: str,
    *,
    user: Any = None,
    email: str = "",
    vendor_id: int | None = None,
    summary: str = "",
    changes: Changes | None = None,
    object_type: str = "",
    object_id: Any = "",
    object_label: str = "",
) -> AuditEntry:
    """Record a security event; the extension point for other account features.

    Call it where the event happens, e.g.::

        record_security("mfa.enabled", user=request.user)
        record_security("lockout", email=attempted_email, summary="5 failed logins")
        record_security("token.auth_throttled", summary="token prefix vpt_abc123")

    - `action`: a dotted name ("login", "login.failed", "logout", "lockout",
      "mfa.enabled", "mfa.disabled", "password.changed", "token.created", "export.csv", …).
    - `user`: the login concerned, if known (its vendor is the row's vendor unless
      `vendor_id` is given); `email`: the address used, when there is no user (a failed
      login records the attempted address, never the password).
    - IP, user agent, channel and token come from the current request (`audit.context`).

    It writes one row with a plain INSERT and works inside or outside a transaction;
    a failure to write is logged and re-raised (security events must not vanish).
    """
    if user is not None and getattr(user, "pk", None) is None:
        user = None
    if user is not None and vendor_id is None:
        vendor_id = getattr(user, "vendor_id", None)
    return record(
        action=action,
        actor=user,
        actor_email=email if user is None else None,
        vendor_id=vendor_id,
        object_type=object_type or ("user" if user is not None else ""),
        object_id=object_id or (user.pk if user is not None else ""),
        object_label=object_label or (user.email if user is not None else email),
        changes=changes,
        summary=summary,
    )
