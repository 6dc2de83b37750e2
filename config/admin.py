"""Django admin is the operations console: superusers and the operations role only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class OpsAdminSite(admin.AdminSite):
    site_header = "Clientele operations"
    site_title = "Clientele admin"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active and user.is_staff and (user.is_superuser or getattr(user, "staff_role", "") == "operations")
        )


class OpsAdminConfig(AdminConfig):
    default_site = "config.admin.OpsAdminSite"
