"""The CRM's core records. Invariants that must always hold live in database constraints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower, Upper
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

from crm.decay import DecayPolicy, Freshness, freshness_state
from crm.querysets import CRMQuerySet

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    from iam.models import User


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def _owner_field(related_name: str, *, db_index: bool = True) -> models.ForeignKey[User | Combinable, User]:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name=related_name,
        limit_choices_to={"is_staff": True},
        help_text="The staff user responsible for this record.",
        db_index=db_index,
    )


class AccountQuerySet(CRMQuerySet["Account"]):
    def with_customer_flag(self) -> AccountQuerySet:
        active = Contract.objects.filter(account=OuterRef("pk"), status=Contract.Status.ACTIVE)
        return self.annotate(is_customer_flag=Exists(active))

    def customers(self) -> AccountQuerySet:
        return self.filter(contracts__status=Contract.Status.ACTIVE).distinct()


class Account(TimestampedModel):
    """A customer organisation (company)."""

    class Tier(models.TextChoices):
        STRATEGIC = "strategic", "Strategic"
        KEY = "key", "Key"
        STANDARD = "standard", "Standard"
        SMALL = "small", "Small"

    class Industry(models.TextChoices):
        MANUFACTURING = "manufacturing", "Manufacturing"
        RETAIL = "retail", "Retail"
        SOFTWARE = "software", "Software"
        FINANCE = "finance", "Finance"
        HEALTHCARE = "healthcare", "Healthcare"
        LOGISTICS = "logistics", "Logistics"
        ENERGY = "energy", "Energy"
        PUBLIC_SECTOR = "public_sector", "Public sector"
        EDUCATION = "education", "Education"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    business_id = models.CharField(
        "business / registration id",
        max_length=64,
        null=True,
        blank=True,
        help_text="Company registration or VAT number; unique when present.",
    )
    country = CountryField(blank=True)
    website = models.URLField(blank=True)
    industry = models.CharField(max_length=32, choices=Industry.choices, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    # The name of the account's territory (territories): derived from the territory definitions
    # (first match wins) unless set by hand, which ``territory_manual`` records; re-applying the
    # definitions (territories.services.territories_reapply) leaves hand-set ones alone.
    territory = models.CharField(max_length=100, blank=True)
    territory_manual = models.BooleanField("territory set by hand", default=False, db_default=False, editable=False)
    owner = _owner_field("owned_accounts")
    require_mfa = models.BooleanField(
        "require MFA",
        default=False,
        db_default=False,
        help_text="Every portal user of this account must use a second factor.",
    )
    allow_public_email = models.BooleanField(
        "allow webmail addresses",
        default=False,
        db_default=False,
        help_text="Org admins may invite people at webmail or disposable addresses (gmail.com, …) into this "
        "account. Off: only work addresses, the same rule as self-service registration.",
    )

    # Values of the custom fields ops define for this record type (customfields), validated by
    # customfields.values.clean_values; expression indexes for filterable ones (customfields.indexes).
    custom_fields = models.JSONField(
        default=dict, blank=True, editable=False, db_default=models.Value({}, models.JSONField())
    )

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_id"],
                condition=Q(business_id__isnull=False),
                name="crm_account_business_id_unique",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="crm_account_name_not_empty"),
            models.CheckConstraint(
                condition=Q(business_id__isnull=True) | ~Q(business_id=""),
                name="crm_account_business_id_null_not_blank",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="crm_account_name_id"),
            models.Index(fields=["owner", "name", "id"], name="crm_account_owner_name"),
            models.Index(fields=["-created_at", "-id"], name="crm_account_created"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Normalise "no business id" to NULL so the partial unique constraint applies.
        self.business_id = (self.business_id or "").strip() or None
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("crm:account_detail", args=[self.pk])

    @property
    def is_customer(self) -> bool:
        flag = getattr(self, "is_customer_flag", None)
        if flag is not None:
            return flag
        return self.contracts.filter(status=Contract.Status.ACTIVE).exists()


class AccountDomain(models.Model):
    """An email domain that belongs to an account (used to recognise its people)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="email_domains")
    domain = models.CharField(max_length=253)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(Lower("domain"), "account", name="crm_accountdomain_unique"),
        ]
        indexes = [models.Index(fields=["domain"], name="crm_accountdomain_domain")]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)


