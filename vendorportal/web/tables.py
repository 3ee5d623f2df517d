"""Sorting, filtering and paging of list pages, kept in the query string so that every
table state is a link (bookmarkable, works without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict

PAGE_SIZES = (50, 100, 500, 1000)
MAX_PAGE = 1_000_000


def with_params(query: QueryDict, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    params = {key: query.getlist(key) for key in query}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = [str(value)]
    return "?" + urlencode(params, doseq=True) if params else "?"


def filled_fields(form: Any) -> int:
    """How many of a filter form's fields the query string sets (the count its folded
    panel shows on a phone: "Filters · 2 active")."""
    return sum(1 for name in form.fields if str(form.data.get(name, "")).strip())


@dataclass(frozen=True)
class Sort:
    key: str  # e.g. "due" or "-due"
    allowed: tuple[str, ...]

    @classmethod
    def from_request(cls, request: HttpRequest, allowed: tuple[str, ...], default: str) -> Sort:
        key = request.GET.get("sort", default)
        if key.lstrip("-") not in allowed:
            key = default
        return cls(key=key, allowed=allowed)

    def link(self, query: QueryDict, key: str) -> tuple[str, str | None]:
        """(href, aria-sort) for a column header."""
        current = self.key.lstrip("-")
        if current != key:
            return with_params(query, sort=key, page=None), None
        descending = self.key.startswith("-")
        next_key = key if descending else f"-{key}"
        return with_params(query, sort=next_key, page=None), (
            "descending" if descending else "ascending"
        )


@dataclass(frozen=True)
class Paging:
    number: int
    size: int
    total: int

    @classmethod
    def from_request(cls, request: HttpRequest, total: int, default_size: int) -> Paging:
        number, size = cls.requested(request, default_size)
        last = max((total + size - 1) // size, 1)
        return cls(number=min(number, last), size=size, total=total)

    @staticmethod
    def requested(request: HttpRequest, default_size: int) -> tuple[int, int]:
        """(page number, page size) as asked for, before the total is known."""
        try:
            size = int(request.GET.get("per_page", default_size))
        except ValueError:
            size = default_size
        if size not in PAGE_SIZES:
            size = default_size
        try:
            number = max(int(request.GET.get("page", 1)), 1)
        except ValueError:  # not a number, or one of thousands of digits
            number = 1
        # Past the end shows the last page; past MAX_PAGE would overflow the database's
        # OFFSET (2^70 answered 500), and no list here has that many pages.
        return min(number, MAX_PAGE), size

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    @property
    def first_row(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
