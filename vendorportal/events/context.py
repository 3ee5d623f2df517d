"""Template context for the live stream: where a page connects, and from which event."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest
from django.urls import reverse

from vendorportal.purchasing import access


class LiveLink:
    """The stream URL of the page's viewer, with `?after=` the newest event the page was
    rendered with, so that whatever commits between rendering and connecting is replayed.

    Lazy: the one query runs only when a template renders the link.
    """

    def __init__(self, viewer: access.Viewer) -> None:
        self.viewer = viewer

    @cached_property
    def url(self) -> str:
        path = reverse("buying:events" if self.viewer.internal else "portal:events")
        newest = access.events(self.viewer).order_by("-id").values_list("id", flat=True).first()
        return f"{path}?after={newest or 0}"


def live(request: HttpRequest) -> dict[str, LiveLink | None]:
    viewer = getattr(request, "viewer", None)
    return {"live": LiveLink(viewer) if viewer is not None else None}
