from django.contrib import admin

from registrations.models import RegistrationRequest


@admin.register(RegistrationRequest)
class RegistrationRequestAdmin(admin.ModelAdmin):
    """Read-only: decisions are made in the queue, where they are audited and emailed."""

    list_display = ["company_name", "business_id", "email", "status", "decision", "submitted_at", "decided_at"]
    list_filter = ["status", "decision", "country"]
    search_fields = ["company_name", "business_id", "email"]
    list_select_related = ["matched_account"]
    raw_id_fields = ["user", "matched_account", "membership", "lead", "decided_by", "admin_confirmed_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
