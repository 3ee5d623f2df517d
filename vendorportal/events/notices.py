"""The notice of an event: the few facts a live stream needs to route it.

A notice says which event happened (its id and kind), whose it is (vendor, internal) and
which parts of which pages it touches (its topics). It never carries the change itself:
a page that receives it re-fetches the touched fragments through the ordinary,
permission-checked views, so a live update can never show more than a reload would.

Topics are plain words a page region subscribes to (`data-live="order:12 lines"`):

- `home`: the counters on either side's home page (every event can move one);
- `orders`: order lists; `order:<id>`: that order's page (header, lines, timeline);
- `lines`: open-lines tables (anything that moves a delivery or its acknowledgement);
- `receipts`, `invoices` and `invoice:<id>`: the receipt and invoice pages;
- `ship-notices` and `ship_notice:<id>`: ship-notice lists and a notice's page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vendorportal.events.models import Event

# The PostgreSQL channel every web process LISTENs on.
CHANNEL = "vendorportal_events"

# Event families (the part of the kind before the dot) whose events move open lines.
_MOVES_LINES = {
    "order",
    "line",
    "release",
    "receipt",
    "return",
    "delivery",
    "proposal",
    "acknowledgement",
    "ship_notice",
}


def topics_of(kind: str, order_id: int | None, data: dict[str, Any]) -> tuple[str, ...]:
    family = kind.split(".", 1)[0]
    topics = ["home"]
    if order_id is not None:
        topics += ["orders", f"order:{order_id}"]
    if family in _MOVES_LINES:
        topics.append("lines")
    if family in {"receipt", "return"}:
        topics.append("receipts")
    notice = data.get("ship_notice", data.get("against_notice"))
    if family == "ship_notice" or isinstance(notice, int):
        topics.append("ship-notices")
        if isinstance(notice, int):
            topics.append(f"ship_notice:{notice}")
    # A file attached to (or deleted from) an invoice touches the invoice's page too.
    if family in {"invoice", "payment", "credit_note"} or (
        family == "attachment" and isinstance(data.get("invoice"), int)
    ):
        topics.append("invoices")
        # A credit note's page, and the page of the invoice it credits.
        for key in ("invoice", "credits"):
            if isinstance(data.get(key), int):
                topics.append(f"invoice:{data[key]}")
    return tuple(topics)


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    vendor_id: int
    internal: bool
    kind: str
    topics: tuple[str, ...]

    @classmethod
    def of(cls, event: Event) -> Notice:
        return cls(
            id=event.pk,
            vendor_id=event.vendor_id,
            internal=event.internal,
            kind=event.kind,
            topics=topics_of(event.kind, event.order_id, event.data or {}),
        )

    def to_payload(self) -> str:
        """The NOTIFY payload (PostgreSQL allows 8000 bytes; this is well under 200)."""
        return json.dumps(
            {
                "id": self.id,
                "v": self.vendor_id,
                "i": self.internal,
                "k": self.kind,
                "t": self.topics,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_payload(cls, payload: str) -> Notice:
        raw = json.loads(payload)
        return cls(
            id=int(raw["id"]),
            vendor_id=int(raw["v"]),
            internal=bool(raw["i"]),
            kind=str(raw["k"]),
            topics=tuple(str(t) for t in raw["t"]),
        )

    def to_sse(self) -> bytes:
        """The server-sent event a browser receives: id (for Last-Event-ID), kind, topics."""
        data = json.dumps(
            {"id": self.id, "kind": self.kind, "topics": self.topics}, separators=(",", ":")
        )
        return f"id: {self.id}\nevent: change\ndata: {data}\n\n".encode()
