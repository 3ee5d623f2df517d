"""Live streams against the real ASGI server (uvicorn in a subprocess) on the test database.

Changes are made the way users make them, through the server's own forms, so that on
SQLite (where events fan out within one process) they reach the server's streams; on
PostgreSQL, changes committed by the test process itself reach the server through
LISTEN/NOTIFY too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.asgi import Server, open_stream, request, running_server, start_server
from tests.factories import make_order
from vendorportal.accounts import services as accounts
from vendorportal.collaboration import services as collaboration
from vendorportal.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    with running_server(tmp_path) as running:
        yield running


@pytest.fixture
def orders(vendor_a, vendor_b, buyer):
    return make_order(vendor=vendor_a, by=buyer), make_order(vendor=vendor_b, by=buyer)


def comment(server: Server, session: str, side: str, number: str, body: str, **extra: str):
    status, text = request(
        server,
        "POST",
        f"/{side}/orders/{number}/comments",
        session=session,
        form={"body": body, **extra},
    )
    assert status == 302, text[:2000]


def ids_of(messages) -> list[int]:
    return [m.id for m in messages]


def test_each_vendor_receives_only_its_own_events(server, orders, amos, bob, buyer):
    order_a, order_b = orders
    amos_s, bob_s, buyer_s = session_of(amos), session_of(bob), session_of(buyer)
    stream_a = open_stream(server, "/portal/events", session=amos_s)
    stream_b = open_stream(server, "/portal/events", session=bob_s)
    stream_buyer = open_stream(server, "/buying/events", session=buyer_s)
    assert stream_a.status == stream_b.status == stream_buyer.status == 200
    before = Event.objects.order_by("-id").values_list("id", flat=True).first()

    for n in range(3):
        comment(server, amos_s, "portal", order_a.number, f"A says {n}")
        comment(server, bob_s, "portal", order_b.number, f"B says {n}")
    comment(server, buyer_s, "buying", order_a.number, "internal note", internal="on")

    events = list(Event.objects.filter(id__gt=before).order_by("id"))
    a_ids = [e.id for e in events if e.vendor_id == order_a.vendor_id and not e.internal]
    b_ids = [e.id for e in events if e.vendor_id == order_b.vendor_id]
    assert len(a_ids) == 3 and len(b_ids) == 3 and len(events) == 7

    got_a, got_b = stream_a.take(3), stream_b.take(3)
    got_buyer = stream_buyer.take(7)
    assert ids_of(got_a) == a_ids
    assert ids_of(got_b) == b_ids
    assert ids_of(got_buyer) == [e.id for e in events]  # internal included, for buyers
    # Nothing more arrives: 0 foreign events, and the internal comment never reaches A.
    assert stream_a.drain() == [] and stream_b.drain() == []
    # What a message carries: the event id, its kind and the page parts it touches.
    assert got_a[0].event == "change"
    assert got_a[0].data == {
        "id": a_ids[0],
        "kind": "comment.added",
        "topics": ["home", "orders", f"order:{order_a.pk}"],
    }
    for stream in (stream_a, stream_b, stream_buyer):
        stream.close()


def test_the_wrong_side_and_anonymous_get_no_stream(server, amos, buyer):
    assert open_stream(server, "/portal/events", session=None).status == 403
    assert open_stream(server, "/buying/events", session=session_of(amos)).status == 404
    assert open_stream(server, "/portal/events", session=session_of(buyer)).status == 404
    assert open_stream(server, "/portal/events", session="not-a-session").status == 403


def test_a_refused_change_publishes_nothing(server, orders, amos):
    order_a, _ = orders
    session = session_of(amos)
    stream = open_stream(server, "/portal/events", session=session)
    status, text = request(
        server,
        "POST",
        f"/portal/orders/{order_a.number}/comments",
        session=session,
        form={"body": "   "},
    )
    assert status == 400 and "This field is required" in text
    comment(server, session, "portal", order_a.number, "now a real one")
    (message,) = stream.take(1)
    assert message.data["kind"] == "comment.added"
    assert message.id == Event.objects.latest("id").id
    assert stream.drain() == []


def test_a_rolled_back_transaction_publishes_nothing(server, orders, amos, buyer):
    """On PostgreSQL the test process's own commits reach the server (NOTIFY); on SQLite
    its in-process publishing is what a rollback must not trigger."""
    order_a, _ = orders
    stream = open_stream(server, "/portal/events", session=session_of(amos))
    published = []
    from vendorportal.events import log

    unsubscribe = log.subscribe(published.append)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            collaboration.comment_add(order=order_a, by=buyer, body="never happened")
            raise RuntimeError("roll back")
        assert published == []
        assert not Event.objects.filter(order=order_a, kind="comment.added").exists()
        if connection.vendor == "postgresql":
            assert stream.drain(quiet=1.0) == []
            collaboration.comment_add(order=order_a, by=buyer, body="this one commits")
            (message,) = stream.take(1)
            assert message.id == Event.objects.latest("id").id
        else:
            collaboration.comment_add(order=order_a, by=buyer, body="this one commits")
            assert [e.id for e in published] == [Event.objects.latest("id").id]
    finally:
        unsubscribe()
        stream.close()


def test_reconnecting_with_last_event_id_replays_exactly_the_missed_events(
    server, orders, amos, bob
):
    order_a, order_b = orders
    amos_s, bob_s = session_of(amos), session_of(bob)
    stream = open_stream(server, "/portal/events", session=amos_s)
    comment(server, amos_s, "portal", order_a.number, "seen live")
    (seen,) = stream.take(1)
    stream.close()

    for n in range(4):  # while the supplier is away; B's events interleave
        comment(server, amos_s, "portal", order_a.number, f"missed {n}")
        comment(server, bob_s, "portal", order_b.number, f"not A's {n}")
    missed = list(
        Event.objects.filter(id__gt=seen.id, vendor=order_a.vendor).values_list("id", flat=True)
    )
    assert len(missed) == 4

    again = open_stream(server, "/portal/events", session=amos_s, last_event_id=seen.id)
    assert ids_of(again.take(4)) == missed
    comment(server, amos_s, "portal", order_a.number, "live again")
    (live,) = again.take(1)
    assert live.id == Event.objects.latest("id").id and live.id > missed[-1]
    assert again.drain() == []
    again.close()


def test_nothing_is_lost_across_a_server_restart(tmp_path, orders, amos, buyer):
    order_a, _ = orders
    session = session_of(amos)
    first = start_server(tmp_path, name="first")
    try:
        stream = open_stream(first, "/portal/events", session=session)
        comment(first, session, "portal", order_a.number, "before the restart")
        (seen,) = stream.take(1)
        stopping = time.monotonic()
    finally:
        first.stop()
    # Open streams do not hold a restart up: the server cuts them after 3 s.
    assert time.monotonic() - stopping < 8
    assert stream.ended.wait(5)
    # Written while no server runs (e.g. by a command or an ERP import).
    for n in range(3):
        collaboration.comment_add(order=order_a, by=buyer, body=f"during the restart {n}")
    missed = list(Event.objects.filter(id__gt=seen.id).values_list("id", flat=True))
    with running_server(tmp_path, name="second") as second:
        again = open_stream(second, "/portal/events", session=session, last_event_id=seen.id)
        assert ids_of(again.take(3)) == missed
        again.close()


def test_an_event_committed_through_one_process_reaches_a_stream_on_another(tmp_path, orders, amos):
    """PostgreSQL fans out across processes (LISTEN/NOTIFY); SQLite, by design, only
    within the process that committed (run one process on SQLite)."""
    order_a, _ = orders
    session = session_of(amos)
    with (
        running_server(tmp_path, name="one") as one,
        running_server(tmp_path, name="two") as two,
    ):
        stream = open_stream(two, "/portal/events", session=session)
        comment(one, session, "portal", order_a.number, "made on process one")
        status, text = request(two, "GET", "/health/live")
        if connection.vendor == "postgresql":
            (message,) = stream.take(1)
            assert message.id == Event.objects.latest("id").id
            assert status == 200 and '"listener": "connected"' in text
        else:
            assert stream.drain(quiet=1.0) == []
            assert status == 200 and '"listener": "in-process (SQLite)"' in text
        stream.close()


def test_a_deactivated_users_stream_ends(server, amos, alice):
    stream = open_stream(server, "/portal/events", session=session_of(amos))
    assert stream.status == 200
    started = time.monotonic()
    accounts.user_deactivate(user=amos, by=alice)
    assert stream.ended.wait(5), "the stream was still open 5 s after deactivation"
    assert time.monotonic() - started < 5


def test_logging_out_ends_the_stream(server, amos):
    session = session_of(amos)
    stream = open_stream(server, "/portal/events", session=session)
    status, _ = request(server, "POST", "/accounts/logout/", session=session, form={})
    assert status == 302
    assert stream.ended.wait(5), "the stream was still open 5 s after logout"


def test_health_reports_the_listener_and_open_streams(server, amos):
    stream = open_stream(server, "/portal/events", session=session_of(amos))
    status, text = request(server, "GET", "/health/live")
    assert status == 200
    import json

    health = json.loads(text)
    assert health["open_streams"] == 1
    expected = "connected" if connection.vendor == "postgresql" else "in-process (SQLite)"
    assert health["listener"] == expected
    stream.close()


def test_an_idle_stream_gets_heartbeats(tmp_path, amos):
    with running_server(tmp_path, LIVE_HEARTBEAT_SECONDS="1") as server:
        stream = open_stream(server, "/portal/events", session=session_of(amos))
        time.sleep(2.5)
        assert stream.comments.count("heartbeat") >= 2
        stream.close()


def test_open_streams_do_not_hold_database_connections(tmp_path, orders, amos):
    """More streams than the connection pool has connections (PostgreSQL; SQLite has no
    pool and must hold them all the same), and the site still answers."""
    order_a, _ = orders
    session = session_of(amos)
    with running_server(tmp_path, DATABASE_POOL_MAX_SIZE="2") as server:
        streams = [open_stream(server, "/portal/events", session=session) for _ in range(6)]
        assert [stream.status for stream in streams] == [200] * 6
        comment(server, session, "portal", order_a.number, "still answering")
        assert all(len(stream.take(1)) == 1 for stream in streams)
        status, text = request(server, "GET", "/health/live")
        assert status == 200 and '"open_streams": 6' in text
        for stream in streams:
            stream.close()
