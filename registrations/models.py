"""A self-service registration of an organisation, from the form to the decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

# The longest text staff send a registrant (a rejection's reason, a question).
MESSAGE_MAX_LENGTH = 2000


class RegistrationRequestQuerySet(models.QuerySet["RegistrationRequest"]):
    def open(self) -> RegistrationRequestQuerySet:
        """Not decided yet, whether or not the email is verified."""
        return self.filter(status__in=RegistrationRequest.OPEN_STATUSES)

    def queue(self) -> RegistrationRequestQuerySet:
        """What a person has to decide: verified, undecided, oldest first."""
        return self.filter(
            status__in=[RegistrationRequest.Status.PENDING, RegistrationRequest.Status.INFO_REQUESTED]
        ).order_by("submitted_at", "pk")


class RegistrationRequest(models.Model):
    """Someone asks for their organisation's access to the portal.

    ``submitted_at`` is when the email was verified and the request became real: the SLA
    clock of the approval queue runs from there.
    """

    class Status(models.TextChoices):
        PENDING_VERIFICATION = "pending_verification", "Email not verified yet"
        PENDING = "pending", "Waiting for approval"
        INFO_REQUESTED = "info_requested", "More information requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Decision(models.TextChoices):
        NONE = "", "—"
        AUTO_BUSINESS_ID = "auto_business_id", "Approved automatically: business id and email domain of a customer"
        AUTO_DOMAIN = "auto_domain", "Approved automatically: email domain of a customer"
        LINKED = "linked", "Approved: linked to an existing account"
        CREATED = "created", "Approved: new account created"
        LEAD = "lead", "Admitted as a lead"
        AUTO_LEAD = "auto_lead", "Admitted as a lead automatically"
        REJECTED = "rejected", "Rejected"

    OPEN_STATUSES = (Status.PENDING_VERIFICATION, Status.PENDING, Status.INFO_REQUESTED)

    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING_VERIFICATION)
    # What the registrant submitted (normalised: the business id in its national format, the phone E.164).
    company_name = models.CharField(max_length=200)
    business_id = models.CharField("business / registration id", max_length=64)
    country = CountryField()
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField()
    email_domain = models.CharField(max_length=253, editable=False)
    phone = PhoneNumberField()
    terms_accepted_at = models.DateTimeField()
    # Who they are once they exist as a login (new, unverified; or the person's existing user).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="registrations"
    )
    created_user = models.BooleanField(default=False, editable=False, help_text="The registration created the user.")
    # The outcome.
    matched_account = models.ForeignKey(
        "crm.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="registrations"
    )
    match_evidence = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the matched account was found (crm.matching): on what, the value, the score, "
        "and whether the registrant's email domain is one of the account's.",
    )
    membership = models.ForeignKey("iam.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lead = models.ForeignKey("crm.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="registrations")
    decision = models.CharField(max_length=24, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was rejected; sent to the registrant.")
    info_request = models.TextField(blank=True, help_text="What staff asked the registrant for.")
    info_response = models.TextField(blank=True, help_text="The registrant's answer.")
    info_requested_at = models.DateTimeField(null=True, blank=True)
    info_responded_at = models.DateTimeField(null=True, blank=True)
    # When an org admin already existed, they confirm the newcomer (or remove them).
    admin_confirmation_requested = models.BooleanField(default=False)
    admin_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    admin_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="Email verified: in the queue from here.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegistrationRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "rejected"]) | Q(decided_at__isnull=False),
                name="registrations_decided_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="registrations_rejected_has_reason",
            ),
            # One open request per email address: a retried form or a double click finds it.
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(status__in=["pending_verification", "pending", "info_requested"]),
                name="registrations_one_open_per_email",
            ),
            models.CheckConstraint(
                condition=Q(status="pending_verification") | Q(submitted_at__isnull=False),
                name="registrations_verified_has_submitted_at",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at", "id"], name="registrations_queue"),
            models.Index(fields=["email"], name="registrations_email"),
            models.Index(fields=["business_id"], name="registrations_business_id"),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.email})"

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        self.email_domain = self.email.rsplit("@", 1)[-1] if "@" in self.email else ""
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def age(self):
        """Time waiting in the queue (the SLA age)."""
        return timezone.now() - (self.submitted_at or self.created_at)

    @property
    def sla_state(self) -> str:
        """'ok', 'due' (past half the SLA) or 'overdue'."""
        hours = self.age.total_seconds() / 3600
        sla = settings.REGISTRATIONS_SLA_HOURS
        if hours >= sla:
            return "overdue"
        if hours >= sla / 2:
            return "due"
        return "ok"
