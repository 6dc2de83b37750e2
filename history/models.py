"""One row per create, update or delete of a record, with each changed field's old and new value."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.context import Channel


class RecordChange(models.Model):
    """Append-only. Written only through ``history.services``, in the transaction of the change.

    ``changes`` maps a field's name to ``{"old": …, "new": …}`` in readable JSON: a reference as
    ``{"id": 7, "label": "Acme GmbH"}``, dates and times in ISO 8601, decimals as strings. A
    creation has only ``new`` values (``old`` is null), a deletion the record's last values.
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Changed"
        DELETED = "deleted", "Deleted"

    # The record by its model label ("crm.contact") and id, not a foreign key: the history of a
    # deleted record stays, and one table serves every record type without a content-type join.
    record_type = models.CharField(max_length=64)
    record_id = models.BigIntegerField()
    record_label = models.CharField(max_length=254, blank=True, help_text="The record, as it was called then.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    changes = models.JSONField(default=dict, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    # No database-level FK: history outlives the users it speaks of and is never updated.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True, help_text="Who, as they were called then.")
    credential = models.CharField(
        max_length=254, blank=True, help_text="The credential acting for the user, e.g. api-key:ERP sync."
    )
    credential_reference = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    job = models.CharField(max_length=200, blank=True, help_text="The job or command that made the change.")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["record_type", "record_id", "-changed_at", "-id"], name="history_record_time"),
            # The admin's changelist: the latest changes of every record, without sorting the table.
            models.Index(fields=["-changed_at", "-id"], name="history_changed"),
        ]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} {self.record_type} {self.record_id} {self.kind}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Record history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Record history is append-only.")