class LeftReason(models.TextChoices):
    ORG_ADMIN = "org_admin", "Removed by their organisation's admin"
    ACCESS_REVIEW = "access_review", "Marked as left in an access review"
    IDENTITY_DEACTIVATED = "identity_deactivated", "Their login was deactivated"
    HARD_BOUNCE = "hard_bounce", "Their email address bounced"
    OUT_OF_OFFICE = "out_of_office", "An automatic reply said they left"
    REGISTERED_ELSEWHERE = "registered_elsewhere", "Registered at another company"
    SELF_REPORTED = "self_reported", "Said so themselves"
    STAFF = "staff", "Marked as left by staff"


class Contact(TimestampedModel):
    """A person at an account, as the CRM knows them, with how fresh that knowledge is."""

    class VerificationMethod(models.TextChoices):
        REP = "rep", "Confirmed by a sales rep"
        SELF_SERVICE = "self_service", "Confirmed by the person (self-service)"
        RECONFIRMATION = "reconfirmation", "Confirmed by the person (reconfirmation)"
        ACCESS_REVIEW = "access_review", "Confirmed by their organisation's admin (access review)"
        IMPORT = "import", "Imported"

    # No index of their own: crm_contact_account_name and crm_contact_owner_name lead with them
    # (a million contacts kept two more indexes current on every write for nothing).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    other_emails = models.JSONField(default=list, blank=True, help_text="Further email addresses.")
    phone = PhoneNumberField(blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    owner = _owner_field("owned_contacts", db_index=False)
    consent_to_contact = models.BooleanField(default=False)
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    verification_method = models.CharField(max_length=16, choices=VerificationMethod.choices, blank=True)
    last_reconfirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    email_bounced_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="The mail provider reported this address as bouncing."
    )
    # Departures as facts (crm.departures): the contact is kept for history, but no campaign,
    # invitation or reconfirmation goes to them any more.
    left_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Left the company.")
    left_reason = models.CharField(
        max_length=24, choices=LeftReason.choices, blank=True, default="", db_default="", editable=False
    )

    # Values of the custom fields ops define for this record type (customfields), validated by
    # customfields.values.clean_values; expression indexes for filterable ones (customfields.indexes).
    custom_fields = models.JSONField(
        default=dict, blank=True, editable=False, db_default=models.Value({}, models.JSONField())
    )

    objects = CRMQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(last_name=""), name="crm_contact_last_name_not_empty"),
            models.CheckConstraint(
                condition=(Q(last_verified_at__isnull=True) & Q(verification_method=""))
                | (Q(last_verified_at__isnull=False) & ~Q(verification_method="")),
                name="crm_contact_verification_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["last_name", "id"], name="crm_contact_name_id"),
            models.Index(fields=["owner", "last_name", "id"], name="crm_contact_owner_name"),
            models.Index(fields=["account", "last_name", "id"], name="crm_contact_account_name"),
            models.Index(fields=["-updated_at", "-id"], name="crm_contact_updated"),
            models.Index(fields=["-created_at", "-id"], name="crm_contact_created"),
            models.Index(fields=["email"], name="crm_contact_email"),
            models.Index(Upper("email"), name="crm_contact_email_ci"),
            # Freshness is derived from last_verified_at at read time (crm.decay): filters by state
            # are ranges on it.
            models.Index(fields=["last_verified_at"], name="crm_contact_verified"),
            models.Index(fields=["account", "last_verified_at"], name="crm_contact_account_verified"),
            models.Index(fields=["owner", "last_verified_at"], name="crm_contact_owner_verified"),
            models.Index(fields=["-left_at"], condition=Q(left_at__isnull=False), name="crm_contact_left"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("crm:contact_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    # A contact typed in this recently and never verified is new, not stale: shown as such (#15).
    NEW_FOR = dt.timedelta(days=30)

    @property
    def is_new_unverified(self) -> bool:
        return (
            self.last_verified_at is None
            and self.created_at is not None
            and (timezone.now() - self.created_at < self.NEW_FOR)
        )

    @property
    def freshness(self) -> str:
        """fresh, ageing or stale now: derived from last_verified_at (crm.decay), never stored."""
        return freshness_state(self.last_verified_at)

    def get_freshness_display(self) -> str:
        return Freshness(self.freshness).label

    @property
    def freshness_probability(self) -> float:
        """The probability (0 to 1) that this contact's data is still accurate."""
        return DecayPolicy.from_settings().probability(self.last_verified_at)


class Lead(TimestampedModel):
    """A person or company not yet qualified."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        QUALIFIED = "qualified", "Qualified"
        REGISTERED = "registered", "Registered"
        CONVERTED = "converted", "Converted"
        DISQUALIFIED = "disqualified", "Disqualified"

    class Source(models.TextChoices):
        WEB = "web", "Website"
        REFERRAL = "referral", "Referral"
        TRADE_FAIR = "trade_fair", "Trade fair"
        PARTNER = "partner", "Partner"
        CAMPAIGN = "campaign", "Campaign"
        COLD_CALL = "cold_call", "Cold call"
        OTHER = "other", "Other"

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    company_business_id = models.CharField("company business id", max_length=64, blank=True)
    company_country = CountryField(blank=True)
    company_website = models.URLField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OTHER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    score = models.PositiveSmallIntegerField(default=0, validators=[MinValueValidator(0), MaxValueValidator(100)])
    owner = _owner_field("owned_leads")
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="converted_leads"
    )
    converted_contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="converted_leads"
    )
    converted_opportunity = models.ForeignKey(
        "Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="converted_leads"
    )

    # Values of the custom fields ops define for this record type (customfields), validated by
    # customfields.values.clean_values; expression indexes for filterable ones (customfields.indexes).
    custom_fields = models.JSONField(
        default=dict, blank=True, editable=False, db_default=models.Value({}, models.JSONField())
    )

    objects = CRMQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(last_name=""), name="crm_lead_last_name_not_empty"),
            models.CheckConstraint(condition=Q(score__lte=100), name="crm_lead_score_range"),
            models.CheckConstraint(
                condition=~Q(status="converted") | Q(converted_at__isnull=False),
                name="crm_lead_converted_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="crm_lead_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="crm_lead_status_created"),
            models.Index(fields=["owner", "-created_at", "-id"], name="crm_lead_owner_created"),
            models.Index(fields=["-score", "-id"], name="crm_lead_score"),
            models.Index(fields=["last_name", "id"], name="crm_lead_name_id"),
            # Routing's least-loaded pick and capacity check count each member's open leads from
            # this index alone (territories.routing.open_loads), however many leads they closed.
            models.Index(
                fields=["owner"],
                condition=Q(status__in=["new", "working", "qualified", "registered"]),
                name="crm_lead_owner_open",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} ({self.company_name})" if self.company_name else name

    def get_absolute_url(self) -> str:
        return reverse("crm:lead_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_convertible(self) -> bool:
        return self.status not in (self.Status.CONVERTED, self.Status.DISQUALIFIED)


class Opportunity(TimestampedModel):
    class Stage(models.TextChoices):
        PROSPECTING = "prospecting", "Prospecting"
        QUALIFICATION = "qualification", "Qualification"
        PROPOSAL = "proposal", "Proposal"
        NEGOTIATION = "negotiation", "Negotiation"
        WON = "won", "Closed won"
        LOST = "lost", "Closed lost"

    OPEN_STAGES = (Stage.PROSPECTING, Stage.QUALIFICATION, Stage.PROPOSAL, Stage.NEGOTIATION)
    DEFAULT_PROBABILITY: dict[str, int] = {
        Stage.PROSPECTING: 10,
        Stage.QUALIFICATION: 25,
        Stage.PROPOSAL: 50,
        Stage.NEGOTIATION: 75,
        Stage.WON: 100,
        Stage.LOST: 0,
    }

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="opportunities")
    name = models.CharField(max_length=200)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.PROSPECTING)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code")
    expected_close_date = models.DateField()
    probability = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Percent"
    )
    owner = _owner_field("owned_opportunities")

    # Values of the custom fields ops define for this record type (customfields), validated by
    # customfields.values.clean_values; expression indexes for filterable ones (customfields.indexes).
    custom_fields = models.JSONField(
        default=dict, blank=True, editable=False, db_default=models.Value({}, models.JSONField())
    )

    objects = CRMQuerySet.as_manager()

    class Meta:
        ordering = ["expected_close_date", "id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="crm_opportunity_amount_positive"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="crm_opportunity_probability_range"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="crm_opportunity_currency_iso"),
            models.CheckConstraint(
                condition=~Q(stage="won") | Q(probability=100), name="crm_opportunity_won_is_certain"
            ),
            models.CheckConstraint(condition=~Q(stage="lost") | Q(probability=0), name="crm_opportunity_lost_is_zero"),
        ]
        indexes = [
            models.Index(fields=["expected_close_date", "id"], name="crm_opp_close"),
            models.Index(fields=["owner", "expected_close_date", "id"], name="crm_opp_owner_close"),
            models.Index(fields=["stage", "expected_close_date", "id"], name="crm_opp_stage_close"),
            models.Index(fields=["-amount", "-id"], name="crm_opp_amount"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("crm:opportunity_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.stage in self.OPEN_STAGES

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class ContractQuerySet(CRMQuerySet["Contract"]):
    def active(self) -> ContractQuerySet:
        return self.filter(status=Contract.Status.ACTIVE)


class Contract(TimestampedModel):
    """What an account bought. An account with an active contract is a customer."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        TERMINATED = "terminated", "Terminated"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contracts")
    number = models.CharField(max_length=64, unique=True)
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code")
    owner = _owner_field("owned_contracts")

    # Values of the custom fields ops define for this record type (customfields), validated by
    # customfields.values.clean_values; expression indexes for filterable ones (customfields.indexes).
    custom_fields = models.JSONField(
        default=dict, blank=True, editable=False, db_default=models.Value({}, models.JSONField())
    )

    objects = ContractQuerySet.as_manager()

    class Meta:
        ordering = ["end_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="crm_contract_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="crm_contract_value_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="crm_contract_currency_iso"),
            models.CheckConstraint(condition=~Q(number=""), name="crm_contract_number_not_empty"),
        ]
        indexes = [
            models.Index(fields=["end_date", "id"], name="crm_contract_end"),
            models.Index(fields=["status", "end_date", "id"], name="crm_contract_status_end"),
            models.Index(fields=["account", "status"], name="crm_contract_account_status"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("crm:contract_detail", args=[self.pk])

    @property
    def days_left(self) -> int:
        return (self.end_date - timezone.localdate()).days


class Activity(TimestampedModel):
    """A call, email, meeting, task or note on a record's timeline.

    ``account`` is filled whenever the activity concerns an account's contact or
    opportunity, so the account's timeline is one indexed query.
    """

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        TASK = "task", "Task"
        NOTE = "note", "Note"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, help_text="When it happened or was logged.")
    due_at = models.DateTimeField(null=True, blank=True)
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_activities")
    owner = _owner_field("owned_activities")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="activities")
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )

    objects = CRMQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False)
                | Q(contact__isnull=False)
                | Q(lead__isnull=False)
                | Q(opportunity__isnull=False),
                name="crm_activity_has_subject_record",
            ),
            models.CheckConstraint(
                condition=Q(done=False) | Q(done_at__isnull=False), name="crm_activity_done_has_date"
            ),
            models.CheckConstraint(condition=~Q(subject=""), name="crm_activity_subject_not_empty"),
            models.CheckConstraint(
                condition=~Q(kind="note", done=False),
                name="crm_activity_note_is_done",
                violation_error_message="A note is never open: plan a task to follow up instead.",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_at", "-id"], name="crm_activity_account_tl"),
            models.Index(fields=["contact", "-occurred_at", "-id"], name="crm_activity_contact_tl"),
            models.Index(fields=["lead", "-occurred_at", "-id"], name="crm_activity_lead_tl"),
            models.Index(fields=["opportunity", "-occurred_at", "-id"], name="crm_activity_opp_tl"),
            models.Index(fields=["owner", "done", "due_at"], name="crm_activity_owner_open"),
            models.Index(fields=["-occurred_at", "-id"], name="crm_activity_occurred"),
            # The activities report (issue 16): counts per week, owner and kind from the index alone.
            models.Index(fields=["occurred_at", "kind", "owner"], name="crm_activity_report"),
            models.Index(
                fields=["owner", "due_at"], condition=Q(kind="task", done=False), name="crm_activity_open_task"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def is_overdue(self) -> bool:
        return bool(self.due_at and not self.done and self.due_at < timezone.now())

    @property
    def icon(self) -> str:
        return {
            "call": "telephone",
            "email": "envelope",
            "meeting": "people",
            "task": "check2-square",
            "note": "journal-text",
        }[self.kind]


class ContactReconfirmation(models.Model):
    """A reconfirmation request: a single-use, expiring link asking a person to confirm their data.

    Only a SHA-256 digest of the link's secret is stored; the secret itself exists in the email
    and nowhere else, so a copy of the database lets nobody confirm anything.
    """

    class Outcome(models.TextChoices):
        PENDING = "", "Waiting for an answer"
        CONFIRMED = "confirmed", "Confirmed as correct"
        CORRECTED = "corrected", "Corrected by the person"
        LEFT = "left", "Said they left the company"
        SUPERSEDED = "superseded", "Replaced by a newer request"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="reconfirmations")
    token_hash = models.CharField(max_length=64, unique=True)
    sent_to = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(used_at__isnull=True) & Q(outcome="")) | (Q(used_at__isnull=False) & ~Q(outcome="")),
                name="crm_reconfirmation_used_has_outcome",
            ),
        ]
        indexes = [models.Index(fields=["contact", "-created_at"], name="crm_reconfirm_contact")]

    def __str__(self) -> str:
        return f"Reconfirmation of {self.contact_id} ({self.created_at:%Y-%m-%d})"
