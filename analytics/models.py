"""Reports' own data: daily data-health snapshots, and the reconfirmation runs sales start."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class StateCounts(models.Model):
    fresh = models.PositiveIntegerField(default=0)
    ageing = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def total(self) -> int:
        return self.fresh + self.ageing + self.stale

    @property
    def stale_share(self) -> float:
        return self.stale / self.total if self.total else 0.0

    def _percent(self, count: int) -> float:
        return round(100 * count / self.total, 1) if self.total else 0.0

    @property
    def fresh_percent(self) -> float:
        return self._percent(self.fresh)

    @property
    def ageing_percent(self) -> float:
        return self._percent(self.ageing)

    @property
    def stale_percent(self) -> float:
        return self._percent(self.stale)

    @property
    def stale_offset(self) -> float:
        """Where the stale part of a fresh | ageing | stale bar starts (percent)."""
        return self._percent(self.fresh + self.ageing)


class DataHealthSnapshot(StateCounts):
    """How fresh the CRM's contacts were on one day: one row per day, replaced by a re-run."""

    day = models.DateField(unique=True)
    taken_at = models.DateTimeField(default=timezone.now)
    portal_users = models.PositiveIntegerField(default=0, help_text="Contacts that are portal users.")

    class Meta:
        ordering = ["-day"]
        get_latest_by = "day"

    def __str__(self) -> str:
        return f"Data health {self.day}"


class DataHealthOwnerCount(StateCounts):
    snapshot = models.ForeignKey(DataHealthSnapshot, on_delete=models.CASCADE, related_name="owner_counts")
    # No database FK: a snapshot is history and outlives the users it speaks of.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "owner"], name="analytics_owner_count_unique")]
        indexes = [models.Index(F("snapshot"), F("stale").desc(), name="analytics_owner_stale")]

    def __str__(self) -> str:
        return f"{self.snapshot_id}: owner {self.owner_id}"


class DataHealthAccountCount(StateCounts):
    snapshot = models.ForeignKey(DataHealthSnapshot, on_delete=models.CASCADE, related_name="account_counts")
    account = models.ForeignKey("crm.Account", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "account"], name="analytics_account_count_unique")]
        indexes = [models.Index(F("snapshot"), F("stale").desc(), F("account"), name="analytics_account_stale")]

    def __str__(self) -> str:
        return f"{self.snapshot_id}: account {self.account_id}"


class ReconfirmationRun(models.Model):
    """Sales asked for reconfirmation of one account's or one owner's stale contacts: a job."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    sent = models.PositiveIntegerField(default=0)
    invited = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Stale, but asked recently, bounced or no consent.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(account__isnull=False) & Q(owner__isnull=True))
                | (Q(account__isnull=True) & Q(owner__isnull=False)),
                name="analytics_run_one_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"Reconfirmation run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def scope_label(self) -> str:
        return str(self.account) if self.account_id else f"{self.owner}’s contacts"


# --- Issue 16: the reports' own daily snapshot -------------------------------------------------


class ReportSnapshot(models.Model):
    """One owner's book on one day: open pipeline and active contracts. One row per (day, owner).

    Written only by ``analytics.reports.snapshots.report_snapshot_take`` (the beat job); a re-run
    the same day brings the day's rows up to date. Trend charts read these rows instead of
    rescanning the history of a hundred thousand deals.
    """

    day = models.DateField()
    # No database FK: a snapshot is history and outlives the users it speaks of.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    open_deals = models.PositiveIntegerField(default=0)
    open_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    weighted_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    active_contracts = models.PositiveIntegerField(default=0)
    active_value = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "owner_id"]
        constraints = [models.UniqueConstraint(fields=["day", "owner"], name="analytics_report_snapshot_unique")]

    def __str__(self) -> str:
        return f"Report snapshot {self.day}: owner {self.owner_id}"


# --- Issue 16: rollups the reports read instead of rescanning history ----------------------------


class RollupWatermark(models.Model):
    """How far one rollup reaches: its rows cover the days before ``through`` (site's time zone).

    A report sums the rollup's rows for the part of its period before ``through`` and counts the
    rest live, so its figures are exact up to the last refresh and live after it.
    """

    name = models.CharField(max_length=40, unique=True)
    through = models.DateField()
    taken_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} rollup through {self.through}"


class ActivityDay(models.Model):
    """How many activities of one kind one owner had on one local day. Written only by
    ``analytics.reports.rollups.report_rollups_refresh``."""

    day = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "owner", "kind"], name="analytics_activity_day_unique")]

    def __str__(self) -> str:
        return f"{self.day} owner {self.owner_id}: {self.count} {self.kind}"
