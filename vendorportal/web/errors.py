"""Turning a refused service call into form errors shown next to their field."""

from __future__ import annotations

from django import forms

from vendorportal.errors import DomainError


def add_domain_error(
    form: forms.Form, error: DomainError, aliases: dict[str, str] | None = None
) -> None:
    """Attach `error` to the form field it names (or to the form as a whole)."""
    name = (aliases or {}).get(error.field or "", error.field)
    if name and name in form.fields:
        form.add_error(name, error.message)
    else:
        form.add_error(None, error.message)
