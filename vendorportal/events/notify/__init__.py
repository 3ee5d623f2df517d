"""E-mail notifications: who is told of what, how the message reads, and how it is sent.

- `kinds`: the kinds a login can choose for (at once, in the daily digest, off) and which
  events make each kind, per side (supplier, buyer);
- `recipients`: who hears of an event (never its actor; a supplier never of an internal one);
- `preferences`: each login's choice, the vendor's defaults, and the writes that change them;
- `notifier`: reads the event log through its own cursor and writes one row per recipient
  and event, then sends what is due over SMTP (transient failures retried with backoff,
  permanent ones recorded), run by the background worker;
- `messages`: renders a row into a multipart message in the product's look;
- `tokens`: the signed unsubscribe link and the reply address.
"""
