from django.contrib import admin
from django.urls import include, path

from config.health import healthz, readyz
from crm.bounce_views import mail_bounce
from crm.reconfirmation_views import reconfirm
from crm.views import home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("auth/", include("allauth.urls")),
    # OpenID Connect provider: /.well-known/openid-configuration, jwks.json, /identity/o/...
    path("", include("allauth.idp.urls")),
    path("applications/", include("iam.oidc.urls")),
    path("portal/", include("iam.urls")),
    path("api/", include("api.urls")),
    path("", include("api.staff_urls")),
    path("", include("iam.staff_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("custom-fields/", include("customfields.urls")),
    path("", include("registrations.urls")),
    path("", include("crm.urls")),
    path("", include("invitations.urls")),
    path("", include("analytics.urls")),
    path("reconfirm/<str:token>/", reconfirm, name="reconfirm"),
    path("hooks/mail/bounce", mail_bounce, name="mail_bounce"),
]
