"""Django admin is the operations console: superusers and the operations role only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from iam.permissions import can_use_admin


class OpsAdminSite(admin.AdminSite):
    site_header = "Clientele operations"
    site_title = "Clientele admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return can_use_admin(request.user)


class OpsAdminConfig(AdminConfig):
    default_site = "config.admin.OpsAdminSite"
