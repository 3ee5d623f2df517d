"""The JSON API, version 1: `/api/v1/`, schema at `/api/v1/openapi.json`, docs at
`/api/v1/docs`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Swagger
from ninja.renderers import BaseRenderer

from vendorportal.api import errors
from vendorportal.api.attachments import router as attachments_router
from vendorportal.api.auth import TokenAuth, TokenRateThrottle
from vendorportal.api.endpoints import router
from vendorportal.api.invoicing import router as invoicing_router
from vendorportal.api.notifications import router as notifications_router
from vendorportal.api.parser import StrictJsonParser
from vendorportal.api.schemas import render_json
from vendorportal.api.shipments import router as shipments_router
from vendorportal.api.sync import router as sync_router


class JsonRenderer(BaseRenderer):
    """ninja's JSON renderer with orjson: the same values (ninja's encoder writes the
    decimals, dates and times), written compactly, in a fraction of the time."""

    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return render_json(data)


api = NinjaAPI(
    title="Vendor Portal API",
    version="1",
    description=(
        "Purchase orders, delivery schedules, receipts and invoices, for a supplier's own "
        "systems (vendor tokens: exactly what the portal shows that supplier) and for the "
        "buying company's ERP (integration tokens).\n\n"
        "Authenticate with `Authorization: Bearer vpt_…`; cookies are ignored. Every error "
        'answers `{"error": {"code", "message", "details"}}`. Lists are paged with an '
        "opaque `cursor`."
    ),
    urls_namespace="api-v1",
    auth=TokenAuth(),
    throttle=[TokenRateThrottle()],
    docs_url="/docs",
    # Swagger UI from /static/ninja/ ("ninja" is an installed app); no online validator
    # badge, which would load an image from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    openapi_url="/openapi.json",
    parser=StrictJsonParser(),
    renderer=JsonRenderer(),
)
errors.install(api)
api.add_router("/", router)
api.add_router("/sync", sync_router)
api.add_router("/", notifications_router)
api.add_router("/", shipments_router)
api.add_router("/", invoicing_router)
api.add_router("/", attachments_router)
