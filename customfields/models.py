"""Custom field definitions. The values live on the records (``custom_fields`` JSONB)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

KEY_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$",
    "Start with a lowercase letter; then lowercase letters, digits and underscores (at most 50).",
)


class CustomField(models.Model):
    class RecordType(models.TextChoices):
        ACCOUNT = "crm.account", "Accounts"
        CONTACT = "crm.contact", "Contacts"
        LEAD = "crm.lead", "Leads"
        OPPORTUNITY = "crm.opportunity", "Opportunities"
        CONTRACT = "crm.contract", "Contracts"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        NUMBER = "number", "Number"
        MONEY = "money", "Money"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes / no"
        CHOICE = "choice", "Single choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"
        EMAIL = "email", "Email"
        USER = "user", "Staff user"

    class PortalVisibility(models.TextChoices):
        HIDDEN = "hidden", "Hidden from the customer"
        VISIBLE = "visible", "Customer sees it"
        EDITABLE = "editable", "Customer sees and edits it"

    model = models.CharField("record type", max_length=32, choices=RecordType.choices)
    key = models.CharField(
        max_length=50,
        validators=[KEY_VALIDATOR],
        help_text="The name in the API, webhooks and exports, e.g. erp_customer_number. It never changes.",
    )
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.TEXT)
    required = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True, help_text="Value a new record starts with.")
    help_text = models.CharField(max_length=300, blank=True)
    # Validation settings; which apply depends on the type.
    min_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    max_length = models.PositiveIntegerField(null=True, blank=True)
    regex = models.CharField("pattern", max_length=300, blank=True, help_text="A regular expression text must match.")
    # [{"value": "gold", "label": "Gold", "retired": false}, …] in the order they are offered.
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    portal_visibility = models.CharField(
        max_length=8, choices=PortalVisibility.choices, default=PortalVisibility.HIDDEN
    )
    filterable = models.BooleanField(
        default=False, help_text="Offer it as a list filter and sort (the list gets an index for it)."
    )
    show_in_list = models.BooleanField(default=False, help_text="Show it as a list column by default.")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "key"], name="customfields_unique_key"),
            models.CheckConstraint(
                condition=~Q(portal_visibility="editable") | Q(model="crm.contact"),
                name="customfields_portal_contacts_only",
                violation_error_message="Only contact fields can be edited in the portal.",
            ),
        ]
        indexes = [models.Index(fields=["model", "archived_at", "position"], name="customfields_model_pos")]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_model_display().lower()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        _forget()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        result = super().delete(*args, **kwargs)
        _forget()
        return result

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_choice(self) -> bool:
        return self.type in (self.Type.CHOICE, self.Type.MULTI_CHOICE)

    def offered_choices(self) -> list[tuple[str, str]]:
        """(value, label) of the choices a person may pick now: retired ones are kept, not offered."""
        return [(c["value"], c["label"]) for c in self.choices if not c.get("retired")]

    def choice_labels(self) -> dict[str, str]:
        return {c["value"]: c["label"] for c in self.choices}

    def display(self, value: Any) -> str:
        """The value as a person reads it: choice labels, Yes/No, a user's name."""
        if value is None or value == "" or value == []:
            return ""
        if self.type == self.Type.BOOLEAN:
            return "Yes" if value else "No"
        if self.is_choice:
            labels = self.choice_labels()
            values = value if isinstance(value, list) else [value]
            return ", ".join(labels.get(str(v), str(v)) for v in values)
        return str(value)

    @property
    def index_name(self) -> str:
        """The expression index that serves this field's filter and sort (``customfields.indexes``)."""
        table = self.model.split(".")[1]
        return f"cf_{table}_{self.key}"[:63]


def _forget() -> None:
    # Every process keeps the definitions in the shared cache: a change must reach them all.
    from customfields.selectors import forget_cached_fields

    forget_cached_fields()
