"""`vendorportal mail-in [--recipient ADDRESS] < message`: a reply to a notification becomes
a shared comment on its order (see events/notify/mailin.py).

The mail server pipes each message for the reply address to this command. With Postfix, an
alias (in /etc/aliases, then `newaliases`), replies to portal-reply+...@your.domain:

    portal-reply: "|/srv/vendorportal/.venv/bin/vendorportal mail-in"

(with `recipient_delimiter = +` in main.cf). The exit status tells the mail server what to
do: 0 stored (or an automatic reply ignored), 65/67/77 bounce with the explanation printed
on standard error, 75 try again later.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from vendorportal.events.notify import mailin


class Command(BaseCommand):
    help = "Read one e-mail on standard input and store the reply as a comment on its order."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recipient",
            help="the envelope recipient (Postfix: ${recipient}); otherwise the To header",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = sys.stdin.buffer.read(settings.MAIL_IN_MAX_BYTES + 1)
        try:
            outcome = mailin.receive(raw, envelope_recipient=options.get("recipient"))
        except mailin.Refused as refused:
            self.stderr.write(f"Vendor Portal did not accept this reply: {refused.reason}")
            sys.exit(refused.status)
        except DatabaseError:
            self.stderr.write("Vendor Portal cannot store replies right now; try again later.")
            sys.exit(mailin.EX_TEMPFAIL)
        if outcome.comment_id is None:
            self.stdout.write(f"Ignored an automatic reply about {outcome.order_number}.")
        else:
            self.stdout.write(f"Comment added to {outcome.order_number} by {outcome.author}.")
