"""Teams, territories and the assignment rules that route new leads and cases.

A **territory** is an ordered definition (countries, regions, industries, a custom field value):
the first active one an account matches is its territory, stored by name on ``Account.territory``.
A **team** is a group of staff with a manager, per-member capacity and a round-robin pointer.
An **assignment rule** says which team (and how) gets a new lead or case that matches it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from territories.regions import REGION_CHOICES


def _forget_definitions() -> None:
    # Routing reads teams, territories and rules from the shared cache: a change must reach every process.
    from territories.definitions import forget_definitions

    forget_definitions()


TEAM_KEY_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]*$", "Lower-case letters, digits and underscores, starting with a letter."
)


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round-robin within the team"
    LEAST_LOADED = "least_loaded", "Least-loaded member (fewest open records)"
    TERRITORY = "territory", "The territory's owner (else round-robin in its team)"
    USER = "user", "A named person"


class Team(models.Model):
    """People who share work: a manager, members with capacities, a round-robin pointer."""

    key = models.CharField(
        max_length=16,
        unique=True,
        validators=[TEAM_KEY_VALIDATOR],
        help_text="Short name in the API and on cases (a case's team), e.g. service_desk. It never changes.",
    )
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
        limit_choices_to={"is_staff": True},
        help_text="Who the members' escalations and breaches go to.",
    )
    # The round-robin pointer: the membership that got the team's last assignment. The next pick
    # is the first available member after it (by membership id), under a row lock on the team.
    last_assigned = models.ForeignKey(
        "TeamMembership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _forget_definitions()

    def get_absolute_url(self) -> str:
        return reverse("territories:team_detail", args=[self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        _forget_definitions()
        return result


class TeamMembership(models.Model):
    """A member of a team, with how much open work they may hold."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    max_open_leads = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open leads this person may own; empty: no limit."
    )
    max_open_cases = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open cases assigned to this person; empty: no limit."
    )
    accepts_assignments = models.BooleanField(
        default=True, help_text="Off: a member of the team who gets no automatic assignments."
    )
    joined_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["team", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="territories_member_unique")]
        indexes = [models.Index(fields=["user"], name="territories_member_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Territory(models.Model):
    """Which accounts (and so leads, contacts, deals, cases) belong to whom.

    Every criterion that is filled must match (an empty one matches anything); territories are
    tried in ``position`` order and the first match wins.
    """

    name = models.CharField(max_length=100, unique=True, help_text="Shown on accounts (their territory).")
    position = models.PositiveIntegerField(default=0, help_text="Lower first: the first matching territory wins.")
    is_active = models.BooleanField(default=True)
    countries = models.JSONField(default=list, blank=True, help_text='ISO country codes, e.g. ["FI", "SE"].')
    regions = models.JSONField(
        default=list, blank=True, help_text="Region keys: " + ", ".join(k for k, _ in REGION_CHOICES)
    )
    industries = models.JSONField(default=list, blank=True, help_text="Account industry keys.")
    custom_field = models.CharField(
        max_length=50, blank=True, help_text="Key of an account (or lead) custom field to match on."
    )
    custom_value = models.CharField(max_length=200, blank=True, help_text="The value that custom field must have.")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="territories")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_territories",
        limit_choices_to={"is_staff": True},
        help_text="Who gets the territory's new records first (else round-robin in its team).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "territories"
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="territories_territory_name_not_empty"),
            models.CheckConstraint(
                condition=Q(custom_field="") | ~Q(custom_value=""), name="territories_custom_field_has_value"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _forget_definitions()

    def get_absolute_url(self) -> str:
        return reverse("territories:territory_edit", args=[self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        _forget_definitions()
        return result


class AssignmentRule(models.Model):
    """Routes a new lead or case that matches it to a team (or person) by a strategy.

    Rules of a record type are tried in ``position`` order; the first that matches and finds
    someone available decides. Every filled condition must match; an empty one matches anything.
    """

    class RecordType(models.TextChoices):
        LEAD = "crm.lead", "Leads"
        CASE = "cases.case", "Cases"

    name = models.CharField(max_length=100)
    record_type = models.CharField(max_length=16, choices=RecordType.choices)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Conditions
    lead_sources = models.JSONField(default=list, blank=True, help_text="Lead source keys (leads).")
    territories = models.ManyToManyField(Territory, blank=True, related_name="assignment_rules")
    case_categories = models.JSONField(default=list, blank=True, help_text="Case category keys (cases).")
    severities = models.JSONField(default=list, blank=True, help_text="Case severity keys (cases).")
    custom_field = models.CharField(
        max_length=50, blank=True, help_text="Key of a lead custom field, e.g. product_interest (leads)."
    )
    custom_value = models.CharField(max_length=200, blank=True)
    # What it does
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.ROUND_ROBIN)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="assignment_rules")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
        help_text="The person (strategy “a named person”).",
    )
    fallback_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
        help_text="Who gets the record when nobody in the team is available.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["record_type", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(custom_field="") | ~Q(custom_value=""), name="territories_rule_custom_field_has_value"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _forget_definitions()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        _forget_definitions()
        return result


class TerritoryRun(models.Model):
    """One re-apply of the territory definitions to every account: its progress, for the page to poll."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_checked = models.PositiveIntegerField(default=0)
    accounts_changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # At most one run queued or running: a second press of the button joins the first.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=["queued", "running"]),
                name="territories_one_open_run",
            )
        ]

    def __str__(self) -> str:
        return f"Territory re-apply {self.requested_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"
