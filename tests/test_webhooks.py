"""Outbound webhooks: driven by the event log, signed, retried, delivered once by id."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import make_order
from vendorportal.collaboration import services as collaboration
from vendorportal.events import webhooks
from vendorportal.events.models import DeliveryStatus, Event, WebhookDelivery, WebhookSubscription

SECRET = "whsec-test-0123456789"


class Receiver:
    """A real HTTP endpoint on localhost that can be taken down (answers 503)."""

    def __init__(self) -> None:
        self.down = False
        self.requests: list[tuple[int, Any, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if receiver.down else 200
                receiver.requests.append((status, self.headers, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def delivered(self) -> list[dict]:
        return [json.loads(body) for status, _, body in self.requests if status == 200]


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.server.shutdown()


def subscribe(receiver: Receiver, **extra) -> WebhookSubscription:
    return WebhookSubscription.objects.create(name="ERP", url=receiver.url, secret=SECRET, **extra)


def test_signatures_verify_and_tampering_or_age_does_not():
    body = b'{"id":1}'
    header = webhooks.sign(SECRET, 1_800_000_000, body)
    assert webhooks.verify(SECRET, header, body, now=1_800_000_010)
    assert not webhooks.verify(SECRET, header, b'{"id":2}', now=1_800_000_010)
    assert not webhooks.verify("other-secret", header, body, now=1_800_000_010)
    assert not webhooks.verify(SECRET, header, body, now=1_800_001_000)  # too old
    assert not webhooks.verify(SECRET, "garbage", body, now=1_800_000_000)


@pytest.mark.django_db
def test_receiver_down_for_n_events_then_up_gets_each_once(receiver, vendor_a, buyer, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    order = make_order(vendor=vendor_a, by=buyer)
    subscription = subscribe(receiver)
    subscription.last_event_id = Event.objects.latest("id").id  # only what happens next
    subscription.save()
    receiver.down = True
    for n in range(5):
        collaboration.comment_add(order=order, by=buyer, body=f"note {n}")
    expected = list(
        Event.objects.filter(id__gt=subscription.last_event_id).values_list("id", flat=True)
    )
    assert len(expected) == 5

    assert webhooks.run_once() == (0, 5)
    assert webhooks.run_once() == (0, 0)  # nothing is due before the backoff
    later = timezone.now() + dt.timedelta(seconds=31)
    assert webhooks.run_once(now=later) == (0, 5)  # still down: retried, backed off again
    assert {d.attempts for d in WebhookDelivery.objects.all()} == {2}

    receiver.down = False
    assert webhooks.run_once(now=later + dt.timedelta(minutes=5)) == (5, 0)
    delivered = receiver.delivered()
    assert sorted(event["id"] for event in delivered) == expected  # each once, by id
    assert {event["kind"] for event in delivered} == {"comment.added"}
    for _status, headers, body in receiver.requests:
        timestamp = int(
            dict(p.split("=", 1) for p in headers["X-VendorPortal-Signature"].split(","))["t"]
        )
        assert webhooks.verify(SECRET, headers["X-VendorPortal-Signature"], body, now=timestamp)
    assert webhooks.run_once(now=later + dt.timedelta(hours=2)) == (0, 0)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db
def test_a_subscription_gets_only_its_kinds(receiver, vendor_a, buyer):
    from vendorportal.purchasing import services

    order = make_order(vendor=vendor_a, by=buyer)
    subscribe(receiver, kinds=["order.revised"])
    collaboration.comment_add(order=order, by=buyer, body="not this")
    services.order_revise(order=order, by=buyer, changes=[services.SetLine(10, "unit_price", "3")])
    webhooks.run_once()
    assert [event["kind"] for event in receiver.delivered()] == ["order.revised"]


@pytest.mark.django_db
def test_giving_up_and_manual_redelivery(receiver, vendor_a, buyer, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    order = make_order(vendor=vendor_a, by=buyer)
    subscription = subscribe(receiver)
    subscription.last_event_id = Event.objects.latest("id").id
    subscription.save()
    receiver.down = True
    collaboration.comment_add(order=order, by=buyer, body="lost?")
    webhooks.run_once()
    webhooks.run_once(now=timezone.now() + dt.timedelta(hours=1))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_response_status == 503
    receiver.down = False
    webhooks.redeliver(delivery)
    webhooks.run_once()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_the_background_worker_delivers_after_commit(receiver, vendor_a, buyer):
    order = make_order(vendor=vendor_a, by=buyer)
    subscription = subscribe(receiver)
    subscription.last_event_id = Event.objects.latest("id").id
    subscription.save()
    collaboration.comment_add(order=order, by=buyer, body="to the ERP")
    # The commit enqueued the task; the worker (django-tasks' db_worker, in its own process
    # as in production: it installs signal handlers that exit) runs it.
    import os
    import subprocess
    import sys

    from django.conf import settings

    from tests.asgi import ROOT, database_url

    subprocess.run(
        [
            sys.executable,
            "-m",
            "vendorportal",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": settings.SECRET_KEY},
        check=True,
        timeout=60,
        capture_output=True,
    )
    deadline = time.monotonic() + 5
    while not receiver.delivered() and time.monotonic() < deadline:
        time.sleep(0.05)
    (event,) = receiver.delivered()
    assert event["kind"] == "comment.added" and event["order"]["number"] == order.number


@pytest.mark.django_db
def test_the_back_office_adds_subscriptions_and_redelivers(client, receiver, vendor_a, buyer):
    from tests.factories import UserFactory
    from vendorportal.accounts.models import Role

    admin_user = UserFactory(
        email="root@example.com", role=Role.BUYER, is_staff=True, is_superuser=True
    )
    client.force_login(admin_user)
    order = make_order(vendor=vendor_a, by=buyer)
    form = client.get("/admin/events/webhooksubscription/add/").content.decode()
    assert "whsec_" in form  # a fresh secret is proposed
    answer = client.post(
        "/admin/events/webhooksubscription/add/",
        {"name": "ERP", "url": receiver.url, "secret": SECRET, "kinds": "[]", "active": "on"},
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    subscription = WebhookSubscription.objects.get()
    assert subscription.last_event_id == Event.objects.latest("id").id  # starts at the end
    receiver.down = True
    collaboration.comment_add(order=order, by=buyer, body="again")
    webhooks.run_once()
    delivery = WebhookDelivery.objects.get()
    assert client.get("/admin/events/webhookdelivery/").status_code == 200
    receiver.down = False
    client.post(
        "/admin/events/webhookdelivery/",
        {"action": "redeliver_selected", "_selected_action": [delivery.pk]},
    )
    webhooks.run_once()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
