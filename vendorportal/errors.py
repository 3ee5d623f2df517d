"""The one error type every service raises when it refuses a change."""

from __future__ import annotations


class DomainError(Exception):
    """A refused change, with a message a buyer or supplier understands.

    `field` names the input the message is about (a form shows the message beside it; the
    API puts it in `details`). A service raises this before or instead of writing, inside
    its transaction, so a refused change leaves the database untouched.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return self.message
