from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from api.scopes import READ, READ_ONLY, RESOURCES, WRITE, all_scopes
from core.forms import StyledFormMixin
from crm.forms import AccountChoiceField
from iam.models import User

EXPIRY_CHOICES = [("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year"), ("", "Never")]


class ApiKeyForm(StyledFormMixin, forms.Form):
    name = forms.CharField(
        max_length=100, label="Name", help_text="What the key is for, so you recognise it later: “ERP sync”."
    )
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in all_scopes()],
        widget=forms.CheckboxSelectMultiple,
        label="Scopes",
        error_messages={"required": "Choose at least one scope."},
    )
    account = forms.Field(required=False)  # replaced in __init__: it needs the user
    expires_in_days = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, initial="90", label="Expires")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"] = AccountChoiceField(
            user=user,
            required=False,
            label="Restrict to an account",
            empty_label="All accounts",
            help_text="Optional: the key then sees only this account's records (and no leads).",
        )
        self._style_widgets()
        self.fields["scopes"].widget.attrs["class"] = "form-check-input"

    def scope_rows(self) -> list[dict[str, Any]]:
        """One row per resource with its read and write checkbox, for the scope table."""
        chosen = set(self["scopes"].value() or [])
        return [
            {
                "resource": resource,
                "label": label,
                "read": f"{resource}:{READ}",
                "write": None if resource in READ_ONLY else f"{resource}:{WRITE}",
                "read_checked": f"{resource}:{READ}" in chosen,
                "write_checked": f"{resource}:{WRITE}" in chosen,
            }
            for resource, label in RESOURCES.items()
        ]

    def expires_at(self) -> dt.datetime | None:
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + dt.timedelta(days=int(days)) if days else None
