"""/buying/: the buyer's workspace. Every view requires a buyer login."""

from __future__ import annotations

from django.urls import path

from vendorportal.audit import views as audit_views
from vendorportal.buying import invoicing, shipments, views
from vendorportal.events import stream
from vendorportal.web import attachments as files
from vendorportal.web import converters  # noqa: F401 - registers <number:...>
from vendorportal.web import views as shared
from vendorportal.web.access import buyer_view
from vendorportal.web.decorators import on_side

app_name = "buying"
side = on_side("buying", buyer_view)

urlpatterns = [
    path("", views.home, name="home"),
    path("open-lines/", side(shared.open_lines), name="open-lines"),
    path("open-lines.csv", side(shared.open_lines_export, fmt="csv"), name="open-lines-csv"),
    path("open-lines.xlsx", side(shared.open_lines_export, fmt="xlsx"), name="open-lines-xlsx"),
    path("orders/", side(shared.orders_list), name="orders"),
    path("orders/<number:number>/", views.order_detail, name="order-detail"),
    path("orders/<number:number>/changes/", side(shared.revision_compare), name="revision-compare"),
    path("orders/<number:number>/pdf", side(shared.order_pdf), name="order-pdf"),
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
    path("orders/<number:number>/issue", views.order_issue, name="order-issue"),
    path("orders/<number:number>/revise", views.order_revise, name="order-revise"),
    path("orders/<number:number>/call-off", views.order_call_off, name="order-call-off"),
    path("orders/<number:number>/close", views.order_close, name="order-close"),
    path("orders/<number:number>/follow", views.order_follow, name="order-follow"),
    path("orders/<number:number>/receive", views.order_receive, name="order-receive"),
    path("orders/<number:number>/invoice", views.order_invoice, name="order-invoice"),
    path(
        "orders/<number:number>/lines/<str:line_number>/release",
        views.line_release,
        name="line-release",
    ),
    path(
        "orders/<number:number>/lines/<str:line_number>/close", views.line_close, name="line-close"
    ),
    path(
        "orders/<number:number>/proposals/<str:proposal_id>/accept",
        views.proposal_accept,
        name="proposal-accept",
    ),
    path(
        "orders/<number:number>/proposals/<str:proposal_id>/reject",
        views.proposal_reject,
        name="proposal-reject",
    ),
    path("ship-notices/", side(shared.ship_notices_list), name="ship-notices"),
    path("ship-notices/<str:pk>/", side(shared.ship_notice_detail), name="ship-notice-detail"),
    path(
        "ship-notices/<str:pk>/packing-slip.pdf",
        side(shared.ship_notice_packing_slip),
        name="ship-notice-packing-slip",
    ),
    path(
        "ship-notices/<str:pk>/receive", shipments.ship_notice_receive, name="ship-notice-receive"
    ),
    path("ship-notices/<str:pk>/close", shipments.ship_notice_close, name="ship-notice-close"),
    path("receipts/", side(shared.receipts_list), name="receipts"),
    path("invoices/", side(shared.invoices_list), name="invoices"),
    path("invoices/<str:pk>/", side(shared.invoice_detail), name="invoice-detail"),
    path("invoices/<str:pk>/pay", views.invoice_pay, name="invoice-pay"),
    path("invoices/<str:pk>/approve", invoicing.invoice_approve, name="invoice-approve"),
    path("invoices/<str:pk>/dispute", invoicing.invoice_dispute, name="invoice-dispute"),
    path("invoices/<str:pk>/resolve", invoicing.invoice_resolve, name="invoice-resolve"),
    path("files/<str:public_id>/", side(files.attachment_download), name="attachment-download"),
    path(
        "files/<str:public_id>/delete",
        side(files.attachment_delete, post=True),
        name="attachment-delete",
    ),
    path("events", stream.buying_events, name="events"),
    path("audit/", audit_views.audit_list, name="audit"),
]
