from __future__ import annotations

from django import forms

from cases.models import Case, CaseMessage
from core.forms import StyledFormMixin
from crm.forms import AccountChoiceField
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
    category = forms.ChoiceField(choices=Case.Category.choices, initial=Case.Category.QUESTION)
    severity = forms.ChoiceField(choices=Case.Severity.choices, initial=Case.Severity.NORMAL)
    attachments = MultipleFileField(
        label="Attachments", help_text="PDF, images, text, CSV, ZIP or Office files; 10 MB each."
    )
    draft = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
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
    category = forms.ChoiceField(choices=Case.Category.choices)
    severity = forms.ChoiceField(choices=Case.Severity.choices, initial=Case.Severity.NORMAL)
    team = forms.ChoiceField(choices=Case.Team.choices, initial=Case.Team.SERVICE_DESK)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Unassigned")
    attachments = MultipleFileField(label="Attachments")
    draft = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"] = AccountChoiceField(user=user, label="Account")
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)
        assignee.queryset = User.objects.filter(is_staff=True, is_active=True).order_by(
            "first_name", "last_name", "email"
        )
        self._style_widgets()
