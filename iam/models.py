from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from crm.models import Contract


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("staff_role", User.StaffRole.OPERATIONS)
        return self._create_user(email, password, **extra)

    def staff(self) -> models.QuerySet[User]:
        return self.filter(is_staff=True, is_active=True)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Staff users work in the CRM; everyone else is an external user of the portal."""

    class StaffRole(models.TextChoices):
        NONE = "", "External user"
        SALES_REP = "sales_rep", "Sales rep"
        SALES_MANAGER = "sales_manager", "Sales manager"
        SERVICE_DESK = "service_desk", "Service desk"
        OPERATIONS = "operations", "Operations"

    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Staff users work in the CRM; others only reach the portal."
    )
    staff_role = models.CharField(max_length=20, choices=StaffRole.choices, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Out of office (territories): no automatic assignment goes to them from the first day to the
    # last, both included. Set by the person on their profile, or by their manager.
    out_of_office_from = models.DateField("out of office from", null=True, blank=True)
    out_of_office_until = models.DateField("out of office until", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="iam_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(is_staff=True) | models.Q(staff_role=""),
                name="iam_user_staff_role_only_for_staff",
            ),
        ]
        indexes = [
            # The owner pickers and filters list active staff by name: a few dozen rows among
            # hundreds of thousands of portal users, which a scan of the table would read.
            models.Index(
                fields=["first_name", "last_name"],
                condition=models.Q(is_staff=True, is_active=True),
                name="iam_user_active_staff",
            ),
        ]
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        if parts:
            return "".join(p[0] for p in parts).upper()
        return self.email[:2].upper()

    @property
    def is_external(self) -> bool:
        return not self.is_staff


class BusinessRole(models.Model):
    """A role a customer understands ("Organisation admin", "Buyer"). Defined by staff."""

    ORG_ADMIN = "org_admin"
    LEAD = "lead"

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    delegable = models.BooleanField(
        default=False, help_text="Organisation admins may grant this role to their colleagues."
    )
    application_roles = models.ManyToManyField(
        "iam.ApplicationRole",
        blank=True,
        related_name="business_roles",
        help_text="What this role means per application.",
    )
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Application(models.Model):
    """One of the company's online services, signing its users in as an OpenID Connect client."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    # allauth's client record: redirect URIs, hashed secret, grant types (iam.oidc.services keeps it in step).
    oidc_client = models.OneToOneField(
        "allauth_idp_oidc.Client",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="application",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApplicationRole(models.Model):
    """A role an application understands, e.g. "orders:write"."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="roles")
    key = models.CharField(max_length=100)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["application__name", "key"]
        constraints = [models.UniqueConstraint(fields=["application", "key"], name="iam_approle_unique_key")]

    def __str__(self) -> str:
        return f"{self.application.key}: {self.key}"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def for_account(self, account) -> MembershipQuerySet:
        return self.filter(account=account)

    def usable(self) -> MembershipQuerySet:
        """Memberships that let their user in right now: active, and contract or lead-only."""
        active_contract = models.Exists(
            Contract.objects.filter(account=models.OuterRef("account"), status=Contract.Status.ACTIVE)
        )
        return self.filter(status=Membership.Status.ACTIVE).filter(active_contract | models.Q(is_lead_only=True))


class Membership(models.Model):
    """An external user's link to an account and to the contact record that is that person."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        DEACTIVATED = "deactivated", "Removed"

    class SuspendedBy(models.TextChoices):
        NONE = "", "—"
        ADMIN = "admin", "An administrator"
        CONTRACT = "contract", "The contract ended"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    suspended_by = models.CharField(max_length=16, choices=SuspendedBy.choices, blank=True)
    roles = models.ManyToManyField(BusinessRole, blank=True, related_name="memberships")
    # Denormalised from roles (kept by the services): lets "usable" stay one indexed query.
    is_lead_only = models.BooleanField(default=False, editable=False)
    is_org_admin = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["account__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="iam_membership_one_per_account"),
            models.CheckConstraint(
                condition=models.Q(status="suspended", suspended_by__in=["admin", "contract"])
                | (~models.Q(status="suspended") & models.Q(suspended_by="")),
                name="iam_membership_suspension_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="iam_membership_account_status"),
            models.Index(fields=["user", "status"], name="iam_membership_user_status"),
        ]

    def __str__(self) -> str:
        return f"{self.user.email} @ {self.account}"


class ApplicationAccountChoice(models.Model):
    """The account a user acts for in an application: chosen at sign-in, carried by its tokens.

    One per user and application. Choosing another account ends the application's tokens
    issued for the previous one, so a live token never changes account.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="application_account_choices")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="account_choices")
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="application_account_choices")
    chosen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="iam_app_account_choice_one_per_app"),
        ]
        indexes = [models.Index(fields=["account", "user"], name="iam_app_choice_account_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.application_id} for {self.account_id}"


class AuditEvent(models.Model):
    """Append-only record of an identity or access change. Written only via iam.audit.audit_record."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    # No database-level FKs: history outlives the users and accounts it speaks of, and the rows
    # are never updated (a trigger forbids it on PostgreSQL), not even to null a reference.
    actor = models.ForeignKey(
        User, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True, help_text="Who, as they were called then.")
    account = models.ForeignKey(
        "crm.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "-occurred_at", "-id"], name="iam_audit_account_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.target_label}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")
