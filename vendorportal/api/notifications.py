"""A login's own notification settings: `GET` and `PUT /api/v1/me/notifications`.

The same rules as the settings page (events.notify.preferences): a kind of the other side
or an unknown time zone is refused with 400 naming it, and nothing changes.

(No `from __future__ import annotations`: django-ninja reads these signatures at import.)
"""

from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Router

from vendorportal.api.auth import caller
from vendorportal.api.errors import COMMON_ERRORS, ErrorOut
from vendorportal.api.schemas import In
from vendorportal.events.notify import preferences
from vendorportal.events.notify.kinds import KINDS

router = Router(tags=["notifications"])

KindKey = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Choice = Literal["at_once", "digest", "off"]


class KindSetting(In):
    kind: KindKey  # type: ignore[valid-type]
    delivery: Choice


class KindSettingOut(KindSetting):
    label: str
    own_choice: bool = Field(description="False: the vendor's default or the kind's applies.")


class NotificationSettingsOut(In):
    time_zone: str = Field(description="Empty: the portal's time zone.")
    portal_time_zone: str
    digest_hour: int
    kinds: list[KindSettingOut]


class NotificationSettingsIn(In):
    time_zone: str | None = Field(
        None,
        description="An IANA time zone (Europe/Berlin), or empty for the portal's.",
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]*$",
    )
    kinds: list[KindSetting] = Field(default_factory=list, max_length=len(KINDS))


def _answer(user: Any) -> dict[str, Any]:
    return {
        "time_zone": user.time_zone,
        "portal_time_zone": settings.TIME_ZONE,
        "digest_hour": settings.DIGEST_HOUR,
        "kinds": [
            {"kind": k.key, "label": k.label, "delivery": d.value, "own_choice": own}
            for k, d, own in preferences.settings_of(user)
        ],
    }


@router.get(
    "/me/notifications",
    response={200: NotificationSettingsOut, **COMMON_ERRORS},
    summary="Your notification settings",
)
def get_settings(request: HttpRequest) -> dict[str, Any]:
    """What the token's login gets by e-mail, per kind: at once, in the daily digest, off."""
    with caller(request) as viewer:
        return _answer(viewer.user)


@router.put(
    "/me/notifications",
    response={200: NotificationSettingsOut, **COMMON_ERRORS, 403: ErrorOut},
    summary="Change your notification settings",
)
def put_settings(request: HttpRequest, payload: NotificationSettingsIn) -> dict[str, Any]:
    """Set the given kinds (others keep their choice) and, if given, the time zone."""
    with caller(request, write=True) as viewer:
        preferences.preferences_set(
            user=viewer.user,
            choices={item.kind: item.delivery for item in payload.kinds},
            time_zone=payload.time_zone,
            by=viewer.user,
        )
        return _answer(viewer.user)
