from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="iam_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(is_staff=True) | models.Q(staff_role=""),
                name="iam_user_staff_role_only_for_staff",
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
