from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path
from django.views.decorators.http import require_safe

from vendorportal.api.main import api
from vendorportal.events import stream
from vendorportal.events import views as notification_views
from vendorportal.web import attachments as attachment_views

admin.site.site_header = "Vendor Portal back office"
admin.site.site_title = "Vendor Portal"


def _back_office_permission(request: HttpRequest) -> bool:
    # The back office shows internal fields of every vendor: buyers (staff) only, even if a
    # vendor login were ever given staff rights by mistake.
    user = request.user
    return bool(user.is_active and user.is_staff and getattr(user, "is_buyer", False))


admin.site.has_permission = _back_office_permission  # type: ignore[method-assign]


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Send each login to its side of the portal."""
    viewer = getattr(request, "viewer", None)
    if viewer is None:
        return redirect("account_login")
    return redirect("buying:home" if viewer.internal else "portal:home")


urlpatterns = [
    path("", home, name="home"),
    path(
        "accounts/notifications/",
        notification_views.notification_settings,
        name="notifications-settings",
    ),
    path(
        "accounts/notifications/unsubscribe/<str:token>/",
        notification_views.unsubscribe,
        name="notifications-unsubscribe",
    ),
    path("a/<str:token>/", notification_views.action, name="notifications-action"),
    path("files/<str:public_id>/", attachment_views.file_link, name="file-link"),
    path("accounts/", include("allauth.urls")),
    path("portal/", include("vendorportal.portal.urls")),
    path("buying/", include("vendorportal.buying.urls")),
    path("admin/", admin.site.urls),
    path("health/live", stream.live_health, name="health-live"),
    path("api/v1/", api.urls),
]
