"""Template context for the live stream: where a page connects, and from which event."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest
from django.urls import reverse

from vendorportal.purchasing import access


def newest_event_id(viewer: access.Viewer) -> int:
    return access.events(viewer).order_by("-id").values_list("id", flat=True).first() or 0


def note_page_start(request: HttpRequest, viewer: access.Viewer) -> None:
    """Remember the viewer's newest event before the view reads anything.

    Read after the page's data instead, an event committing in between would be in
    neither the page nor the replay. The screens' view decorators call this for GETs.
    """
    request.live_after = newest_event_id(viewer)  # type: ignore[attr-defined]


class LiveLink:
    """The stream URL of the page's viewer, with `?after=` the newest event the page was
    rendered with, so that whatever commits between rendering and connecting is replayed.

    `after` is noted before the view runs (`note_page_start`); a page rendered without it
    reads it lazily, when a template renders the link.
    """

    def __init__(self, viewer: access.Viewer, after: int | None = None) -> None:
        self.viewer = viewer
        self.after = after

    @cached_property
    def url(self) -> str:
        path = reverse("buying:events" if self.viewer.internal else "portal:events")
        after = self.after if self.after is not None else newest_event_id(self.viewer)
        return f"{path}?after={after}"


def live(request: HttpRequest) -> dict[str, LiveLink | None]:
    viewer = getattr(request, "viewer", None)
    if viewer is None:
        return {"live": None}
    return {"live": LiveLink(viewer, getattr(request, "live_after", None))}
