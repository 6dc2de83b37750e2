"""Workflow rules (event → condition → action), their run log, email templates and static segments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from savedviews.models import SavedView


class RecordType(models.TextChoices):
    ACCOUNT = "crm.account", "Account"
    CONTACT = "crm.contact", "Contact"
    LEAD = "crm.lead", "Lead"
    OPPORTUNITY = "crm.opportunity", "Opportunity"
    CONTRACT = "crm.contract", "Contract"
    CASE = "cases.case", "Case"


class Trigger(models.TextChoices):
    CREATED = "created", "Record created"
    CHANGED = "changed", "Record changed"
    SAVED = "saved", "Record created or changed"
    EVENT = "event", "Product event"
    TIME = "time", "Time (before / after a date)"


class Rule(models.Model):
    """One rule. ``conditions`` and ``actions`` are JSON checked by ``workflows.conditions`` and
    ``workflows.actions`` on every write path (form, API)."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    record_type = models.CharField(max_length=32, choices=RecordType.choices)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    # trigger=changed/saved: [{"field": "status", "to": "qualified", "from": ""}] (all must hold;
    # "to"/"from" optional: a field that changed at all).
    change_conditions = models.JSONField(default=list, blank=True)
    # trigger=event: a key of workflows.events.EVENTS.
    event = models.CharField(max_length=48, blank=True)
    # trigger=time: N hours after (positive) or before (negative) a date field of the record.
    time_field = models.CharField(max_length=64, blank=True)
    time_offset_hours = models.IntegerField(default=0)
    # Scanned up to here: the next scan looks at what fell due since.
    time_scanned_until = models.DateTimeField(null=True, blank=True, editable=False)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=0, help_text="Rules run in this order (lowest first).")
    enabled = models.BooleanField(default=False)
    max_depth = models.PositiveSmallIntegerField(
        default=2, help_text="How many rule-made changes deep this rule may still fire (loop guard)."
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="workflow_rules")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(
                fields=["record_type", "trigger", "position"], name="workflows_rule_enabled", condition=Q(enabled=True)
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How the rule signs its changes in history and the audit trail."""
        return f"workflow rule #{self.pk} '{self.name}'"[:200]


class RuleRun(models.Model):
    """One rule meeting one event: fired, skipped (and why) or failed. Unique per (rule, event)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Fired"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    event_key = models.CharField(max_length=200)
    record_type = models.CharField(max_length=32, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    record_label = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    depth = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    log = models.JSONField(default=list, blank=True, help_text="What each action did or why it failed.")
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "event_key"], name="workflows_run_once_per_event")]
        indexes = [models.Index(fields=["rule", "-created_at", "-id"], name="workflows_run_log")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.event_key}:{self.status}"


class RuleRunStep(models.Model):
    """An action of a run that was carried out, written in the action's own transaction: a run
    resumed after its worker died skips what is here, so no action happens twice."""

    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    done_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="workflows_step_once")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.index}"


class EmailTemplate(models.Model):
    """A message a rule sends: ``{{ first_name }}``-style placeholders over the record's fields."""

    name = models.CharField(max_length=120, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A record put into a saved view by a rule: a static segment beside the view's filters."""

    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=32, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    added_at = models.DateTimeField(default=timezone.now)
    added_by_rule = models.ForeignKey(Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["view", "record_type", "record_id"], name="workflows_segment_once")
        ]

    def __str__(self) -> str:
        return f"{self.view_id}:{self.record_type}:{self.record_id}"
