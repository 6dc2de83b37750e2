"""Read-only views for operations; changes go through the staff pages (audited)."""

from django.contrib import admin

from core.admin import EstimatedCountPaginator, ReadOnlyAdmin
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "description", "is_active", "consecutive_failures", "last_success_at", "created_by"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    exclude = ["secret", "previous_secret"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "started_at", "duration_ms", "status_code", "error", "remote_address", "succeeded"]
    exclude = ["response_excerpt"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = ["event", "endpoint", "state", "attempt_count", "last_status_code", "next_attempt_at", "created_at"]
    list_filter = ["state"]
    list_select_related = ["event", "endpoint"]
    raw_id_fields = ["event", "endpoint"]
    inlines = [DeliveryAttemptInline]
