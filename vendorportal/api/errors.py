"""One error body for every refusal the API gives: `{"error": {code, message, details}}`.

Services refuse with `DomainError`; its code decides the status (a foreign or missing
object is 404 with the same words, a stale acknowledgement 409 naming the current
revision) and its field goes in `details`, so an API client reads the same message a
person reads on the screen.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from vendorportal.core import request_guard
from vendorportal.errors import DomainError

logger = logging.getLogger("vendorportal.api")

STATUS_OF_CODE = {
    "not_found": 404,
    "forbidden": 403,
    "read_only": 403,
    "stale_revision": 409,
    "already_acknowledged": 409,
    "conflict": 409,
    "too_large": 413,  # a file over ATTACHMENT_MAX_MB (the edge's answer, from the service)
}


class ErrorDetail(Schema):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(Schema):
    error: ErrorDetail


def body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class ApiRefusal(Exception):
    """A refusal of the API layer itself (not of a service), e.g. a read-only token."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def install(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, payload: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, payload, status=status)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        details = {"field": exc.field} if exc.field else {}
        return respond(
            request, STATUS_OF_CODE.get(exc.code, 400), body(exc.code, exc.message, **details)
        )

    @api.exception_handler(ApiRefusal)
    def refusal(request: HttpRequest, exc: ApiRefusal) -> HttpResponse:
        response = respond(request, exc.status, body(exc.code, exc.message, **exc.details))
        if "retry_after" in exc.details:
            response["Retry-After"] = str(exc.details["retry_after"])
        return response

    @api.exception_handler(RequestDataTooBig)
    def too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        # Normally refused before the API (core/request_guard.py); this is the backstop.
        return respond(request, 413, body("too_large", "The request body is too large."))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # ninja answers a plain-text traceback in DEBUG and Django's HTML page otherwise: an
        # API client gets its error body either way, and the traceback goes to the log only.
        logger.error("Unhandled error in %s %s", request.method, request.path, exc_info=exc)
        return respond(
            request,
            500,
            body("internal_error", "The server could not answer this request; it is logged."),
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, body("not_found", str(exc) or "Not found."))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request,
            401,
            body(
                "unauthenticated",
                "Send a valid API token: 'Authorization: Bearer vpt_…'. "
                "It may be unknown, revoked, or its login deactivated.",
            ),
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        problems = [
            {"field": _field_of(error.get("loc", ())), "message": error.get("msg", "Invalid.")}
            for error in exc.errors
        ]
        first = problems[0] if problems else {"field": "body", "message": "Invalid."}
        return respond(
            request,
            422,
            body(
                "invalid",
                f"{first['field']}: {first['message']}",
                field=first["field"],
                problems=problems,
            ),
        )

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        wait = max(1, int(exc.wait or 1))
        response = respond(
            request,
            429,
            body("rate_limited", f"Too many requests; retry in {wait} s.", retry_after=wait),
        )
        response["Retry-After"] = str(wait)
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja wraps whatever the body parser raises in a bare 400; the parser's own
        # refusal (api/parser.py) says what is wrong and where.
        if isinstance(exc.__cause__, request_guard.Refused):
            return respond(request, exc.__cause__.status, request_guard.error_body(exc.__cause__))
        return respond(request, exc.status_code, body("error", str(exc)))


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    """("body", "payload", "revision") -> "revision": the name the client sent."""
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    if parts and parts[0] in {"payload", "filters"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


# The error answers every operation may give, for the schema.
# 400 and 413 come from the edge (core/request_guard.py: NUL bytes, body size) on any
# operation; 415 and 400 from the strict JSON parser on those with a body.
COMMON_ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
