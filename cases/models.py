"""Cases: a customer's service request, its conversation, its attachments and its SLA clocks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cases.sla import BusinessCalendar


class ServiceLevel(models.Model):
    """First-response and resolution targets with the calendar they count in.

    Applies to the account of one contract, else to every account of a tier, else (``is_default``)
    to everyone. Targets are for a case of normal severity; others scale by ``SEVERITY_FACTORS``.
    """

    name = models.CharField(max_length=100)
    contract = models.OneToOneField(
        "crm.Contract", on_delete=models.CASCADE, null=True, blank=True, related_name="service_level"
    )
    tier = models.CharField(max_length=16, blank=True, help_text="An account tier this level is for.")
    is_default = models.BooleanField(default=False)
    first_response_minutes = models.PositiveIntegerField(default=8 * 60)
    resolution_minutes = models.PositiveIntegerField(default=5 * 8 * 60)
    time_zone = models.CharField(max_length=64, default="UTC")
    opens = models.TimeField(default=dt.time(8, 0))
    closes = models.TimeField(default=dt.time(17, 0), help_text="00:00 means open until midnight.")
    weekdays = models.CharField(
        max_length=7, default="01234", help_text="Working days, Monday = 0: 01234 is Monday to Friday."
    )
    warn_percent = models.PositiveSmallIntegerField(default=75, help_text="Amber once this much of a target is used.")
    includes = models.TextField(blank=True, help_text="What the service includes, as customers read it.")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="cases_one_default_sl"),
            models.CheckConstraint(condition=Q(warn_percent__lte=100), name="cases_sl_warn_percent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def working_days_label(self) -> str:
        """``01234`` as "Mon to Fri" (with a dash); other sets of days listed."""
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = sorted({int(ch) for ch in self.weekdays if ch.isdecimal() and int(ch) < 7})
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            return f"{names[days[0]]}–{names[days[-1]]}"
        return ", ".join(names[d] for d in days)

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.build(
            time_zone=self.time_zone,
            opens=self.opens,
            closes=self.closes,
            weekdays=[int(ch) for ch in self.weekdays if ch.isdecimal()],
            holidays=[h.date for h in self.holidays.all()],
        )


class Holiday(models.Model):
    service_level = models.ForeignKey(ServiceLevel, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["service_level", "date"], name="cases_holiday_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class CaseCategoryQuerySet(models.QuerySet["CaseCategory"]):
    def active(self) -> CaseCategoryQuerySet:
        return self.filter(active=True)


class CaseCategory(models.Model):
    """What a case is about, as operations name it. ``Case.category`` holds the key.

    The six of ``Case.Category`` are made by the migration; operations add, rename and retire
    categories (a retired one is kept for the cases that have it, and not offered for new ones).
    """

    key = models.SlugField(max_length=16, unique=True, help_text="Never changes: cases and the API hold it.")
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True, help_text="Offered for new cases.")
    sort_order = models.PositiveSmallIntegerField(default=0)

    objects = CaseCategoryQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "name", "id"]
        verbose_name_plural = "case categories"

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        WAITING = "waiting", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Category(models.TextChoices):
        QUESTION = "question", "Question"
        PROBLEM = "problem", "Problem"
        INCIDENT = "incident", "Incident (service down)"
        REQUEST = "request", "Service request"
        BILLING = "billing", "Billing"
        OTHER = "other", "Other"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        STAFF = "staff", "Staff"
        EMAIL = "email", "Email"
        API = "api", "API"

    class Team(models.TextChoices):
        SERVICE_DESK = "service_desk", "Service desk"
        ACCOUNT_TEAM = "account_team", "Account team"

    class SlaState(models.TextChoices):
        NONE = "", "No SLA"
        OK = "ok", "On track"
        AMBER = "amber", "Near breach"
        RED = "red", "Breached"

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING)
    # Clocks run while a case is new or open; waiting on the customer pauses them.
    RUNNING_STATUSES = (Status.NEW, Status.OPEN)

    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="cases")
    contact = models.ForeignKey("crm.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="cases")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="raised_cases"
    )
    requester_email = models.EmailField(blank=True, help_text="Where replies to the customer go.")
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # A ``CaseCategory`` key (the built-in ones are ``Category``); the services check it.
    category = models.CharField(max_length=16, default=Category.QUESTION)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.NORMAL)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEW)
    team = models.CharField(max_length=16, choices=Team.choices, default=Team.SERVICE_DESK)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
        limit_choices_to={"is_staff": True},
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.STAFF)
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_cases")
    service_level = models.ForeignKey(ServiceLevel, on_delete=models.SET_NULL, null=True, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    # While waiting on the customer the resolution clock stops; what was left is kept here.
    paused_at = models.DateTimeField(null=True, blank=True)
    resolution_left = models.DurationField(null=True, blank=True)
    warn_left = models.DurationField(null=True, blank=True)
    sla_state = models.CharField(max_length=8, choices=SlaState.choices, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_cases"
    )
    draft_token = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(subject=""), name="cases_case_subject_not_empty")]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="cases_case_created"),
            models.Index(fields=["team", "status", "-created_at", "-id"], name="cases_case_queue"),
            models.Index(fields=["assignee", "status", "-created_at", "-id"], name="cases_case_assignee"),
            models.Index(fields=["account", "status", "-created_at", "-id"], name="cases_case_account"),
            models.Index(fields=["raised_by", "-created_at", "-id"], name="cases_case_raised_by"),
            models.Index(fields=["status", "sla_state"], name="cases_case_sla"),
            # The queue shows open cases by default: ordered scans (and bounded counts) over them only.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(status__in=["new", "open", "waiting"]),
                name="cases_case_open_created",
            ),
            models.Index(
                fields=["team", "severity", "-created_at", "-id"],
                condition=Q(status__in=["new", "open", "waiting"]),
                name="cases_case_open_team_sev",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("cases:detail", args=[self.pk])

    def get_portal_url(self) -> str:
        return reverse("cases_portal:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def reference(self) -> str:
        return f"#{self.pk}"

    def get_category_display(self) -> str:
        """The category's name: annotated as ``category_name`` by the lists (``with_category_name``),
        else the built-in label, else the key."""
        name = getattr(self, "category_name", None)
        if name:
            return name
        try:
            return str(Case.Category(self.category).label)
        except ValueError:
            return self.category


class CaseMessage(models.Model):
    """One entry of a case's conversation: a public reply or an internal note."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Public reply"
        NOTE = "note", "Internal note"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REPLY)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="case_messages"
    )
    author_email = models.EmailField(blank=True)
    from_staff = models.BooleanField(default=False)
    channel = models.CharField(max_length=8, choices=Case.Channel.choices, default=Case.Channel.STAFF)
    email_message_id = models.CharField(
        max_length=255, blank=True, help_text="Message-ID of the email it came or went as."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at", "id"], name="cases_message_case")]
        constraints = [
            models.UniqueConstraint(
                fields=["email_message_id"], condition=~Q(email_message_id=""), name="cases_message_email_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.case_id}"

    @property
    def is_public(self) -> bool:
        return self.kind == self.Kind.REPLY


def _attachment_path(instance: CaseAttachment, filename: str) -> str:
    return f"cases/{instance.case_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class CaseAttachment(models.Model):
    """A file on a case. Stored through Django's storage API; served only through the case's views."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        CaseMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=_attachment_path, max_length=255)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    internal = models.BooleanField(default=False, help_text="On an internal note: staff only.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename
