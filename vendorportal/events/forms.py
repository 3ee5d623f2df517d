"""The notification settings form: one choice per kind of the login's side."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from typing import Any

from django import forms

from vendorportal.events.models import Delivery
from vendorportal.events.notify.kinds import Kind

ZONES = sorted(zoneinfo.available_timezones())


class NotificationSettingsForm(forms.Form):
    """`kind:<key>` fields (at once / digest / off); with `with_zone`, the login's zone."""

    def __init__(
        self,
        *args: Any,
        kinds: Iterable[tuple[Kind, Delivery]],
        with_zone: bool = True,
        zone: str = "",
        default_zone: str = "UTC",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = []
        for kind, current in kinds:
            name = f"kind:{kind.key}"
            self.fields[name] = forms.ChoiceField(
                label=kind.label,
                help_text=kind.help,
                choices=Delivery.choices,
                initial=current.value,
                # A kind left out of the post keeps its choice (the page sends them all).
                required=False,
                widget=forms.RadioSelect(attrs={"class": "choice-row"}),
            )
            self.kinds.append(kind)
        if with_zone:
            self.fields["time_zone"] = forms.ChoiceField(
                label="Time zone",
                help_text=f"Dates in your e-mails, and the hour of your daily digest. "
                f"Empty: the portal's ({default_zone}).",
                required=False,
                initial=zone,
                choices=[("", f"The portal's ({default_zone})")] + [(z, z) for z in ZONES],
            )

    def choices(self) -> dict[str, str]:
        return {
            name.removeprefix("kind:"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("kind:") and value
        }

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[f"kind:{kind.key}"] for kind in self.kinds]
