"""What a request must be before any view reads it: the checks at the edge.

A probe of the demo found requests that reached a view and failed there with a 500: bodies
over Django's 2.5 MB read limit, NUL bytes (PostgreSQL refuses them in text), JSON sent as
`text/plain`, duplicate JSON keys (the last one silently won). They are refused here, for
every entrance, with a 4xx that names the problem: on the API the error body it documents
(`{"error": {code, message, details}}`), elsewhere the product's error page.

- Bodies: `API_MAX_BODY_BYTES` on `/api/` (a batch of 1,000 orders of 12 lines is 4.4 MB;
  the default of 32 MB fits 1,000 orders of about 80 lines), `WEB_MAX_BODY_BYTES` for pages
  and forms (1 MB; a comment is at most 5,000 characters). Larger: 413.
- Attachment uploads (POST to a path ending in `/attachments`, and to the supplier's
  invoice form `/portal/orders/<number>/invoice`, which takes its invoice document):
  `ATTACHMENT_MAX_MB` plus 1 MB for the form around the file; larger is refused naming the
  `file` field. A file between the limit and the margin reaches its service, which refuses
  it the same way.
- A multipart body names its boundary (else 400, not the parser's crash).
- Query strings and form fields: no NUL (Django's form fields refuse it too, but list
  filters read query values directly).
- API bodies (`parse_json`, the API's parser, so after authentication): `application/json`
  (or `+json`) in UTF-8, no duplicate keys, no NUL and no unpaired surrogates in any key or
  string (they cannot be stored in PostgreSQL text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

API_PREFIX = "/api/"
BODY_METHODS = {"POST", "PUT", "PATCH"}
# The routes that take a file (web and API): see the module docstring.
UPLOAD_PATH = re.compile(
    r"^/(?:(?:portal|buying|api/v1)/[^?#]+/attachments|portal/orders/[^/?#]+/invoice)$"
)
UPLOAD_FORM_MARGIN = 1024 * 1024


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path_info.startswith(API_PREFIX)
        try:
            check(request, api=api)
        except Refused as refusal:
            return respond(request, refusal, api=api)
        return self.get_response(request)


def check(request: HttpRequest, *, api: bool) -> None:
    """Size and NUL checks, before authentication: they are about the transport."""
    limit = settings.API_MAX_BODY_BYTES if api else settings.WEB_MAX_BODY_BYTES
    upload = request.method == "POST" and bool(UPLOAD_PATH.match(request.path_info))
    if upload:
        upload_limit = settings.ATTACHMENT_MAX_MB * 1024 * 1024
        limit = max(limit, upload_limit + UPLOAD_FORM_MARGIN)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "invalid", "Content-Length is not a number.") from None
    too_large = (
        Refused(413, "too_large", upload_too_large(settings.ATTACHMENT_MAX_MB), field="file")
        if upload
        else Refused(413, "too_large", _too_large(limit))
    )
    if length > limit:
        raise too_large
    # No Content-Length (a chunked body): Django's read limit only looks at the header, so
    # the body is read and measured here.
    if not length and request.method in BODY_METHODS and len(request.body) > limit:
        raise too_large
    # Django cannot split a multipart body without its boundary (it raises when the form
    # is read): refuse it here, as the malformed header it is.
    multipart = request.content_type == "multipart/form-data"
    boundary = (request.content_params or {}).get("boundary")
    if multipart and request.method in BODY_METHODS and not boundary:
        raise Refused(
            400,
            "invalid",
            "Content-Type: multipart/form-data needs a boundary.",
            field="Content-Type",
        )
    if "\x00" in request.path_info:
        # No address with a NUL names anything here.
        raise Refused(404, "not_found", "There is nothing at this address.", field="path")
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise Refused(400, "invalid", f"{name}: contains a NUL character.", field=name)


def parse_json(request: HttpRequest) -> Any:
    """An API body as JSON, strictly (called by the API's parser, after authentication)."""
    content_type = request.content_type or ""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Refused(
            415,
            "unsupported_media_type",
            f"Send the body as JSON with 'Content-Type: application/json' "
            f"(not {content_type or 'no content type'}).",
            field="body",
        )
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "invalid", "The body is not UTF-8.", field="body") from None
    try:
        data = json.loads(text, object_pairs_hook=_object_without_duplicates)
    except _Duplicate as duplicate:
        raise Refused(
            400, "invalid", f"{duplicate.key}: appears twice in one object.", field=duplicate.key
        ) from None
    except ValueError as exc:
        raise Refused(
            400, "invalid", f"The body is not valid JSON ({exc}).", field="body"
        ) from None
    problem = _unstorable(data, "body")
    if problem is not None:
        where, what = problem
        raise Refused(400, "invalid", f"{where}: contains {what}.", field=where)
    return data


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(key)
        result[key] = value
    return result


def _unstorable(value: Any, where: str) -> tuple[str, str] | None:
    """The first place in parsed JSON that holds a NUL or an unpaired surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            return where, "a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where, "an unpaired surrogate (\\ud800-\\udfff)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable(key, where) or _unstorable(item, f"{where}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, f"{where}.{index}")
            if found:
                return found
    return None


def upload_too_large(limit_mb: int) -> str:
    """The one message for a file over the limit (the guard's and the service's)."""
    return f"file: larger than the {limit_mb} MB limit for attachments; send a smaller file."


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit // (1024 * 1024)} MB; send less at once."


def error_body(refusal: Refused) -> dict[str, Any]:
    details = {"field": refusal.field} if refusal.field else {}
    return {"error": {"code": refusal.code, "message": refusal.message, "details": details}}


def respond(request: HttpRequest, refusal: Refused, *, api: bool) -> HttpResponse:
    if api:
        return JsonResponse(error_body(refusal), status=refusal.status)
    template = f"{refusal.status}.html" if refusal.status in (400, 404, 413) else "400.html"
    body = loader.render_to_string(template, {"refusal": refusal.message}, request=request)
    return HttpResponse(body, status=refusal.status)
