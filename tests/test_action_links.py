"""One-click actions from a message (issue 15): signed for one recipient, object and
revision; single-use; expiring; GET never writes; refused with a page that says why."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from tests.factories import make_order
from tests.smtp import parts
from vendorportal.audit.models import AuditEntry, Channel
from vendorportal.collaboration.models import Acknowledgement
from vendorportal.events.models import ActionLinkUse
from vendorportal.events.notify import actions, notifier, reminders
from vendorportal.purchasing import services


def _revise(order, buyer, day: int = 22):
    return services.order_revise(
        order=order,
        changes=[services.SetDelivery(10, 1, "due_date", dt.date(2026, 12, day))],
        by=buyer,
    )


def _accept_link(smtp, address: str, revision: int) -> str:
    message = smtp.inbox.to(address)[-1]
    text = parts(message)[0]
    match = re.search(rf"Accept revision {revision}: (http://portal\.test/a/\S+)", text)
    assert match, text
    return urlsplit(match.group(1)).path


@pytest.mark.django_db
def test_the_revision_message_accepts_in_one_step_once(smtp, vendor_a, buyer, alice):
    order = make_order(vendor=vendor_a, by=buyer)
    _revise(order, buyer)
    notifier.run_once()
    path = _accept_link(smtp, "alice@acme.example", 2)
    browser = Client(enforce_csrf_checks=True)  # no login: the link proves the mailbox

    page = browser.get(path)
    assert page.status_code == 200 and b"Accept revision 2 of order" in page.content
    assert not Acknowledgement.objects.exists()  # GET never writes
    token = page.cookies["csrftoken"].value
    refused = browser.post(path)  # without the CSRF token
    assert refused.status_code == 403 and not Acknowledgement.objects.exists()

    done = browser.post(path, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and b"Revision 2 of order" in done.content
    ack = Acknowledgement.objects.get()
    assert (ack.revision, ack.response, ack.user_id) == (2, "accepted", alice.pk)
    entry = AuditEntry.objects.get(action="acknowledgement.recorded")
    assert (entry.channel, entry.actor_id) == (Channel.EMAIL, alice.pk)

    again = browser.post(path, {"csrfmiddlewaretoken": token})
    assert again.status_code == 400 and b"used already" in again.content
    assert Acknowledgement.objects.count() == 1


@pytest.mark.django_db
def test_a_stale_revision_is_refused_as_on_the_order_page_and_the_link_is_not_spent(
    smtp, vendor_a, buyer, alice
):
    order = make_order(vendor=vendor_a, by=buyer)
    _revise(order, buyer)
    notifier.run_once()
    path = _accept_link(smtp, "alice@acme.example", 2)
    _revise(order, buyer, day=29)  # revision 3
    answer = Client().post(path)
    assert answer.status_code == 400
    assert b"Revision 2 of" in answer.content and b"no longer current" in answer.content
    assert not Acknowledgement.objects.exists() and not ActionLinkUse.objects.exists()


@pytest.mark.django_db
def test_a_forwarded_link_acts_only_as_its_recipient(smtp, vendor_a, vendor_b, buyer, alice, bob):
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    path = _accept_link(smtp, "alice@acme.example", 1)
    forwarded = Client()
    forwarded.force_login(bob)  # another vendor's login follows Alice's link
    answer = forwarded.post(path)
    assert answer.status_code == 200
    ack = Acknowledgement.objects.get()
    assert (ack.user_id, ack.vendor_id) == (alice.pk, vendor_a.pk)
    assert b"Recorded as Alice (alice@acme.example)" in answer.content
    assert order.number.encode() in answer.content


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["tampered", "expired", "another_use", "deactivated", "a_buyer"])
def test_a_bad_link_is_refused_with_a_page_that_says_why_and_writes_nothing(
    case, vendor_a, buyer, alice, amos
):
    order = make_order(vendor=vendor_a, by=buyer)
    user = alice
    token = actions.token_for(alice.pk, actions.ACKNOWLEDGE, order.pk, 1)
    reason = b"not valid"
    if case == "tampered":
        other = actions.token_for(amos.pk, actions.ACKNOWLEDGE, order.pk, 1)
        token = other.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]
    elif case == "expired":
        with time_machine.travel(timezone.now() - dt.timedelta(days=15), tick=False):
            token = actions.token_for(alice.pk, actions.ACKNOWLEDGE, order.pk, 1)
        reason = b"expired"
    elif case == "another_use":  # an unsubscribe token is not an action token
        token = signing.dumps(
            {"u": alice.pk, "k": "comment"}, salt="vendorportal.notify.unsubscribe"
        )
    elif case == "deactivated":
        alice.is_active = False
        alice.save()
        reason = b"no longer active"
    elif case == "a_buyer":
        user = buyer
        token = actions.token_for(buyer.pk, actions.ACKNOWLEDGE, order.pk, 1)
        reason = b"no longer active"
    for method in ("get", "post"):
        answer = getattr(Client(), method)(f"/a/{token}/")
        assert answer.status_code == 400, (case, method)
        assert b"This link does not work" in answer.content and reason in answer.content
    assert not Acknowledgement.objects.exists()
    assert not ActionLinkUse.objects.exists()
    assert user.pk


@pytest.mark.django_db
def test_the_due_date_reminder_confirms_a_delivery_in_one_step(
    smtp, settings, vendor_a, buyer, alice
):
    settings.DUE_REMINDER_DAYS = 3
    order = make_order(vendor=vendor_a, by=buyer, due=timezone.localdate() + dt.timedelta(days=2))
    notifier.run_once()
    smtp.inbox.clear()
    reminders.run()
    notifier.send_due()
    text = parts(smtp.inbox.to("alice@acme.example")[0])[0]
    match = re.search(r"Confirm line 10 delivery 1 for [^:]+: (http://portal\.test/a/\S+)", text)
    assert match, text
    answer = Client().post(urlsplit(match.group(1)).path)
    assert answer.status_code == 200 and b"is confirmed for its due date" in answer.content
    delivery = order.deliveries.get()
    assert delivery.promised_date == delivery.due_date
    entry = AuditEntry.objects.get(action="delivery.confirmed")
    assert (entry.channel, entry.actor_id) == (Channel.EMAIL, alice.pk)
