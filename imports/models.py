"""Import jobs, their staged chunks, what each did, and reusable column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Resource(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    CONTACTS = "contacts", "Contacts"
    LEADS = "leads", "Leads"


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", "Skip the row"
    UPDATE_EMPTY = "update_empty", "Update the existing record's empty fields"
    OVERWRITE = "overwrite", "Overwrite the existing record"
    CREATE_FLAG = "create_flag", "Create it and flag it as a possible duplicate"


class ImportMapping(models.Model):
    """A saved column mapping: header (as normalised by ``imports.mapping.header_key``) → target."""

    name = models.CharField(max_length=100)
    resource = models.CharField(max_length=16, choices=Resource.choices)
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["resource", "name"], name="imports_mapping_unique_name")]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Being mapped"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDOING = "undoing", "Being undone"
        UNDONE = "undone", "Undone"

    resource = models.CharField(max_length=16, choices=Resource.choices)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8, help_text="csv or xlsx")
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Column index (as text) → target field.")
    policy = models.CharField(max_length=16, choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP)
    default_country = models.CharField(max_length=2, blank=True)
    date_format = models.CharField(max_length=16, default="%Y-%m-%d")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(null=True, blank=True, help_text="When the last chunk was committed.")
    undone_at = models.DateTimeField(null=True, blank=True)
    # The undo, a job of its own (``imports.undo``): who asked for it, where it is, how far it got.
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undo_step = models.PositiveSmallIntegerField(default=0, help_text="Index into imports.undo.STEPS.")
    undo_cursor = models.BigIntegerField(default=0, help_text="The last record id undone in that step.")
    undo_total = models.PositiveIntegerField(default=0, help_text="Records to delete or put back.")
    undo_done = models.PositiveIntegerField(default=0)
    undo_kept = models.PositiveIntegerField(
        default=0, help_text="Records edited (or given portal access) while the undo ran, left as they are."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="imports_job_created")]

    def __str__(self) -> str:
        return f"{self.get_resource_display()} from {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("imports:job", args=[self.pk])

    @property
    def progress_percent(self) -> int:
        return round(100 * self.processed_rows / self.total_rows) if self.total_rows else 100

    @property
    def undo_percent(self) -> int:
        return round(100 * self.undo_done / self.undo_total) if self.undo_total else 100

    @property
    def is_running(self) -> bool:
        """A run or an undo in progress: the result page polls it."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.UNDOING)

    @property
    def model_label(self) -> str:
        return {"accounts": "crm.account", "contacts": "crm.contact", "leads": "crm.lead"}[self.resource]


class ImportChunk(models.Model):
    """Up to ``IMPORTS_CHUNK_SIZE`` rows of the file as read, processed in one transaction."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_line = models.PositiveIntegerField(help_text="The file's line (1 = header) of the first row.")
    rows = models.JSONField(default=list)
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="imports_chunk_unique")]
        indexes = [models.Index(fields=["job", "number"], condition=Q(done=False), name="imports_chunk_todo")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number}"


class ImportedRecord(models.Model):
    """A record an import created or updated (with its values before), for the result and the undo."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        SKIPPED = "skipped", "Skipped (a duplicate)"

    # No index of its own: ``imports_record_job`` starts with the job (one index less per imported row).
    # It ends with the record's id: the undo walks each (type, action) by record id (keyset), and
    # "which of these records changed since" probes it by id instead of reading the job's rows.
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records", db_index=False)
    record_type = models.CharField(max_length=32)
    record_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=Action.choices)
    line = models.PositiveIntegerField(null=True, blank=True)
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "record_type", "action", "record_id"], name="imports_record_job")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id} {self.action}"


class ImportFailure(models.Model):
    """A row the import could not take, with the reason: downloadable to fix and upload again."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="failures")
    line = models.PositiveIntegerField()
    row = models.JSONField(default=list)
    reason = models.TextField()

    class Meta:
        ordering = ["job", "line"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
