"""E-mail notifications (issue 15): from the event log, through a real SMTP server, to the
right people only, each once; preferences, unsubscribe links and retries."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.utils import timezone

from tests.factories import UserFactory, make_order
from tests.smtp import parts
from vendorportal.accounts.models import Role
from vendorportal.audit.models import AuditEntry
from vendorportal.collaboration import services as collaboration
from vendorportal.events.models import (
    Delivery,
    Event,
    Follow,
    Notification,
    NotificationPreference,
    NotificationStatus,
)
from vendorportal.events.notify import notifier, preferences, tokens
from vendorportal.purchasing import services

SENTINEL = "SENTINEL-INTERNAL-7731"


def _path(url: str) -> str:
    parts_ = urlsplit(url)
    return parts_.path + (f"?{parts_.query}" if parts_.query else "")


def _links(text: str) -> list[str]:
    return re.findall(r"http://portal\.test\S+", text)


def _revise(order, buyer):
    return services.order_revise(
        order=order,
        changes=[services.SetDelivery(10, 1, "due_date", dt.date(2026, 12, 22))],
        by=buyer,
        reason="Line moved a week",
    )


@pytest.mark.django_db
def test_a_revision_reaches_each_supplier_login_once_with_what_changed(
    smtp, vendor_a, buyer, alice, amos, bob, client
):
    order = make_order(vendor=vendor_a, by=buyer, internal_notes=SENTINEL)
    notifier.run_once()
    smtp.inbox.clear()
    _revise(order, buyer)

    assert notifier.run_once() == (2, 0)
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == [
        "alice@acme.example",
        "amos@acme.example",
    ]  # never the buyer who acted, never another vendor's login
    message = smtp.inbox.to("alice@acme.example")[0]
    text, html = parts(message)
    assert message["Subject"] == f"{order.number}: revised (revision 2)"
    assert "Line 10 delivery 1 due date: 15 Dec 2026 → 22 Dec 2026" in text
    assert "Line 10 delivery 1 due date: 15 Dec 2026 → 22 Dec 2026" in html
    assert SENTINEL not in message.as_string()
    assert message["Auto-Submitted"] == "auto-generated"
    row = Notification.objects.get(recipient=alice, kind="order_revised")
    assert row.status == NotificationStatus.SENT and row.attempts == 1
    assert message["Message-ID"] == row.message_id
    # The reply address carries a signed token for this recipient and this order.
    assert tokens.reply_read(str(message["Reply-To"])) == (alice.pk, order.pk)
    # Every link works when followed (as the recipient, logged in).
    client.force_login(alice)
    links = _links(text)
    assert any(f"/portal/orders/{order.number}/" in link for link in links)
    for link in links:
        if "/unsubscribe/" in link:
            continue
        assert client.get(_path(link)).status_code == 200, link
    # Nothing is sent twice: a second run finds nothing to do.
    assert notifier.run_once() == (0, 0)
    assert len(smtp.inbox.messages) == 2


@pytest.mark.django_db
def test_comments_go_to_the_other_side_and_internal_ones_never_to_a_supplier(
    smtp, vendor_a, buyer, alice, amos
):
    other_buyer = UserFactory(email="follower@example.com", role=Role.BUYER)
    order = make_order(vendor=vendor_a, by=buyer)
    Follow.objects.create(user=other_buyer, vendor=vendor_a)
    notifier.run_once()
    smtp.inbox.clear()

    collaboration.comment_add(order=order, by=buyer, body=f"Internal: {SENTINEL}", internal=True)
    collaboration.comment_add(order=order, by=buyer, body="Can you ship on Friday?")
    collaboration.comment_add(order=order, by=alice, body="Yes, Friday works.")
    notifier.run_once()

    to_alice = smtp.inbox.to("alice@acme.example")
    to_amos = smtp.inbox.to("amos@acme.example")
    assert [parts(m)[0].count("Can you ship on Friday?") for m in to_amos] == [1]
    # Alice wrote the supplier's comment: she hears only of the buyer's.
    assert len(to_alice) == 1 and "Can you ship on Friday?" in parts(to_alice[0])[0]
    # The order's buyer and the buyer who follows the vendor hear of the supplier's comment.
    for address in ("buyer@example.com", "follower@example.com"):
        (message,) = smtp.inbox.to(address)
        assert "Yes, Friday works." in parts(message)[0]
        assert f"/buying/orders/{order.number}/" in parts(message)[0]
    assert all(SENTINEL not in m.as_string() for m in smtp.inbox.messages)


@pytest.mark.django_db
def test_choices_at_once_digest_off_and_the_vendor_default(
    smtp, vendor_a, buyer, alice, amos, client
):
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.clear()
    preferences.vendor_defaults_set(vendor=vendor_a, choices={"comment": "digest"}, by=alice)
    preferences.preferences_set(user=alice, choices={"comment": "off"}, by=alice)

    collaboration.comment_add(order=order, by=buyer, body="A question")
    notifier.run_once()

    assert smtp.inbox.messages == []  # Alice: off (her own choice); Amos: the vendor's digest
    assert not Notification.objects.filter(recipient=alice, kind="comment").exists()
    assert (
        Notification.objects.get(recipient=amos, kind="comment").status
        == NotificationStatus.IN_DIGEST
    )
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {
        "notifications.vendor_defaults_changed",
        "notifications.preferences_changed",
    }


@pytest.mark.django_db
def test_nothing_is_passed_over_while_the_worker_or_mail_server_is_down(
    smtp, vendor_a, buyer, alice, settings
):
    settings.NOTIFY_RETRY_BASE_SECONDS = 60
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.clear()
    # The worker is down: three comments pile up in the event log.
    for n in range(3):
        collaboration.comment_add(order=order, by=buyer, body=f"Comment {n}")
    # The mail server is refusing for now (4xx): nothing is lost, each is retried.
    smtp.inbox.refuse["alice@acme.example"] = "451 4.3.0 Try again later"
    assert notifier.run_once() == (0, 3)
    assert notifier.run_once() == (0, 0)  # not before the backoff
    smtp.inbox.refuse.clear()
    later = timezone.now() + dt.timedelta(seconds=61)
    assert notifier.run_once(now=later) == (3, 0)
    said = sorted(
        re.search(r"Comment [0-9]", parts(m)[0]).group(0)  # type: ignore[union-attr]
        for m in smtp.inbox.messages
    )
    assert said == ["Comment 0", "Comment 1", "Comment 2"]  # each once
    rows = Notification.objects.filter(kind="comment")
    assert set(rows.values_list("attempts", flat=True)) == {2}


@pytest.mark.django_db
def test_a_permanent_refusal_is_recorded_and_not_retried(smtp, vendor_a, buyer, alice):
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.refuse["alice@acme.example"] = "550 5.1.1 No such mailbox"
    collaboration.comment_add(order=order, by=buyer, body="Hello")
    assert notifier.run_once() == (0, 1)
    row = Notification.objects.get(recipient=alice, kind="comment")
    assert row.status == NotificationStatus.FAILED
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    later = timezone.now() + dt.timedelta(days=1)
    assert notifier.run_once(now=later) == (0, 0)


@pytest.mark.django_db
def test_a_message_claimed_by_a_worker_that_died_is_sent_again_with_its_message_id(
    smtp, vendor_a, buyer, alice, settings
):
    settings.NOTIFY_CLAIM_SECONDS = 120
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.clear()
    collaboration.comment_add(order=order, by=buyer, body="Hello")
    notifier.fan_out()
    row = Notification.objects.get(recipient=alice, kind="comment")
    # A worker claimed it and died before saying it was sent.
    claimed_at = timezone.now()
    Notification.objects.filter(pk=row.pk).update(
        status=NotificationStatus.SENDING, last_attempt_at=claimed_at
    )
    assert notifier.send_due() == (0, 0)  # another worker may still be sending it
    assert notifier.send_due(now=claimed_at + dt.timedelta(seconds=121)) == (1, 0)
    (message,) = smtp.inbox.messages
    assert message["Message-ID"] == row.message_id


@pytest.mark.django_db
def test_a_login_deactivated_before_sending_gets_nothing(smtp, vendor_a, buyer, alice, amos):
    from vendorportal.accounts import services as accounts

    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.clear()
    collaboration.comment_add(order=order, by=buyer, body="Hello")
    notifier.fan_out()
    accounts.user_deactivate(user=amos, by=alice)
    notifier.send_due()
    assert [str(m["To"]) for m in smtp.inbox.messages] == ["alice@acme.example"]
    assert (
        Notification.objects.get(recipient=amos, kind="comment").status
        == NotificationStatus.SKIPPED
    )


@pytest.mark.django_db
def test_the_unsubscribe_link_turns_one_kind_off_without_a_login(
    smtp, vendor_a, buyer, alice, client
):
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.clear()
    collaboration.comment_add(order=order, by=buyer, body="Hello")
    notifier.run_once()
    (message,) = smtp.inbox.to("alice@acme.example")
    header = str(message["List-Unsubscribe"]).strip().strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header in parts(message)[0]

    page = client.get(_path(header))  # GET shows what it does and writes nothing
    assert page.status_code == 200 and b"Stop these e-mails?" in page.content
    assert not NotificationPreference.objects.filter(user=alice).exists()
    # The mail client's one-click POST (RFC 8058): no session, no CSRF token.
    client.handler.enforce_csrf_checks = True
    answer = client.post(_path(header), {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and b"You are unsubscribed" in answer.content
    assert NotificationPreference.objects.get(user=alice, kind="comment").delivery == Delivery.OFF
    entry = AuditEntry.objects.get(action="notifications.unsubscribed")
    assert entry.changes == {"notify.comment": ["at_once", "off"]}
    collaboration.comment_add(order=order, by=buyer, body="Another")
    notifier.run_once()
    assert len(smtp.inbox.to("alice@acme.example")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["tampered", "expired", "other_salt", "deactivated"])
def test_a_bad_unsubscribe_link_is_refused_with_a_reason_and_writes_nothing(
    case, vendor_a, alice, amos, client
):
    token = tokens.unsubscribe_token(alice.pk, "comment")
    if case == "tampered":
        token = tokens.unsubscribe_token(amos.pk, "comment")[:-3] + token[-3:]
    elif case == "expired":
        with signing_clock(-400):
            token = tokens.unsubscribe_token(alice.pk, "comment")
    elif case == "other_salt":
        token = signing.dumps({"u": alice.pk, "k": "comment"}, salt="another.use")
    elif case == "deactivated":
        alice.is_active = False
        alice.save()
    for method in (client.get, client.post):
        answer = method(f"/accounts/notifications/unsubscribe/{token}/")
        assert answer.status_code == 400
        assert b"This link does not work" in answer.content
    assert not NotificationPreference.objects.exists()
    assert not AuditEntry.objects.filter(action="notifications.unsubscribed").exists()


def signing_clock(days: int):
    import time_machine

    return time_machine.travel(timezone.now() + dt.timedelta(days=days), tick=False)


@pytest.mark.django_db
def test_the_settings_page_saves_choices_and_refuses_a_bad_one(client, vendor_a, alice, amos):
    client.force_login(amos)
    page = client.get("/accounts/notifications/")
    assert page.status_code == 200
    assert b"Changed orders" in page.content and b"Defaults for" not in page.content
    answer = client.post(
        "/accounts/notifications/",
        {
            "own-kind:comment": "digest",
            "own-kind:order_revised": "off",
            "own-time_zone": "Europe/Berlin",
        },
    )
    assert answer.status_code == 302
    amos.refresh_from_db()
    assert amos.time_zone == "Europe/Berlin"
    assert dict(
        NotificationPreference.objects.filter(user=amos).values_list("kind", "delivery")
    ) == {
        "comment": "digest",
        "order_revised": "off",
    }
    refused = client.post("/accounts/notifications/", {"own-kind:comment": "hourly"})
    assert refused.status_code == 400
    assert b"Select a valid choice" in refused.content
    assert NotificationPreference.objects.get(user=amos, kind="comment").delivery == "digest"
    # A buyer's kind is not a supplier's: the form has no such field, so nothing changes.
    client.post("/accounts/notifications/", {"own-kind:proposal": "off"})
    assert not NotificationPreference.objects.filter(user=amos, kind="proposal").exists()


@pytest.mark.django_db
def test_a_vendor_admin_sets_the_defaults_and_a_user_cannot(client, vendor_a, alice, amos):
    client.force_login(alice)
    page = client.get("/accounts/notifications/")
    assert b"Defaults for Acme Components" in page.content
    answer = client.post(
        "/accounts/notifications/", {"defaults": "1", "vendor-kind:receipt": "off"}
    )
    assert answer.status_code == 302
    assert preferences.choices_for([amos], "receipt")[amos.pk] == Delivery.OFF
    with pytest.raises(Exception, match="Only the vendor's admins"):
        preferences.vendor_defaults_set(vendor=vendor_a, choices={"receipt": "at_once"}, by=amos)


@pytest.mark.django_db
def test_receipts_tell_the_supplier_what_arrived_and_what_is_still_open(
    smtp, vendor_a, buyer, alice
):
    preferences.preferences_set(user=alice, choices={"receipt": "at_once"}, by=alice)
    order = make_order(vendor=vendor_a, by=buyer, lines=[("100", "2.50")])
    notifier.run_once()
    smtp.inbox.clear()
    delivery = order.deliveries.get()
    services.receipt_record(
        order=order,
        by=buyer,
        lines=[services.ReceiptLineInput(delivery=delivery, quantity=Decimal("40"))],
        receipt_date=dt.date(2026, 11, 30),
    )
    notifier.run_once()
    (message,) = smtp.inbox.to("alice@acme.example")
    text, _ = parts(message)
    assert "Line 10 delivery 1: 40 EA received; 60 still open" in text
    assert "30 Nov 2026" in text


@pytest.mark.django_db
def test_events_before_the_cursor_tell_nobody(smtp, vendor_a, buyer, alice):
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.cursor_at_end()
    assert notifier.run_once() == (0, 0)
    collaboration.comment_add(order=order, by=buyer, body="Now")
    assert notifier.run_once() == (1, 0)
    assert Event.objects.count() > 1


@pytest.mark.django_db
def test_the_api_reads_and_sets_the_tokens_own_settings(client, vendor_a, alice, amos):
    from vendorportal.api import tokens as api_tokens

    _, secret = api_tokens.token_create(name="mine", vendor=vendor_a, user=amos)
    _, read_only = api_tokens.token_create(name="ro", vendor=vendor_a, user=amos, read_only=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    answer = client.get("/api/v1/me/notifications", **auth)
    assert answer.status_code == 200
    kinds = {k["kind"]: k for k in answer.json()["kinds"]}
    assert kinds["order_revised"] == {
        "kind": "order_revised",
        "label": "Changed orders",
        "delivery": "at_once",
        "own_choice": False,
    }
    assert "proposal" not in kinds  # a buyer's kind
    body = {"time_zone": "Asia/Tokyo", "kinds": [{"kind": "payment", "delivery": "off"}]}
    answer = client.put("/api/v1/me/notifications", body, content_type="application/json", **auth)
    assert answer.status_code == 200
    assert {k["kind"]: k["delivery"] for k in answer.json()["kinds"]}["payment"] == "off"
    assert answer.json()["time_zone"] == "Asia/Tokyo"
    assert not NotificationPreference.objects.filter(user=alice).exists()  # only its own

    def refused(body: dict, status: int, field: str, headers: dict = auth) -> None:
        before = list(NotificationPreference.objects.values_list("kind", "delivery"))
        answer = client.put(
            "/api/v1/me/notifications", body, content_type="application/json", **headers
        )
        assert answer.status_code == status, answer.content
        assert field in answer.content.decode()
        assert list(NotificationPreference.objects.values_list("kind", "delivery")) == before

    refused({"kinds": [{"kind": "proposal", "delivery": "off"}]}, 400, "proposal")
    refused({"kinds": [{"kind": "payment", "delivery": "hourly"}]}, 422, "delivery")
    refused({"time_zone": "Mars/Olympus"}, 400, "time_zone")
    refused({"kinds": [], "vendor": 2}, 422, "vendor")
    refused({"kinds": []}, 403, "read-only", {"HTTP_AUTHORIZATION": f"Bearer {read_only}"})


@pytest.mark.django_db
def test_a_buyer_follows_an_order_or_its_vendor_from_the_order_page(
    smtp, client, vendor_a, buyer, alice
):
    other = UserFactory(email="colleague@example.com", role=Role.BUYER)
    order = make_order(vendor=vendor_a, by=buyer)
    client.force_login(other)
    page = client.get(f"/buying/orders/{order.number}/")
    assert b'id="follow-order"' in page.content and b"Follow order" in page.content
    answer = client.post(f"/buying/orders/{order.number}/follow", {"what": "order", "on": "1"})
    assert answer.status_code == 302
    assert Follow.objects.filter(user=other, order=order).exists()
    assert b"Stop following" in client.get(f"/buying/orders/{order.number}/").content
    assert AuditEntry.objects.filter(action="notifications.follow_started").count() == 1
    notifier.run_once()
    smtp.inbox.clear()
    collaboration.comment_add(order=order, by=alice, body="Shipped today.")
    notifier.run_once()
    assert sorted(str(m["To"]) for m in smtp.inbox.messages) == [
        "buyer@example.com",
        "colleague@example.com",
    ]
    client.post(f"/buying/orders/{order.number}/follow", {"what": "order", "on": "0"})
    client.post(f"/buying/orders/{order.number}/follow", {"what": "vendor", "on": "1"})
    assert list(Follow.objects.filter(user=other).values_list("order_id", "vendor_id")) == [
        (None, vendor_a.pk)
    ]
    assert client.post(f"/buying/orders/{order.number}/follow", {"what": "x"}).status_code == 400
    # A supplier has no such page.
    client.force_login(alice)
    assert (
        client.post(f"/buying/orders/{order.number}/follow", {"what": "order"}).status_code == 404
    )


@pytest.mark.django_db
def test_the_workers_tasks_run_without_any_scope(smtp, vendor_a, buyer, alice):
    """The worker process has no request and no scope: its tasks must not depend on one
    (the test suite's own internal scope would hide that)."""
    from django_scopes import scope

    from vendorportal.events.notify import reminders

    order = make_order(vendor=vendor_a, by=buyer)
    collaboration.comment_add(order=order, by=buyer, body="Hello")
    with scope():  # scoping on, and no vendor: any scoped query without its own scope raises
        assert notifier.send_notifications.call()["sent"] >= 1
        assert set(reminders.run_schedule.call()) >= {"acknowledge", "digests"}
    assert smtp.inbox.to("alice@acme.example")
