"""Path converters for identifiers that appear in page addresses.

New order numbers follow `purchasing.rules.identifier` (no `/`, no spaces), but rows from
before that rule, or from a back door, may hold anything. With Django's `str` converter one
such number made every list that links to it answer 500 (NoReverseMatch). `OrderNumber`
percent-encodes the whole value instead, so any number has a working link, and decodes it
on the way in; a rule-abiding number reads the same either way.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from django.urls import register_converter


class OrderNumber:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        if value.strip(".") == "":  # "." and ".." would be read as path steps
            return "%2E" * len(value)
        return quote(str(value), safe="")


def path_segment(number: str) -> str:
    """The number as `reverse()` puts it in a path (its quoted `to_url`), for pages that
    build many links from one reversed prefix."""
    return quote(OrderNumber().to_url(number), safe="")


# Registered once, on import, by the URL modules that use it: `<number:number>`.
register_converter(OrderNumber, "number")
