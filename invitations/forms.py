"""Forms for inviting and accepting. They parse and validate; services write."""

from __future__ import annotations

from django import forms
from django.conf import settings

from core.forms import StyledFormMixin
from iam.models import BusinessRole


class StyledForm(StyledFormMixin, forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


def _expiry_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="Link works for (days)",
        min_value=1,
        max_value=settings.INVITATIONS_MAX_EXPIRY_DAYS,
        initial=settings.INVITATIONS_EXPIRY_DAYS,
        help_text=f"1 to {settings.INVITATIONS_MAX_EXPIRY_DAYS} days.",
    )


def _note_field() -> forms.CharField:
    return forms.CharField(
        label="Personal note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Great to meet you at the fair — here is your access."}),
        help_text="Shown in the email, under your name.",
    )


class InviteForm(StyledForm):
    """Staff invite a contact (or anyone by email) into an account, or a lead."""

    email = forms.EmailField(label="Email")
    roles = forms.ModelMultipleChoiceField(
        queryset=BusinessRole.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Business roles",
    )
    note = _note_field()
    expires_in_days = _expiry_field()

    def __init__(self, *args, roles=None, lead: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if lead:
            del self.fields["roles"]
        else:
            self.fields["roles"].queryset = roles if roles is not None else BusinessRole.objects.exclude(key="lead")  # type: ignore[attr-defined]  # stubs: fields are Field
            if not self.is_bound:
                self.fields["roles"].initial = list(
                    self.fields["roles"].queryset.filter(key__in=settings.INVITATIONS_DEFAULT_ROLES)  # type: ignore[attr-defined]  # stubs: fields are Field
                )


class AcceptNewUserForm(StyledForm):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters.",
    )
    password2 = forms.CharField(
        label="Repeat the password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "The two passwords differ.")
        return data


class BatchForm(StyledForm):
    name = forms.CharField(label="Batch name", max_length=200)
    roles = forms.ModelMultipleChoiceField(
        queryset=BusinessRole.objects.exclude(key="lead"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Business roles",
        help_text="For contacts. Leads are invited with the Lead role.",
    )
    note = _note_field()
    expires_in_days = _expiry_field()
