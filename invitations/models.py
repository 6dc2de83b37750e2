"""Invitations: single-use, expiring links that turn a contact or lead into a portal user.

The link's token is never stored: only its SHA-256 digest (see :mod:`invitations.tokens`).
At most one open invitation exists per email and account (or lead): a partial unique
constraint says so to the database, and the services refresh the open one instead of
creating a second.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> InvitationQuerySet:
        return self.filter(status__in=Invitation.OPEN_STATUSES)

    def for_account(self, account) -> InvitationQuerySet:
        return self.filter(account=account)

    def for_email(self, email: str) -> InvitationQuerySet:
        return self.filter(email=email.strip().lower())


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        BOUNCED = "bounced", "Bounced"

    OPEN_STATUSES = (Status.PENDING, Status.SENT)

    email = models.EmailField(max_length=254, help_text="Stored lower-case.")
    # account, lead and contact have no single-column index of their own: the named indexes
    # in Meta lead with them, and each index is one more write per invitation a batch creates.
    account = models.ForeignKey(
        "crm.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="invitations",
        help_text="The organisation the person is invited into (for a lead: filled on acceptance).",
        db_index=False,
    )
    lead = models.ForeignKey(
        "crm.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="invitations", db_index=False
    )
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations", db_index=False
    )
    roles = models.ManyToManyField("iam.BusinessRole", blank=True, related_name="invitations")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invitations_sent")
    note = models.TextField("personal note", blank=True, max_length=1000)
    batch = models.ForeignKey(
        "InvitationBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations"
    )
    # SHA-256 of the link's token, hex. Blank until the email with the token is sent.
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField()
    send_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    membership = models.ForeignKey(
        "iam.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(lead__isnull=False), name="inv_invitation_has_target"
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="inv_invitation_email_lower"),
            models.UniqueConstraint(
                "email",
                "account",
                condition=Q(status__in=["pending", "sent"], lead__isnull=True),
                name="inv_invitation_one_open_per_account",
            ),
            models.UniqueConstraint(
                "email",
                "lead",
                condition=Q(status__in=["pending", "sent"], lead__isnull=False),
                name="inv_invitation_one_open_per_lead",
            ),
            models.UniqueConstraint(
                fields=["token_hash"], condition=~Q(token_hash=""), name="inv_invitation_token_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(accepted_at__isnull=False), name="inv_invitation_accepted_has_date"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="inv_invitation_account"),
            models.Index(fields=["lead", "-created_at", "-id"], name="inv_invitation_lead"),
            models.Index(fields=["contact"], name="inv_invitation_contact"),
            models.Index(fields=["status", "expires_at"], name="inv_invitation_due"),
            models.Index(fields=["email", "status"], name="inv_invitation_email"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.EXPIRED or (self.is_open and self.expires_at <= timezone.now())

    @property
    def is_lead_invitation(self) -> bool:
        return self.lead_id is not None

    @property
    def status_badge(self) -> str:
        return {
            "pending": "secondary",
            "sent": "info",
            "accepted": "success",
            "expired": "warning",
            "revoked": "secondary",
            "bounced": "danger",
        }[self.status]


class InvitationBatch(models.Model):
    """Many invitations sent as one job. Progress is counted from its recipients' states."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"

    class Source(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        LEADS = "leads", "Leads"

    name = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=Source.choices)
    # What the staff user picked, for the record: the list filter's query string or the ticked ids.
    selection = models.JSONField(default=dict, blank=True)
    roles = models.ManyToManyField("iam.BusinessRole", blank=True, related_name="+")
    note = models.TextField("personal note", blank=True, max_length=1000)
    expires_in_days = models.PositiveSmallIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "invitation batches"
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="inv_batch_created"),
            models.Index(fields=["status"], name="inv_batch_status"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.status == self.Status.RUNNING


class BatchRecipient(models.Model):
    """One person a batch invites, and what happened to them.

    ``queued`` → ``sending`` (claimed by a worker) → ``sent`` | ``skipped`` | ``failed``;
    ``queued`` → ``cancelled`` when staff cancel the batch. The claim is a conditional
    UPDATE, so a redelivered chunk finds nothing left to send.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # No index of its own: the two below lead with the batch. Every index here is written again
    # each time a recipient changes state, twice per recipient sent.
    batch = models.ForeignKey(InvitationBatch, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    contact = models.ForeignKey("crm.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lead = models.ForeignKey("crm.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was skipped or failed.")
    invitation = models.ForeignKey(Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    claim = models.CharField(max_length=32, blank=True, help_text="Which worker run claimed it.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "email"], name="inv_recipient_once_per_batch"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="inv_recipient_email_lower"),
        ]
        indexes = [
            # Claims, progress and resume (state = 'sending' of the running batches) all use it.
            models.Index(fields=["batch", "state", "id"], name="inv_recipient_batch_state"),
        ]

    def __str__(self) -> str:
        return self.email
