"""Read-only views for operations: every change goes through invitations.services (and is audited)."""

from django.contrib import admin

from crm.admin_paging import EstimatedCountPaginator
from invitations.models import BatchRecipient, Invitation, InvitationBatch


class ReadOnlyAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "account", "lead", "status", "invited_by", "expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["email"]
    list_select_related = ["account", "lead", "invited_by"]
    exclude = ["token_hash"]


@admin.register(InvitationBatch)
class InvitationBatchAdmin(ReadOnlyAdmin):
    list_display = ["name", "source", "status", "total", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "source"]
    list_select_related = ["created_by"]


@admin.register(BatchRecipient)
class BatchRecipientAdmin(ReadOnlyAdmin):
    list_display = ["email", "batch", "state", "reason", "done_at"]
    list_filter = ["state"]
    search_fields = ["email"]
    list_select_related = ["batch"]
    raw_id_fields = ["batch", "account", "contact", "lead", "invitation"]
