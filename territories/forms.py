"""Forms of the territories, teams and routing pages. They parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django_countries import countries

from cases.models import Case
from core.forms import DATE_INPUT, StyledFormMixin
from crm.models import Account, Lead
from iam.models import User
from territories.models import AssignmentRule, Team, TeamMembership, Territory
from territories.regions import REGION_CHOICES


def _staff() -> Any:
    return User.objects.staff().order_by("first_name", "last_name", "email")


class _Styled(StyledFormMixin):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"


class TeamForm(_Styled, forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "key", "description", "manager"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = _staff()  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["key"].disabled = True


class MemberForm(_Styled, forms.ModelForm):
    class Meta:
        model = TeamMembership
        fields = ["user", "max_open_leads", "max_open_cases", "accepts_assignments"]
        labels = {"user": "Person", "max_open_leads": "Most open leads", "max_open_cases": "Most open cases"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _staff()  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["user"].disabled = True


class OutOfOfficeForm(_Styled, forms.Form):
    out_of_office_from = forms.DateField(
        label="Away from", required=False, widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d")
    )
    out_of_office_until = forms.DateField(
        label="Back after (last day away)",
        required=False,
        widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
        help_text="Both days included. No automatic assignment reaches you in between.",
    )


def _multi(choices: Any, label: str, help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=choices, required=False, label=label, help_text=help_text, widget=forms.CheckboxSelectMultiple
    )


class TerritoryForm(_Styled, forms.ModelForm):
    countries = forms.MultipleChoiceField(
        choices=list(countries),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    regions = _multi(REGION_CHOICES, "Regions", "Each region stands for its countries.")
    industries = _multi(Account.Industry.choices, "Industries")

    class Meta:
        model = Territory
        fields = [
            "name",
            "position",
            "is_active",
            "countries",
            "regions",
            "industries",
            "custom_field",
            "custom_value",
            "team",
            "owner",
        ]
        labels = {"custom_field": "Custom field (key)", "custom_value": "… has the value", "is_active": "Active"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _staff()  # type: ignore[attr-defined]


class RuleForm(_Styled, forms.ModelForm):
    lead_sources = _multi(Lead.Source.choices, "Lead source is one of")
    case_categories = _multi(Case.Category.choices, "Case category is one of")
    severities = _multi(Case.Severity.choices, "Severity is one of")
    territories = forms.ModelMultipleChoiceField(
        queryset=Territory.objects.order_by("position", "id"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Territory is one of",
    )

    class Meta:
        model = AssignmentRule
        fields = [
            "name",
            "record_type",
            "position",
            "is_active",
            "lead_sources",
            "custom_field",
            "custom_value",
            "case_categories",
            "severities",
            "strategy",
            "team",
            "user",
            "fallback_user",
        ]
        labels = {
            "record_type": "Routes new",
            "custom_field": "Lead custom field (key)",
            "custom_value": "… has the value",
            "user": "Person",
            "fallback_user": "When nobody is available",
            "is_active": "Active",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("user", "fallback_user"):
            self.fields[name].queryset = _staff()  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["territories"].initial = list(self.instance.territories.values_list("pk", flat=True))


class RoutingTestForm(_Styled, forms.Form):
    """A sample new lead or case: who would the rules give it to, and why."""

    record_type = forms.ChoiceField(choices=AssignmentRule.RecordType.choices, label="A new")
    source = forms.ChoiceField(choices=Lead.Source.choices, required=False, label="Lead source")
    country = forms.ChoiceField(choices=[("", "—"), *countries], required=False, label="Company country")
    custom = forms.CharField(
        required=False,
        label="Lead custom field",
        help_text="key=value, e.g. product_interest=robots",
    )
    account = forms.ModelChoiceField(
        queryset=Account.objects.none(), required=False, label="Case account (id)", widget=forms.NumberInput
    )
    category = forms.ChoiceField(choices=Case.Category.choices, required=False, label="Case category")
    severity = forms.ChoiceField(choices=Case.Severity.choices, required=False, label="Severity", initial="normal")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.all()  # type: ignore[attr-defined]

    def clean_custom(self) -> dict[str, str]:
        raw = (self.cleaned_data.get("custom") or "").strip()
        if not raw:
            return {}
        key, sep, value = raw.partition("=")
        if not sep or not key.strip():
            raise forms.ValidationError("Write it as key=value.")
        return {key.strip(): value.strip()}

    def sample(self) -> Lead | Case:
        data = self.cleaned_data
        if data["record_type"] == AssignmentRule.RecordType.CASE:
            account = data.get("account")
            case = Case(subject="Sample", category=data.get("category") or "question")
            case.severity = data.get("severity") or "normal"
            if account is not None:
                case.account = account
            return case
        return Lead(
            last_name="Sample",
            source=data.get("source") or Lead.Source.OTHER,
            company_country=data.get("country") or "",
            custom_fields=data.get("custom") or {},
        )
