"""Replies become comments (issue 15): `vendorportal mail-in` reads one message; a valid
reply token and a matching sender store the reply's new text as a shared comment."""

from __future__ import annotations

import io
import sys
from email.message import EmailMessage

import pytest
from django.core.management import call_command

from tests.factories import make_order
from tests.smtp import parts
from vendorportal.audit.models import AuditEntry, Channel
from vendorportal.collaboration import services as collaboration
from vendorportal.collaboration.models import Comment
from vendorportal.events.notify import mailin, notifier, tokens

QUOTED = (
    "Yes, we can ship on Friday.\n"
    "Best regards,\nAlice\n\n"
    "On Mon, 30 Nov 2026 at 09:30, Vendor Portal <portal@localhost> wrote:\n"
    "> Bea commented on order PO-100001:\n"
    "> Can you ship on Friday?\n"
)


def _reply(to: str, sender: str = "alice@acme.example", body: str = QUOTED, **headers) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = to
    message["Subject"] = "Re: PO-100001: comment from Bea"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def thread(smtp, vendor_a, buyer, alice, amos):
    """An order, a buyer's comment, and the Reply-To of the message Alice received."""
    order = make_order(vendor=vendor_a, by=buyer)
    notifier.run_once()
    smtp.inbox.clear()
    collaboration.comment_add(order=order, by=buyer, body="Can you ship on Friday?")
    notifier.run_once()
    (message,) = smtp.inbox.to("alice@acme.example")
    smtp.inbox.clear()
    return order, str(message["Reply-To"])


@pytest.mark.django_db
def test_a_reply_becomes_a_shared_comment_with_only_its_new_text(smtp, thread, alice, buyer):
    order, reply_to = thread
    outcome = mailin.receive(_reply(reply_to))
    comment = Comment.objects.get(pk=outcome.comment_id)
    assert (comment.order_id, comment.author_id, comment.internal) == (order.pk, alice.pk, False)
    assert comment.body.startswith("Yes, we can ship on Friday.")
    assert "wrote:" not in comment.body and "Can you ship" not in comment.body
    entry = AuditEntry.objects.get(action="comment.added", actor=alice)
    assert entry.channel == Channel.EMAIL
    # The buyer hears of it like of any supplier comment.
    notifier.run_once()
    (told,) = smtp.inbox.to("buyer@example.com")
    assert "Yes, we can ship on Friday." in parts(told)[0]


@pytest.mark.django_db
def test_an_html_only_reply_is_read_as_text(thread, alice):
    _order, reply_to = thread
    message = EmailMessage()
    message["From"] = "alice@acme.example"
    message["To"] = reply_to
    message["Subject"] = "Re: comment"
    message.set_content("<p>Friday works.</p><blockquote>old</blockquote>", subtype="html")
    outcome = mailin.receive(message.as_bytes())
    assert Comment.objects.get(pk=outcome.comment_id).body.startswith("Friday works.")


def _refused(raw: bytes, status: int, words: str) -> None:
    before = Comment.objects.count()
    with pytest.raises(mailin.Refused) as refused:
        mailin.receive(raw)
    assert refused.value.status == status
    assert words in refused.value.reason
    assert Comment.objects.count() == before


@pytest.mark.django_db
def test_a_forged_or_missing_token_is_refused(thread):
    _order, reply_to = thread
    local, domain = reply_to.split("@")
    forged = local[:-4] + ("0000" if not local.endswith("0000") else "1111") + "@" + domain
    _refused(_reply(forged), mailin.EX_NOUSER, "not valid")
    _refused(_reply("portal-reply@localhost"), mailin.EX_NOUSER, "carries no reply token")


@pytest.mark.django_db
def test_another_sender_is_refused(thread):
    _order, reply_to = thread
    _refused(_reply(reply_to, sender="bob@bolt.example"), mailin.EX_NOPERM, "another sender")


@pytest.mark.django_db
def test_too_large_attachments_and_quoted_only_replies_are_refused(thread, settings):
    _order, reply_to = thread
    settings.MAIL_IN_MAX_BYTES = 2000
    _refused(_reply(reply_to, body="x" * 3000), mailin.EX_DATAERR, "at most 1 KB")
    settings.MAIL_IN_MAX_BYTES = 1_000_000
    message = EmailMessage()
    message["From"] = "alice@acme.example"
    message["To"] = reply_to
    message.set_content("See the drawing.")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="d.pdf")
    _refused(message.as_bytes(), mailin.EX_DATAERR, "Attachments are not accepted")
    _refused(
        _reply(reply_to, body="On Mon, Bea wrote:\n> Can you ship on Friday?\n"),
        mailin.EX_DATAERR,
        "no text of its own",
    )


@pytest.mark.django_db
def test_a_deactivated_login_and_an_automatic_reply_write_nothing(thread, alice):
    _order, reply_to = thread
    outcome = mailin.receive(
        _reply(reply_to, body="I am out of office.", Auto_Submitted="auto-replied")
    )
    assert outcome.comment_id is None
    assert not Comment.objects.filter(author=alice).exists()
    alice.is_active = False
    alice.save()
    _refused(_reply(reply_to), mailin.EX_NOUSER, "no longer exists")


@pytest.mark.django_db
def test_the_command_reads_standard_input_and_exits_as_a_mail_server_expects(
    thread, alice, monkeypatch, capsys
):
    order, reply_to = thread

    def run(raw: bytes) -> int:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
        try:
            call_command("mail-in")
        except SystemExit as exit_:
            return int(exit_.code or 0)
        return 0

    assert run(_reply(reply_to)) == 0
    assert f"Comment added to {order.number} by alice@acme.example" in capsys.readouterr().out
    assert run(_reply(reply_to, sender="mallory@evil.example")) == mailin.EX_NOPERM
    assert "did not accept this reply" in capsys.readouterr().err
    assert Comment.objects.filter(author=alice).count() == 1


def test_the_reply_address_is_made_for_one_recipient_and_order(settings):
    settings.NOTIFY_REPLY_ADDRESS = "portal-reply@portal.example"
    address = tokens.reply_address(12, 345)
    assert address.startswith("portal-reply+r12-345-") and address.endswith("@portal.example")
    assert tokens.reply_read(address.upper()) == (12, 345)  # mail systems may change case
    with pytest.raises(tokens.BadToken):
        tokens.reply_read(address.replace("r12-345", "r13-345"))
