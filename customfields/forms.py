"""Custom fields on record forms (staff and portal), and the definition form for operations."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError

from core.forms import DATE_INPUT, StyledFormMixin
from customfields.models import KEY_VALIDATOR, CustomField
from customfields.selectors import fields_for
from customfields.values import clean_values

if TYPE_CHECKING:
    from collections.abc import Iterable

T = CustomField.Type
PREFIX = "cf_"


def form_field(field: CustomField) -> forms.Field:
    """The form field a person fills in for ``field``; ``clean_values`` then decides what is stored."""
    common: dict[str, Any] = {
        "label": field.label,
        "required": field.required and field.type != T.BOOLEAN,
        "help_text": field.help_text,
    }
    if field.type == T.LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=field.max_length, **common)
    if field.type in (T.NUMBER, T.MONEY):
        attrs = {"step": "0.01" if field.type == T.MONEY else "any"}
        if field.min_value is not None:
            attrs["min"] = str(field.min_value.normalize())
        if field.max_value is not None:
            attrs["max"] = str(field.max_value.normalize())
        return forms.DecimalField(widget=forms.NumberInput(attrs=attrs), **common)
    if field.type == T.DATE:
        return forms.DateField(widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"), **common)
    if field.type == T.BOOLEAN:
        return forms.BooleanField(**common)
    if field.type == T.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *field.offered_choices()], **common)
    if field.type == T.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=field.offered_choices(), widget=forms.SelectMultiple(attrs={"size": 4}), **common
        )
    if field.type == T.URL:
        return forms.URLField(assume_scheme="https", max_length=field.max_length, **common)
    if field.type == T.EMAIL:
        return forms.EmailField(max_length=field.max_length, **common)
    if field.type == T.USER:
        from iam.models import User

        return forms.ModelChoiceField(
            queryset=User.objects.staff().order_by("first_name", "last_name", "email"), **common
        )
    text = forms.CharField(max_length=field.max_length, **common)
    if field.regex:
        text.widget.attrs["pattern"] = field.regex
    return text


def _initial(field: CustomField, value: Any) -> Any:
    if value is None:
        return None
    if field.type == T.DATE:
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return value
    if field.type == T.MULTI_CHOICE:
        return list(value) if isinstance(value, list) else [value]
    return value


if TYPE_CHECKING:
    _FormBase = forms.BaseForm  # the mixin is only ever mixed into forms
else:
    _FormBase = object


class CustomFieldsFormMixin(_FormBase):
    """Adds a form field per custom field of the record type; ``clean`` validates them with ``clean_values``.

    The form's own ``clean`` must call ``clean_custom_fields()``; the cleaned values land on
    ``self.instance.custom_fields`` for the service to save (``crm.services.*_save``).
    """

    custom_field_defs: list[CustomField]

    def add_custom_fields(self, model_label: str, existing: dict | None, *, only: Iterable[CustomField] | None = None):
        self.custom_model_label = model_label
        self.custom_field_defs = list(only) if only is not None else fields_for(model_label)
        self.custom_existing = existing
        for field in self.custom_field_defs:
            name = PREFIX + field.key
            self.fields[name] = form_field(field)
            if existing is not None and field.key in existing:
                self.initial.setdefault(name, _initial(field, existing[field.key]))
            elif existing is None and field.default is not None:
                self.initial.setdefault(name, _initial(field, field.default))

    def custom_field_names(self) -> list[str]:
        return [PREFIX + f.key for f in self.custom_field_defs]

    def clean_custom_fields(self, *, partial: bool = False) -> dict | None:
        data = {}
        for field in self.custom_field_defs:
            name = PREFIX + field.key
            if name not in self.cleaned_data:
                return None  # the form field already has an error
            value = self.cleaned_data[name]
            if field.type == T.USER and value is not None:
                value = value.pk
            data[field.key] = value
        try:
            return clean_values(self.custom_model_label, data, partial=partial, existing=self.custom_existing)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(PREFIX + key if PREFIX + key in self.fields else None, messages)
            return None


class _DefaultField(forms.JSONField):
    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class CustomFieldForm(StyledFormMixin, forms.ModelForm):
    """Operations define (and change) a custom field. Its choices come as one line each: ``value = Label``."""

    choices_text = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "gold = Gold\nsilver = Silver"}),
        help_text="One per line: value = label. Change a label in place; the value stays on the records. "
        "Prefix a line with ~ to retire it (kept on records, no longer offered).",
    )

    class Meta:
        model = CustomField
        fields = [
            "model",
            "label",
            "key",
            "type",
            "required",
            "default",
            "help_text",
            "min_value",
            "max_value",
            "max_length",
            "regex",
            "position",
            "filterable",
            "show_in_list",
            "portal_visibility",
        ]
        widgets = {"default": forms.TextInput()}
        field_classes = {"default": _DefaultField}
        help_texts = {"default": 'As JSON: "EN", 10, true, "2026-01-31", ["a", "b"].'}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The key is the API's and the integrations' name for the field: it never changes.
            self.fields["key"].disabled = True
            self.fields["model"].disabled = True
            self.fields["type"].help_text = "Changing it converts what converts, and refuses if values would be lost."
            self.initial.setdefault(
                "choices_text",
                "\n".join(
                    f"{'~' if c.get('retired') else ''}{c['value']} = {c['label']}" for c in self.instance.choices
                ),
            )
        if not self.instance.pk:
            self.initial.setdefault("position", None)  # empty: after the others
        self.fields["position"].required = False
        self.fields["position"].help_text = "Order in the form; empty: after the others."
        self.fields["key"].validators = [KEY_VALIDATOR]
        self.fields["key"].required = False
        self.fields["key"].help_text = "Left empty: made from the label. Never changes once saved."
        self._style_widgets()

    def clean_choices_text(self) -> list[dict[str, Any]]:
        choices: list[dict[str, Any]] = []
        errors = []
        for line in (self.cleaned_data.get("choices_text") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            retired = line.startswith("~")
            line = line.lstrip("~").strip()
            value, _, label = line.partition("=")
            value, label = value.strip(), (label.strip() or value.strip())
            if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,50}", value):
                errors.append(f"“{value}”: a value is letters, digits, _ . - (at most 50).")
                continue
            if any(c["value"] == value for c in choices):
                errors.append(f"“{value}” is listed twice.")
                continue
            choices.append({"value": value, "label": label[:100], "retired": retired})
        if errors:
            raise forms.ValidationError(errors)
        return choices

    def clean_position(self) -> int:
        return self.cleaned_data.get("position") or 0

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("key") and cleaned.get("label") and not self.instance.pk:
            key = re.sub(r"[^a-z0-9]+", "_", cleaned["label"].lower()).strip("_")[:50]
            cleaned["key"] = key if key[:1].isalpha() else f"f_{key}"[:50]
        return cleaned
