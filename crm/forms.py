"""Forms for the sales-rep UI: parse and validate input; services do the writing."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import DomainNameValidator
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from core.forms import DATE_INPUT, StyledFormMixin
from crm.matching import AccountMatch
from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from customfields.forms import CustomFieldsFormMixin
from iam.models import User

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.forms.models import ModelChoiceIterator


def staff_owner_choices(current_owner_id: int | None = None) -> QuerySet[User]:
    """Active staff, plus the record's current owner so an edit never silently drops them."""
    staff = User.objects.staff()
    if current_owner_id and not staff.filter(pk=current_owner_id).exists():
        # Only then the OR, which the partial index of active staff cannot serve.
        staff = User.objects.filter(Q(is_staff=True, is_active=True) | Q(pk=current_owner_id))
    return staff.order_by("first_name", "last_name", "email")


class AccountPicker(forms.Select):
    """A select that renders only the chosen account, with a search box that fetches more.

    A plain <select> of every account would render 100,000 options; the search goes to
    ``crm:account_options`` through htmx.
    """

    template_name = "components/account_picker.html"
    choices: ModelChoiceIterator  # it only ever renders an AccountChoiceField

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> str:
        # The project's template engine (not the form renderer's) holds templates/components/.
        return mark_safe(render_to_string(template_name, context))  # noqa: S308

    def optgroups(self, name: str, value: list[Any], attrs: dict | None = None) -> list:
        chosen = [v for v in value if str(v).isdecimal()]
        options = [self.create_option(name, "", self.choices.field.empty_label or "—", not chosen, 0)]  # type: ignore[arg-type]  # stubs: lazy labels render as str
        if chosen:
            account = self.choices.queryset.filter(pk=int(chosen[0])).only("pk", "name").first()
            if account is not None:
                options.append(self.create_option(name, account.pk, account.name, True, 1))
        return [(None, options, 0)]


