"""Operations can inspect snapshots and reconfirmation runs; both are written only by the jobs."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import DataHealthSnapshot, ReconfirmationRun
from core.admin import ReadOnlyAdmin


@admin.register(DataHealthSnapshot)
class DataHealthSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["day", "fresh", "ageing", "stale", "portal_users", "taken_at"]
    date_hierarchy = "day"


@admin.register(ReconfirmationRun)
class ReconfirmationRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "requested_by", "account", "owner", "status", "sent", "invited", "skipped"]
    list_filter = ["status"]
    list_select_related = ["requested_by", "account", "owner"]
    raw_id_fields = ["account", "owner", "requested_by"]
