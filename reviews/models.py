"""An access review of one account, and each answer given in it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AccessReviewQuerySet(models.QuerySet["AccessReview"]):
    def open(self) -> AccessReviewQuerySet:
        return self.filter(completed_at__isnull=True)

    def overdue(self, now=None) -> AccessReviewQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())


class AccessReview(models.Model):
    """An org admin's periodic confirmation that their organisation's people are still right."""

    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="access_reviews")
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the overdue reminder went out.")
    people = models.PositiveIntegerField(default=0, help_text="People reviewed.")
    confirmed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)

    objects = AccessReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(completed_at__isnull=True), name="reviews_one_open_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-opened_at"], name="reviews_account_opened"),
            models.Index(fields=["due_at"], condition=Q(completed_at__isnull=True), name="reviews_open_due"),
        ]

    def __str__(self) -> str:
        return f"Access review of {self.account} ({self.opened_at:%Y-%m-%d})"

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "completed"
        return "overdue" if self.due_at < timezone.now() else "open"


class AccessReviewAnswer(models.Model):
    class Answer(models.TextChoices):
        CORRECT = "correct", "Still correct"
        CHANGED = "changed", "Changed"
        LEFT = "left", "Left the company"

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="answers")
    # Named, so that a contact merge sees (and moves) the answers instead of cascading them away.
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="access_review_answers")
    answer = models.CharField(max_length=16, choices=Answer.choices)
    job_title_before = models.CharField(max_length=150, blank=True)
    job_title_after = models.CharField(max_length=150, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "contact"], name="reviews_one_answer_per_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.get_answer_display()}: {self.contact_id}"


class OwnerVerification(models.Model):
    """One outcome of a rep's weekly verification list: a contact no automatic loop reaches,
    checked by its owner (a call, a meeting) and recorded in one click."""

    class Outcome(models.TextChoices):
        VERIFIED = "verified", "Still right"
        CHANGED = "changed", "Changed"
        LEFT = "left", "Left the company"

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="owner_verifications")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["owner", "recorded_at"], name="reviews_verification_owner")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.contact_id}"
