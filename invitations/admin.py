"""Read-only views for operations: every change goes through invitations.services (and is audited)."""

from django.contrib import admin

from core.admin import EstimatedCountPaginator, ReadOnlyAdmin
from invitations.models import BatchRecipient, Invitation, InvitationBatch


class PagedReadOnlyAdmin(ReadOnlyAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(Invitation)
class InvitationAdmin(PagedReadOnlyAdmin):
    list_display = ["email", "account", "lead", "status", "invited_by", "expires_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["email"]
    list_select_related = ["account", "lead", "invited_by"]
    exclude = ["token_hash"]


@admin.register(InvitationBatch)
class InvitationBatchAdmin(PagedReadOnlyAdmin):
    list_display = ["name", "source", "status", "total", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "source"]
    list_select_related = ["created_by"]


@admin.register(BatchRecipient)
class BatchRecipientAdmin(PagedReadOnlyAdmin):
    list_display = ["email", "batch", "state", "reason", "done_at"]
    list_filter = ["state"]
    search_fields = ["email"]
    list_select_related = ["batch"]
    raw_id_fields = ["batch", "account", "contact", "lead", "invitation"]
