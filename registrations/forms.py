from __future__ import annotations

from typing import Any

from django import forms
from django_countries import countries

from core.forms import StyledFormMixin
from registrations.business_ids import SCHEMES
from registrations.models import MESSAGE_MAX_LENGTH


class RegistrationForm(StyledFormMixin, forms.Form):
    """The public form. It only parses; ``registration_clean`` (in the service) decides what is valid."""

    company_name = forms.CharField(label="Company name", max_length=200, required=False)
    country = forms.ChoiceField(label="Country of registration", required=False)
    business_id = forms.CharField(label="Business / registration id", max_length=64, required=False)
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    email = forms.CharField(label="Work email", max_length=254, required=False)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    password = forms.CharField(label="Password", widget=forms.PasswordInput(render_value=False), required=False)
    terms_accepted = forms.BooleanField(label="I accept the terms of service and the privacy notice", required=False)
    # A field people never see (it is off-screen and skipped by keyboard and screen readers);
    # bots that fill every input do. Named like something worth filling in.
    website = forms.CharField(required=False, label="Website")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "Choose a country"), *list(countries)]  # type: ignore[attr-defined]  # stubs: fields are Field
        self._style_widgets()
        attrs = {
            "company_name": {"autocomplete": "organization"},
            "first_name": {"autocomplete": "given-name"},
            "last_name": {"autocomplete": "family-name"},
            "email": {"autocomplete": "email", "type": "email", "placeholder": "name@company.com"},
            "phone": {"autocomplete": "tel", "type": "tel", "placeholder": "+358 40 123 4567"},
            "password": {"autocomplete": "new-password"},
            "website": {"autocomplete": "off", "tabindex": "-1"},
        }
        for name, extra in attrs.items():
            self.fields[name].widget.attrs.update(extra)

    def add_error(self, field: str | None, error: Any) -> None:
        # The service's verdict arrives after validation: mark those fields invalid too.
        super().add_error(field, error)
        if field in self.fields:
            widget = self.fields[field].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
            widget.attrs["aria-invalid"] = "true"

    @staticmethod
    def business_id_hints() -> dict[str, str]:
        return {code: f"{s.label}, e.g. {s.example}" for code, s in SCHEMES.items()}


class ApproveForm(forms.Form):
    account = forms.IntegerField(required=False)
    create_account = forms.BooleanField(required=False)


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason (sent to the registrant)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX_LENGTH,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class InfoRequestForm(StyledFormMixin, forms.Form):
    message = forms.CharField(
        label="What do you need to know? (sent to the registrant)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX_LENGTH,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class ResponseForm(StyledFormMixin, forms.Form):
    response = forms.CharField(label="Your answer", widget=forms.Textarea(attrs={"rows": 5}), max_length=4000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
