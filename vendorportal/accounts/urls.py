"""/portal/team/: a vendor admin's colleagues and invitations, and the invitation link.

Included from `vendorportal.portal.urls`, so names are `portal:team:<name>`.
"""

from __future__ import annotations

from django.urls import path

from vendorportal.accounts import views

app_name = "team"

urlpatterns = [
    path("", views.team, name="members"),
    path("invite", views.invite, name="invite"),
    path("mfa/", views.vendor_mfa, name="mfa"),
    path("<uuid:public_id>/deactivate", views.deactivate, name="deactivate"),
    path("<uuid:public_id>/reactivate", views.reactivate, name="reactivate"),
    path("invitations/<uuid:public_id>/revoke", views.invitation_revoke, name="invitation-revoke"),
    path("accept/<str:token>/", views.accept, name="accept"),
]
