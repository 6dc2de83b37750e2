from django.contrib import admin
from django.urls import include, path

from config.health import healthz, readyz
from crm.views import home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("auth/", include("allauth.urls")),
    path("portal/", include("iam.urls")),
    path("api/", include("api.urls")),
    path("", include("api.staff_urls")),
    path("", include("iam.staff_urls")),
    path("", include("crm.urls")),
    path("", include("invitations.urls")),
]
