"""Forms of the self-service portal. They parse input; iam.services decides and writes."""

from __future__ import annotations

from typing import Any

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from core.forms import StyledFormMixin
from customfields.forms import PREFIX, CustomFieldsFormMixin
from customfields.selectors import portal_fields
from iam.models import BusinessRole

# The actions an org admin can filter their audit trail by: those that concern their organisation.
PORTAL_AUDIT_ACTIONS = [
    ("iam.membership.created", "User added"),
    ("iam.membership.roles_changed", "Roles changed"),
    ("iam.membership.suspended", "User suspended"),
    ("iam.membership.reactivated", "User reactivated"),
    ("iam.membership.removed", "User removed"),
    ("iam.account.left_without_admin", "No active admin left"),
    ("iam.user.created", "Sign-in created"),
    ("iam.profile.updated", "Profile updated"),
]


class ProfileForm(CustomFieldsFormMixin, StyledFormMixin, forms.Form):
    first_name = forms.CharField(max_length=100, required=False, label="First name")
    last_name = forms.CharField(max_length=100, label="Last name")
    job_title = forms.CharField(max_length=150, required=False, label="Job title")
    phone = PhoneNumberField(
        required=False,
        label="Phone",
        help_text="In international format, e.g. +49 30 1234567.",
    )
    consent_to_contact = forms.BooleanField(required=False, label="We may contact you about our products and services")

    def __init__(self, *args: Any, contact_values: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The contact's custom fields operations let the customer edit (customfields).
        self.add_custom_fields(
            "crm.contact", contact_values or {}, only=portal_fields("crm.contact", editable_only=True)
        )
        self._style_widgets()
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["job_title"].widget.attrs["autocomplete"] = "organization-title"
        self.fields["phone"].widget.attrs.update(autocomplete="tel", type="tel")

    def clean_phone(self) -> Any:
        # The contact stores "" for no phone; the form field gives "" or a PhoneNumber.
        return self.cleaned_data.get("phone") or ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.custom_field_defs and self.clean_custom_fields(partial=True) is not None:
            sent = {}
            for field in self.custom_field_defs:
                value = cleaned.pop(PREFIX + field.key)
                sent[field.key] = value.pk if hasattr(value, "pk") else value
            cleaned["custom_fields"] = sent
        return cleaned


class MemberRolesForm(forms.Form):
    """All business roles; only those the acting admin may grant are editable in the page.

    Roles the admin may not change keep their current state whatever is posted for them is
    left to ``membership_set_roles`` to refuse, so a crafted request changes nothing.
    """

    roles = forms.ModelMultipleChoiceField(
        queryset=BusinessRole.objects.order_by("sort_order", "name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Business roles",
    )

    def __init__(self, *args: Any, current: list[BusinessRole], grantable_ids: set[int], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"roles": current})
        super().__init__(*args, **kwargs)
        self.current = current
        self.grantable_ids = grantable_ids

    def wanted_roles(self) -> list[BusinessRole]:
        """What was posted, plus held roles the page showed as locked (disabled boxes are not sent)."""
        posted = list(self.cleaned_data["roles"])
        posted_ids = {r.pk for r in posted}
        kept = [r for r in self.current if r.pk not in self.grantable_ids and r.pk not in posted_ids]
        return posted + kept

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "roles" in data and not self.wanted_roles():  # type: ignore[operator]  # stubs: Form.clean() returns cleaned_data
            raise forms.ValidationError("Choose at least one role. To take all access away, remove the user.")
        return data  # type: ignore[return-value]  # stubs: Form.clean() returns cleaned_data

    def role_choices(self) -> list[dict[str, Any]]:
        """Each role with whether it is checked and whether this admin may change it."""
        if self.is_bound and hasattr(self, "cleaned_data") and "roles" in self.cleaned_data:
            checked = {r.pk for r in self.wanted_roles()}
        else:
            checked = {r.pk for r in self.current}
        return [
            {"role": role, "checked": role.pk in checked, "editable": role.pk in self.grantable_ids}
            for role in self.fields["roles"].queryset  # type: ignore[attr-defined]  # stubs: fields are Field
        ]


class AuditFilterForm(StyledFormMixin, forms.Form):
    action = forms.ChoiceField(choices=[("", "All changes"), *PORTAL_AUDIT_ACTIONS], required=False, label="Action")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        self.fields["action"].widget.attrs.update({"aria-label": "Action", "data-autosubmit": ""})
