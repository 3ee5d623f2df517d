"""The one date input of every form: the browser's date picker where there is one, and
where there is none (an older or text-mode browser, a picker turned off) a text box that
says what to type. Either way the date travels as ISO 8601, YYYY-MM-DD, the only input
the field accepts: "03/04/2027" is the 3rd of April to some and the 4th of March to
others, so it is refused with the format and an example rather than guessed at."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

ISO_FORMAT = "%Y-%m-%d"
SHOWN_FORMAT = "YYYY-MM-DD"
HELP_TEXT = f"Format: {SHOWN_FORMAT}"


class DateWidget(forms.DateInput):
    """`<input type="date">` with the format as placeholder, pattern and title."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={
                "placeholder": SHOWN_FORMAT,
                "pattern": r"\d{4}-\d{2}-\d{2}",
                "title": f"A date as {SHOWN_FORMAT}",
                **(attrs or {}),
            },
            format=ISO_FORMAT,
        )


def date_error() -> str:
    """The error of a date in another format, with today's date as the example."""
    return f"Enter the date as {SHOWN_FORMAT}, e.g. {timezone.localdate():{ISO_FORMAT}}"


class DateField(forms.DateField):
    """A date field that takes ISO dates only, with `DateWidget` and the format as its
    help text (shared/_field.html shows it under the input)."""

    widget = DateWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", HELP_TEXT)
        super().__init__(input_formats=[ISO_FORMAT], **kwargs)

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except forms.ValidationError as error:
            if error.code == "invalid":
                raise forms.ValidationError(date_error(), code="invalid") from None
            raise
