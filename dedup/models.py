"""Possible duplicates and what became of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

RECORD_TYPES = (("crm.account", "Accounts"), ("crm.contact", "Contacts"), ("crm.lead", "Leads"))


class DuplicatePair(models.Model):
    """Two records of one type that may be one, with why and how sure (0 to 1).

    One row per pair (lower id first), so "not a duplicate" is remembered: the finder and the
    import skip a pair that is already here, whatever its status.
    """

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        DISMISSED = "dismissed", "Not a duplicate"
        MERGED = "merged", "Merged"

    class Source(models.TextChoices):
        FINDER = "finder", "Duplicate finder"
        IMPORT = "import", "Import"

    record_type = models.CharField(max_length=32, choices=RECORD_TYPES)
    first_id = models.BigIntegerField()
    second_id = models.BigIntegerField()
    score = models.FloatField(default=1.0)
    reasons = models.JSONField(default=list, blank=True, help_text="Why they match, for people.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.FINDER)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "first_id", "second_id"], name="dedup_pair_unique"),
            models.CheckConstraint(condition=Q(first_id__lt=F("second_id")), name="dedup_pair_ordered"),
        ]
        indexes = [models.Index(fields=["record_type", "status", "-score", "id"], name="dedup_pair_queue")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.first_id} ~ {self.second_id} ({self.score:.2f})"


class MergedRecord(models.Model):
    """A record merged into another: its old URL redirects to the survivor."""

    record_type = models.CharField(max_length=32, choices=RECORD_TYPES)
    merged_id = models.BigIntegerField()
    survivor_id = models.BigIntegerField()
    merged_label = models.CharField(max_length=254, blank=True)
    merged_at = models.DateTimeField(default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record_type", "merged_id"], name="dedup_merged_unique")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.merged_id} → {self.survivor_id}"