class AccountChoiceField(forms.ModelChoiceField):
    widget = AccountPicker

    def __init__(self, *, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("empty_label", "Search and choose an account")
        super().__init__(queryset=Account.objects.visible_to(user), **kwargs)


class RecordForm(CustomFieldsFormMixin, StyledFormMixin, forms.ModelForm):
    """A CRM record form: owner defaults to the current user, chosen among active staff.

    The record type's custom fields follow the built-in ones, validated by ``clean_values``.
    """

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if "owner" in self.fields:
            self.fields["owner"].queryset = staff_owner_choices(self.instance.owner_id if self.instance.pk else None)  # type: ignore[attr-defined]  # stubs: fields are Field
            self.fields["owner"].empty_label = None  # type: ignore[attr-defined]  # stubs: fields are Field
            if not self.instance.pk and not self.initial.get("owner"):
                self.initial["owner"] = user.pk
        if "account" in self.fields:
            self.fields["account"] = AccountChoiceField(
                user=user, label="Account", initial=self.fields["account"].initial
            )
        for field in self.fields.values():
            if isinstance(field, forms.DateField):
                field.widget = forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d")
        self.add_custom_fields(
            self._meta.model._meta.label_lower,  # type: ignore[union-attr]  # every RecordForm names its model
            self.instance.custom_fields if self.instance.pk else None,
        )
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        values = self.clean_custom_fields()
        if values is not None:
            self.instance.custom_fields = values
        return cleaned

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError("Use a three-letter ISO 4217 code such as EUR.")
        return currency


_DOMAIN_SPLIT = re.compile(r"[\s,;]+")


class AccountForm(RecordForm):
    website = forms.URLField(
        required=False, assume_scheme="https", widget=forms.URLInput(attrs={"placeholder": "https://"})
    )
    email_domains = forms.CharField(
        label="Email domains",
        required=False,
        help_text="Comma-separated, e.g. acme.com, acme.de. People with these addresses belong to this account.",
    )

    class Meta:
        model = Account
        fields = [
            "name",
            "business_id",
            "country",
            "website",
            "industry",
            "tier",
            "territory",
            "owner",
            "require_mfa",
            "allow_public_email",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "email_domains" not in self.initial:
            domains = self.instance.email_domains.values_list("domain", flat=True)[:100]
            self.initial["email_domains"] = ", ".join(domains)

    def clean_email_domains(self) -> list[str]:
        raw = self.cleaned_data.get("email_domains") or ""
        domains: list[str] = []
        invalid: list[str] = []
        validate = DomainNameValidator(accept_idna=False)
        for part in _DOMAIN_SPLIT.split(raw):
            domain = part.strip().lower().lstrip("@")
            if not domain:
                continue
            try:
                validate(domain)
            except forms.ValidationError:
                invalid.append(part)
                continue
            if "." not in domain:
                invalid.append(part)
            elif domain not in domains:
                domains.append(domain)
        if invalid:
            raise forms.ValidationError("Not a domain: %(invalid)s.", params={"invalid": ", ".join(invalid)})
        return domains


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = ["account", "first_name", "last_name", "job_title", "email", "phone", "owner", "consent_to_contact"]
        help_texts = {"phone": "International format, e.g. +49 30 1234567."}
        labels = {"consent_to_contact": "Agreed to be contacted"}


class LeadForm(RecordForm):
    company_website = forms.URLField(required=False, assume_scheme="https", label="Company website")

    class Meta:
        model = Lead
        fields = [
            "first_name",
            "last_name",
            "job_title",
            "email",
            "phone",
            "company_name",
            "company_business_id",
            "company_country",
            "company_website",
            "source",
            "status",
            "score",
            "owner",
        ]
        help_texts = {"phone": "International format, e.g. +49 30 1234567.", "score": "0–100"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = self.fields["status"]
        if self.instance.status == Lead.Status.CONVERTED:
            status.disabled = True
            status.help_text = "Converted leads stay converted."
        else:
            status.choices = [c for c in status.choices if c[0] != Lead.Status.CONVERTED]  # type: ignore[attr-defined]  # stubs: fields are Field
        self.fields["score"].widget.attrs.update(min=0, max=100)


class OpportunityForm(RecordForm):
    class Meta:
        model = Opportunity
        fields = ["account", "name", "stage", "amount", "currency", "expected_close_date", "probability", "owner"]
        labels = {"expected_close_date": "Expected close", "probability": "Probability (%)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].min_value = 0  # type: ignore[attr-defined]  # stubs: fields are Field
        self.fields["amount"].widget.attrs.update(min=0, step="0.01")
        self.fields["probability"].widget.attrs.update(min=0, max=100)
        # static/js/app.js fills in the stage's usual probability when the stage changes.
        defaults = {str(k): v for k, v in Opportunity.DEFAULT_PROBABILITY.items()}
        self.fields["stage"].widget.attrs["data-probability-defaults"] = json.dumps(defaults)
        self.fields["amount"].validators.append(_non_negative)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        stage, probability = cleaned.get("stage"), cleaned.get("probability")
        if stage == Opportunity.Stage.WON and probability is not None and probability != 100:
            self.add_error("probability", "A won deal is certain: set the probability to 100 %.")
        if stage == Opportunity.Stage.LOST and probability is not None and probability != 0:
            self.add_error("probability", "A lost deal has no chance: set the probability to 0 %.")
        return cleaned


def _non_negative(value: Any) -> None:
    if value is not None and value < 0:
        raise forms.ValidationError("Must be zero or more.")


class ContractForm(RecordForm):
    class Meta:
        model = Contract
        fields = ["account", "number", "status", "start_date", "end_date", "value", "currency", "owner"]
        labels = {"start_date": "Starts", "end_date": "Ends"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"].widget.attrs.update(min=0, step="0.01")
        self.fields["value"].validators.append(_non_negative)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "A contract cannot end before it starts.")
        return cleaned


class ActivityForm(StyledFormMixin, forms.Form):
    """The quick "log a call / add a note" form on every record page."""

    TARGETS = (("account", "Account"), ("contact", "Contact"), ("lead", "Lead"), ("opportunity", "Opportunity"))

    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.CALL, widget=forms.RadioSelect)
    subject = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "What was it about?"}))
    body = forms.CharField(
        required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Notes (optional)"})
    )
    due_at = forms.DateTimeField(
        required=False,
        label="Due",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    target_type = forms.ChoiceField(choices=TARGETS, widget=forms.HiddenInput)
    target_id = forms.IntegerField(widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        self.fields["kind"].widget.attrs["class"] = "btn-check"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("kind") == Activity.Kind.TASK and not cleaned.get("due_at"):
            self.add_error("due_at", "A task needs a due date.")
        return cleaned


class LeadConvertForm(StyledFormMixin, forms.Form):
    MODE_MATCHED, MODE_EXISTING, MODE_NEW = "matched", "existing", "new"

    mode = forms.ChoiceField(
        choices=((MODE_NEW, "Create a new account"), (MODE_EXISTING, "Link to an existing account")),
        widget=forms.RadioSelect,
        label="Account",
    )
    account = forms.ModelChoiceField(queryset=Account.objects.none(), required=False, label="Existing account")
    opportunity_name = forms.CharField(max_length=200, required=False, label="Opportunity name")
    opportunity_amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, label="Amount"
    )
    opportunity_close_date = forms.DateField(
        required=False, label="Expected close", widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, user: User, lead: Lead, match: AccountMatch | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lead = lead
        self.match = match
        self.fields["account"] = AccountChoiceField(user=user, required=False, label="Existing account")
        choices = []
        if match is not None:
            choices.append((self.MODE_MATCHED, f"Link to the existing account {match.account.name}"))
        choices.append((self.MODE_EXISTING, "Link to another account" if match else "Link to an existing account"))
        if (lead.company_name or "").strip():
            choices.append((self.MODE_NEW, "Create a new account"))
        self.fields["mode"].choices = choices
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        mode = cleaned.get("mode")
        if mode == self.MODE_EXISTING and not cleaned.get("account"):
            self.add_error("account", "Choose the account this lead belongs to.")
        if mode == self.MODE_MATCHED and self.match is not None:
            cleaned["account"] = self.match.account
        if mode == self.MODE_NEW:
            cleaned["account"] = None
        cleaned["create_account"] = mode == self.MODE_NEW
        has_details = cleaned.get("opportunity_amount") is not None or cleaned.get("opportunity_close_date")
        if has_details and not (cleaned.get("opportunity_name") or "").strip():
            self.add_error("opportunity_name", "Name the opportunity, or leave amount and date empty.")
        return cleaned


class ContactCorrectionForm(StyledFormMixin, forms.Form):
    """A contact corrects their own details through a reconfirmation link (no account)."""

    FIELDS = ("first_name", "last_name", "job_title", "phone")

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.FIELDS:
            field = Contact._meta.get_field(name).formfield()
            field.initial = getattr(contact, name)
            self.fields[name] = field
        self.fields["phone"].help_text = "International format, e.g. +49 30 1234567."
        self.fields["left_company"] = forms.BooleanField(required=False, label=f"I no longer work at {contact.account}")
        self._style_widgets()

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.FIELDS}
