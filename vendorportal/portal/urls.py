"""/portal/: the supplier's screens. Every view requires an active vendor login."""

from __future__ import annotations

from django.urls import include, path

from vendorportal.api import views as api_views
from vendorportal.events import stream
from vendorportal.portal import invoicing, shipments, views
from vendorportal.web import attachments as files
from vendorportal.web import converters  # noqa: F401 - registers <number:...>
from vendorportal.web import views as shared
from vendorportal.web.access import supplier_view
from vendorportal.web.decorators import on_side

app_name = "portal"
side = on_side("portal", supplier_view)

urlpatterns = [
    path("", views.home, name="home"),
    path("open-lines/", side(shared.open_lines), name="open-lines"),
    path("open-lines.csv", side(shared.open_lines_export, fmt="csv"), name="open-lines-csv"),
    path("open-lines.xlsx", side(shared.open_lines_export, fmt="xlsx"), name="open-lines-xlsx"),
    path("orders/", side(shared.orders_list), name="orders"),
    path("orders/<number:number>/", views.order_detail, name="order-detail"),
    path("orders/<number:number>/changes/", side(shared.revision_compare), name="revision-compare"),
    path("orders/<number:number>/pdf", side(shared.order_pdf), name="order-pdf"),
    path("orders/<number:number>/acknowledge", views.acknowledge, name="order-acknowledge"),
    path("orders/<number:number>/propose", views.propose, name="order-propose"),
    path(
        "orders/<number:number>/comments",
        side(shared.order_comment, post=True),
        name="order-comment",
    ),
    path(
        "orders/<number:number>/attachments",
        side(files.order_attachment_add, post=True),
        name="order-attachment-add",
    ),
    path(
        "orders/<number:number>/deliveries/<str:delivery_id>/confirm",
        views.delivery_confirm,
        name="delivery-confirm",
    ),
    path(
        "orders/<number:number>/proposals/<str:proposal_id>/withdraw",
        views.proposal_withdraw,
        name="proposal-withdraw",
    ),
    path("orders/<number:number>/ship", shipments.ship_notice_new, name="ship-notice-new"),
    path("orders/<number:number>/invoice", invoicing.order_invoice_new, name="order-invoice"),
    path("ship-notices/", side(shared.ship_notices_list), name="ship-notices"),
    path("ship-notices/<str:pk>/", side(shared.ship_notice_detail), name="ship-notice-detail"),
    path(
        "ship-notices/<str:pk>/packing-slip.pdf",
        side(shared.ship_notice_packing_slip),
        name="ship-notice-packing-slip",
    ),
    path("ship-notices/<str:pk>/edit", shipments.ship_notice_edit, name="ship-notice-edit"),
    path("ship-notices/<str:pk>/submit", shipments.ship_notice_submit, name="ship-notice-submit"),
    path("ship-notices/<str:pk>/cancel", shipments.ship_notice_cancel, name="ship-notice-cancel"),
    path(
        "ship-notices/<str:pk>/attachments",
        side(files.ship_notice_attachment_add, post=True),
        name="ship-notice-attachment-add",
    ),
    path("receipts/", side(shared.receipts_list), name="receipts"),
    path("invoices/", side(shared.invoices_list), name="invoices"),
    path("invoices/<str:pk>/", side(shared.invoice_detail), name="invoice-detail"),
    path("invoices/<str:pk>/withdraw", invoicing.invoice_withdraw, name="invoice-withdraw"),
    path("invoices/<str:pk>/credit-note", invoicing.credit_note_new, name="credit-note-new"),
    path(
        "invoices/<str:pk>/attachments",
        side(files.invoice_attachment_add, post=True),
        name="invoice-attachment-add",
    ),
    path("team/", include("vendorportal.accounts.urls")),
    path("files/<str:public_id>/", side(files.attachment_download), name="attachment-download"),
    path(
        "files/<str:public_id>/delete",
        side(files.attachment_delete, post=True),
        name="attachment-delete",
    ),
    path("events", stream.portal_events, name="events"),
    path("api-tokens/", api_views.token_list, name="api-tokens"),
    path("api-tokens/new", api_views.token_create, name="api-token-create"),
    path("api-tokens/<str:pk>/revoke", api_views.token_revoke, name="api-token-revoke"),
]
