"""The rule builder: a rule form, a formset of conditions and one of actions. No code, no JSON.

Conditions are written in groups: every condition of a group must hold, and any one group is
enough (``{"any": [{"all": [...]}, …]}``) — which says every AND/OR combination there is.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import formset_factory

from iam.models import User
from workflows import actions as action_specs
from workflows.conditions import OPS, TIME_FIELDS, fields_for
from workflows.events import EVENTS
from workflows.models import EmailTemplate, Rule, Trigger


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ["name", "description", "trigger", "event", "time_field", "time_offset_hours", "max_depth"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"time_offset_hours": "Hours after the date (negative: before)", "max_depth": "Loop guard (max depth)"}

    time_offset_hours = forms.IntegerField(required=False, label="Hours after the date (negative: before)")
    change_field = forms.ChoiceField(required=False, label="When this field changes")
    change_from = forms.CharField(required=False, label="…from (optional)")
    change_to = forms.CharField(required=False, label="…to (optional)")

    def __init__(self, *args: Any, record_type: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.record_type = record_type
        fields = fields_for(record_type)
        self.fields["event"] = forms.ChoiceField(
            required=False,
            choices=[("", "—")] + [(k, e.label) for k, e in EVENTS.items() if e.record_type == record_type],
        )
        self.fields["time_field"] = forms.ChoiceField(
            required=False,
            choices=[("", "—")]
            + [
                (name, fields[name].label if name in fields else name.replace("_", " ").capitalize())
                for name in TIME_FIELDS[record_type]
            ],
        )
        cast(forms.ChoiceField, self.fields["change_field"]).choices = [("", "any field")] + [
            (k, f.label) for k, f in fields.items() if f.kind != "count" and "." not in k.replace("custom.", "")
        ]
        cast(forms.ChoiceField, self.fields["trigger"]).choices = [
            (v, label)
            for v, label in Trigger.choices
            if v != Trigger.EVENT or any(e.record_type == record_type for e in EVENTS.values())
        ]
        for f in self.fields.values():
            css = "form-select" if isinstance(f.widget, forms.Select) else "form-control"
            f.widget.attrs.setdefault("class", css)
        change = (self.instance.change_conditions or [{}])[0] if self.instance.pk else {}
        self.initial.setdefault("change_field", change.get("field", ""))
        self.initial.setdefault("change_from", change.get("from", ""))
        self.initial.setdefault("change_to", change.get("to", ""))

    def change_conditions(self) -> list[dict[str, str]]:
        data = self.cleaned_data
        if not data.get("change_field"):
            return []
        cond = {"field": data["change_field"]}
        if data.get("change_from"):
            cond["from"] = data["change_from"]
        if data.get("change_to"):
            cond["to"] = data["change_to"]
        return [cond]


class ConditionForm(forms.Form):
    group = forms.IntegerField(
        min_value=1,
        max_value=9,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "style": "width:4.5rem"}),
    )
    field = forms.ChoiceField(required=False, widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    op = forms.ChoiceField(
        choices=list(OPS.items()), required=False, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    value = forms.CharField(required=False, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))

    def __init__(self, *args: Any, field_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["field"]).choices = [("", "—"), *field_choices]


class ActionForm(forms.Form):
    """One action: its type and the settings the type needs (the others are ignored)."""

    type = forms.ChoiceField(choices=[("", "—"), *action_specs.ACTIONS.items()], required=False)
    strategy = forms.ChoiceField(choices=[("", "—"), *action_specs.STRATEGIES.items()], required=False, label="How")
    user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="User")
    team = forms.IntegerField(required=False, label="Team", widget=forms.Select())
    subject = forms.CharField(
        required=False,
        max_length=200,
        label="Subject",
        help_text="Placeholders: {{ first_name }}, {{ account.name }} …",
    )
    kind = forms.ChoiceField(
        choices=[("task", "Task"), ("call", "Call"), ("email", "Email"), ("meeting", "Meeting"), ("note", "Note")],
        required=False,
        label="Activity kind",
    )
    due_in_hours = forms.IntegerField(required=False, label="Due in hours")
    field = forms.ChoiceField(required=False, label="Field")
    value = forms.CharField(required=False, label="Value")
    template = forms.ModelChoiceField(queryset=EmailTemplate.objects.all(), required=False, label="Template")
    to = forms.ChoiceField(
        choices=[
            ("record", "the record's person"),
            ("owner", "the owner"),
            ("address", "an address"),
            ("user", "a user"),
        ],
        required=False,
        label="To",
    )
    address = forms.EmailField(required=False, label="Address")
    message = forms.CharField(required=False, max_length=200, label="Message")
    view = forms.IntegerField(required=False, label="Saved view", widget=forms.Select())
    endpoint = forms.IntegerField(required=False, label="Webhook endpoint", widget=forms.Select())
    reassign = forms.BooleanField(required=False, label="Also reassign to the manager")

    PARAMS: dict[str, tuple[str, ...]] = {
        "assign": ("strategy", "user", "team"),
        "task": ("kind", "subject", "due_in_hours"),
        "set_field": ("field", "value"),
        "email": ("template", "to", "address"),
        "notify": ("to", "user", "message"),
        "segment_add": ("view",),
        "segment_remove": ("view",),
        "invite": (),
        "webhook": ("endpoint",),
        "escalate": ("message", "reassign"),
    }

    def __init__(self, *args: Any, record_type: str, choices: dict[str, list[tuple[Any, str]]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = User.objects.staff().order_by("email")
        cast(forms.ChoiceField, self.fields["field"]).choices = (
            [("", "—")]
            + [(name, name.replace("_", " ").capitalize()) for name in action_specs.SETTABLE.get(record_type, ())]
            + [(k, f.label) for k, f in fields_for(record_type).items() if k.startswith("custom.")]
        )
        for name in ("team", "view", "endpoint"):
            self.fields[name].widget.choices = [("", "—"), *choices.get(name, [])]
        for name, f in self.fields.items():
            css = (
                "form-check-input"
                if isinstance(f.widget, forms.CheckboxInput)
                else (
                    "form-select form-select-sm"
                    if isinstance(f.widget, forms.Select)
                    else "form-control form-control-sm"
                )
            )
            f.widget.attrs.setdefault("class", css)
            if name != "type":
                f.widget.attrs["data-action-param"] = name

    def spec(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        kind = data.get("type")
        if not kind:
            return None
        spec: dict[str, Any] = {"type": kind}
        for name in self.PARAMS[kind]:
            value: Any = data.get(name)
            if value in (None, "", False):
                continue
            spec[name] = value.pk if hasattr(value, "pk") else value
        if kind == "task":
            spec.setdefault("kind", "task")
        return spec

    @classmethod
    def initial_for(cls, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(spec.items())


ConditionFormSet = formset_factory(ConditionForm, extra=3, max_num=30)
ActionFormSet = formset_factory(ActionForm, extra=2, max_num=20)


def conditions_from(formset: Any) -> dict[str, Any]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data.get("field"):
            continue
        leaf = {"field": data["field"], "op": data.get("op") or "eq", "value": data.get("value", "")}
        groups.setdefault(data.get("group") or 1, []).append(leaf)
    if not groups:
        return {}
    if len(groups) == 1:
        return {"all": next(iter(groups.values()))}
    return {"any": [{"all": leaves} for _, leaves in sorted(groups.items())]}


def condition_rows(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The builder's rows for a stored tree (groups of ANDs, ORed); other shapes are flattened."""
    if not tree:
        return []
    if "any" in tree and all(isinstance(n, dict) and "all" in n for n in tree["any"]):
        return [{**leaf, "group": n} for n, group in enumerate(tree["any"], start=1) for leaf in group["all"]]
    if "any" in tree:
        return [{**leaf, "group": n} for n, leaf in enumerate(tree["any"], start=1) if "field" in leaf]
    return [{**leaf, "group": 1} for leaf in tree.get("all", []) if "field" in leaf]


class EmailTemplateForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.widget.attrs.setdefault("class", "form-control")

    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}
        help_texts = {
            "body": "Placeholders: {{ first_name }}, {{ last_name }}, {{ owner }}, {{ account.name }}, "
            "{{ custom.<key> }}, {{ record }}."
        }
