"""The event log as the outbox: published after commit only, ids in commit order, and the
notice a stream routes (who may see it, which page parts it touches)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from tests.factories import make_order
from vendorportal.collaboration import services as collaboration
from vendorportal.events.live import Subscription
from vendorportal.events.log import record_event
from vendorportal.events.models import Event
from vendorportal.events.notices import Notice, topics_of


def test_topics_name_the_page_parts_an_event_touches():
    assert topics_of("comment.added", 7, {}) == ("home", "orders", "order:7")
    assert topics_of("order.revised", 7, {}) == ("home", "orders", "order:7", "lines")
    assert topics_of("receipt.recorded", 7, {}) == (
        "home",
        "orders",
        "order:7",
        "lines",
        "receipts",
    )
    # A credit note touches its own page and the page of the invoice it credits.
    assert topics_of("credit_note.applied", 7, {"invoice": 4, "credits": 3})[-3:] == (
        "invoices",
        "invoice:4",
        "invoice:3",
    )
    assert topics_of("attachment.added", None, {"invoice": 3})[-2:] == ("invoices", "invoice:3")
    assert "ship_notice:5" in topics_of("attachment.added", 7, {"ship_notice": 5})
    assert topics_of("payment.recorded", 7, {"invoice": 3}) == (
        "home",
        "orders",
        "order:7",
        "invoices",
        "invoice:3",
    )
    assert topics_of("invoice.recorded", None, {"invoice": 3}) == ("home", "invoices", "invoice:3")


def test_a_notice_travels_as_a_small_payload_and_carries_no_change():
    notice = Notice(id=41, vendor_id=2, internal=False, kind="order.revised", topics=("home",))
    assert Notice.from_payload(notice.to_payload()) == notice
    assert notice.to_sse() == (
        b'id: 41\nevent: change\ndata: {"id":41,"kind":"order.revised","topics":["home"]}\n\n'
    )


def test_a_subscription_wants_its_vendors_shared_events_only():
    shared = Notice(id=1, vendor_id=2, internal=False, kind="x.y", topics=())
    internal = Notice(id=2, vendor_id=2, internal=True, kind="x.y", topics=())
    foreign = Notice(id=3, vendor_id=9, internal=False, kind="x.y", topics=())
    supplier = Subscription(user_id=1, session_key="k", vendor_id=2)
    buyer = Subscription(user_id=5, session_key="b", vendor_id=None)
    assert [supplier.wants(n) for n in (shared, internal, foreign)] == [True, False, False]
    assert [buyer.wants(n) for n in (shared, internal, foreign)] == [True, True, True]


@pytest.mark.django_db(transaction=True)
def test_published_only_after_commit_and_never_after_a_rollback(published, vendor_a, buyer):
    order = make_order(vendor=vendor_a, by=buyer)
    published.clear()
    with transaction.atomic():
        collaboration.comment_add(order=order, by=buyer, body="inside")
        assert published == []  # not before the commit
    assert published.kinds() == ["comment.added"]
    with pytest.raises(RuntimeError), transaction.atomic():
        collaboration.comment_add(order=order, by=buyer, body="rolled back")
        raise RuntimeError
    assert published.kinds() == ["comment.added"]
    assert Event.objects.filter(kind="comment.added").count() == 1


@pytest.mark.django_db(transaction=True)
def test_event_ids_are_in_commit_order(vendor_a, buyer):
    """A transaction that draws an event id commits before any later one draws its own,
    so a stream resuming "after id N" can never skip an event that committed late."""
    order = make_order(vendor=vendor_a, by=buyer)
    first_recorded = threading.Event()
    done: dict[str, tuple[int, float]] = {}

    def slow() -> None:
        try:
            with transaction.atomic():
                event = record_event(
                    kind="test.slow", vendor_id=vendor_a.pk, summary="slow", order_id=order.pk
                )
                first_recorded.set()
                time.sleep(0.6)  # still uncommitted while the other one tries
            done["slow"] = (event.pk, time.monotonic())
        finally:
            close_old_connections()
            connection.close()

    def quick() -> None:
        try:
            first_recorded.wait(5)
            with transaction.atomic():
                event = record_event(
                    kind="test.quick", vendor_id=vendor_a.pk, summary="quick", order_id=order.pk
                )
            done["quick"] = (event.pk, time.monotonic())
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=slow), threading.Thread(target=quick)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    (slow_id, slow_at), (quick_id, quick_at) = done["slow"], done["quick"]
    assert slow_at < quick_at, "the later writer committed first"
    assert slow_id < quick_id
    assert list(
        Event.objects.filter(kind__startswith="test.").order_by("id").values_list("kind", flat=True)
    ) == ["test.slow", "test.quick"]
