from django.contrib import admin

from core.admin import EstimatedCountPaginator, ReadOnlyAdmin
from history.models import RecordChange


@admin.register(RecordChange)
class RecordChangeAdmin(ReadOnlyAdmin):
    """Append-only: look, never touch. Rows are written by the services that change the records."""

    list_display = ["changed_at", "record_type", "record_id", "record_label", "kind", "actor_label", "channel", "job"]
    # Fixed choices only: a filter on record_type would read DISTINCT over the whole table.
    list_filter = ["kind", "channel"]
    search_fields = ["record_label", "actor_label"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
