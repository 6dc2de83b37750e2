from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from cases.inbound_views import mail_inbound
from config.health import healthz, readyz
from crm.bounce_views import mail_auto_reply, mail_bounce
from crm.reconfirmation_views import reconfirm, reconfirm_correct
from crm.views import home


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: the hashed name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("auth/", include("allauth.urls")),
    # OpenID Connect provider: /.well-known/openid-configuration, jwks.json, /identity/o/...
    path("", include("allauth.idp.urls")),
    path("applications/", include("iam.oidc.urls")),
    path("portal/access-review/", include("reviews.urls")),
    path("", include("reviews.staff_urls")),
    path("portal/", include("iam.urls")),
    path("api/", include("api.urls")),
    path("", include("api.staff_urls")),
    path("", include("iam.staff_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("custom-fields/", include("customfields.urls")),
    path("automation/", include("workflows.urls")),
    path("teams/", include("territories.urls")),
    path("", include("registrations.urls")),
    path("", include("crm.urls")),
    path("", include("invitations.urls")),
    path("", include("analytics.urls")),
    path("imports/", include("imports.urls")),
    path("duplicates/", include("dedup.urls")),
    path("exports/", include("exports.urls")),
    path("reconfirm/<str:token>/", reconfirm, name="reconfirm"),
    path("reconfirm/<str:token>/correct/", reconfirm_correct, name="reconfirm_correct"),
    path("hooks/mail/bounce", mail_bounce, name="mail_bounce"),
    path("search/", include("search.urls")),
    path("views/", include("savedviews.urls")),
    path("cases/setup/", include("cases.setup_urls")),
    path("cases/", include("cases.urls")),
    path("portal/cases/", include("cases.portal_urls")),
    path("portal/help/", include("knowledge.portal_urls")),
    path("knowledge/", include("knowledge.urls")),
    path("hooks/mail/inbound", mail_inbound, name="mail_inbound"),
    # Browsers ask for /favicon.ico whatever the page says; answer rather than log a 404 on every page.
    path("favicon.ico", favicon, name="favicon"),
    path("notifications/", include("notifications.urls")),
    # Automatic replies as JSON ({"from", "subject", "body"}): "no longer with the company" marks a contact left.
    path("hooks/mail/auto-reply", mail_auto_reply, name="mail_auto_reply"),
]
