from django.contrib import admin
from django.urls import include, path

from apps.accounts import views as account_views
from escalportal import views as portal

urlpatterns = [
    path("", portal.home, name="home"),
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("healthz", portal.healthz, name="healthz"),
    path("account/", include("apps.accounts.urls")),
    path("audit/", include("apps.audit.urls")),
    path("exports/", include("apps.exports.urls")),
    path("timers/", include("apps.timers.urls")),
    path("contacts/", include("apps.contacts.urls")),
    path("policies/", include("apps.policies.urls")),
    path("escalations/", include("apps.escalations.urls")),
    path("approvals/", include("apps.approvals.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("protection/", include("apps.protection.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "apps.common.views.bad_request"
handler403 = "escalportal.views.permission_denied"
handler404 = "escalportal.views.not_found"
