from __future__ import annotations

import zoneinfo

from django import forms

from cases.models import Case, CaseMessage, ServiceLevel
from cases.selectors import category_choices
from core.forms import StyledFormMixin
from crm.forms import AccountChoiceField
from crm.models import Account, Contract
from iam.models import User


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks their types and sizes."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class PortalCaseForm(StyledFormMixin, forms.Form):
    subject = forms.CharField(max_length=200, help_text="In a few words: what is wrong, or what do you need?")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What you did, what happened, what you expected. Error messages help.",
    )
    category = forms.ChoiceField(initial=Case.Category.QUESTION)
    severity = forms.ChoiceField(choices=Case.Severity.choices, initial=Case.Severity.NORMAL)
    attachments = MultipleFileField(
        label="Attachments", help_text="PDF, images, text, CSV, ZIP or Office files; 10 MB each."
    )
    draft = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()  # type: ignore[attr-defined]  # a ChoiceField
        self._style_widgets()


class ReplyForm(StyledFormMixin, forms.Form):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 4}))
    attachments = MultipleFileField(label="Attachments")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class StaffReplyForm(ReplyForm):
    kind = forms.ChoiceField(choices=CaseMessage.Kind.choices, initial=CaseMessage.Kind.REPLY, widget=forms.RadioSelect)
    status = forms.ChoiceField(
        label="Then set the case to",
        choices=[("", "Leave as it is"), *[(s, label) for s, label in Case.Status.choices if s != "new"]],
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class AssignForm(StyledFormMixin, forms.Form):
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Unassigned")
    team = forms.ChoiceField(choices=Case.Team.choices)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = User.objects.filter(is_staff=True, is_active=True).order_by(
            "first_name", "last_name", "email"
        )
        self._style_widgets()


class MergeForm(StyledFormMixin, forms.Form):
    survivor = forms.IntegerField(label="Merge into case number", min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class StaffCaseForm(StyledFormMixin, forms.Form):
    """A case staff open for a customer (a call, a meeting): the account is searched, not listed."""

    account = forms.IntegerField(widget=forms.HiddenInput)  # replaced in __init__ by the picker
    contact = forms.IntegerField(widget=forms.HiddenInput, required=False)
    requester_email = forms.EmailField(
        label="Reply to", required=False, help_text="Where replies go; the contact's address when left empty."
    )
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = forms.ChoiceField(initial=Case.Category.QUESTION)
    severity = forms.ChoiceField(choices=Case.Severity.choices, initial=Case.Severity.NORMAL)
    team = forms.ChoiceField(choices=Case.Team.choices, initial=Case.Team.SERVICE_DESK)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Unassigned")
    attachments = MultipleFileField(label="Attachments")
    draft = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"] = AccountChoiceField(user=user, label="Account")
        self.fields["category"].choices = category_choices()  # type: ignore[attr-defined]  # a ChoiceField
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = User.objects.filter(is_staff=True, is_active=True).order_by(
            "first_name", "last_name", "email"
        )
        self._style_widgets()


class ServiceLevelForm(StyledFormMixin, forms.ModelForm):
    """A service level as operations set it up: whom it is for, its targets and its calendar."""

    APPLIES_TO = [
        ("default", "Everyone (the default)"),
        ("tier", "Every account of a tier"),
        ("contract", "One contract"),
    ]
    WEEKDAYS = [("0", "Mon"), ("1", "Tue"), ("2", "Wed"), ("3", "Thu"), ("4", "Fri"), ("5", "Sat"), ("6", "Sun")]

    applies_to = forms.ChoiceField(choices=APPLIES_TO, widget=forms.RadioSelect, initial="default")
    tier = forms.ChoiceField(choices=[("", "—"), *Account.Tier.choices], required=False)
    contract_number = forms.CharField(label="Contract number", required=False, max_length=64)
    working_days = forms.MultipleChoiceField(
        choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple, initial=["0", "1", "2", "3", "4"]
    )

    class Meta:
        model = ServiceLevel
        fields = [
            "name",
            "first_response_minutes",
            "resolution_minutes",
            "warn_percent",
            "time_zone",
            "opens",
            "closes",
            "includes",
        ]
        labels = {
            "first_response_minutes": "First response within (business minutes)",
            "resolution_minutes": "Resolution within (business minutes)",
            "warn_percent": "Amber at (% of a target used)",
        }
        widgets = {
            "opens": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "includes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        level = self.instance
        if level.pk:
            self.initial["applies_to"] = "contract" if level.contract_id else ("tier" if level.tier else "default")
            self.initial["tier"] = level.tier
            self.initial["contract_number"] = level.contract.number if level.contract_id else ""
            self.initial["working_days"] = list(level.weekdays)
        self._style_widgets()
        self.fields["working_days"].widget.attrs["class"] = "btn-check"  # toggle buttons, Mon to Sun

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError("Use a time zone name such as Europe/Berlin or UTC.") from None
        return name

    def clean(self) -> dict:
        data = super().clean()
        applies_to = data.get("applies_to")
        data["contract"] = None
        if applies_to == "tier" and not data.get("tier"):
            self.add_error("tier", "Choose the tier.")
        if applies_to == "contract":
            number = data.get("contract_number", "").strip()
            data["contract"] = Contract.objects.select_related("account").filter(number=number).first()
            if data["contract"] is None:
                self.add_error("contract_number", "There is no contract with that number.")
        return data

    def service_fields(self) -> dict:
        data = self.cleaned_data
        applies_to = data["applies_to"]
        return {
            **{name: data[name] for name in self.Meta.fields},
            "contract": data["contract"] if applies_to == "contract" else None,
            "tier": data["tier"] if applies_to == "tier" else "",
            "is_default": applies_to == "default",
            "weekdays": "".join(data["working_days"]),
        }


class HolidayForm(StyledFormMixin, forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class CategoryForm(StyledFormMixin, forms.Form):
    key = forms.SlugField(
        max_length=16, help_text="Lower-case letters, digits and dashes. It never changes (the API and rules use it)."
    )
    name = forms.CharField(max_length=100)
    sort_order = forms.IntegerField(min_value=0, max_value=32000, initial=100)
    active = forms.BooleanField(required=False, initial=True, help_text="Offered for new cases.")

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True
        self._style_widgets()
