"""Form building blocks every app's forms share: the look of a field, and a service's errors on a form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

DATE_INPUT = {"type": "date"}

if TYPE_CHECKING:
    _FormBase = forms.BaseForm  # the mixin is only ever mixed into forms
else:
    _FormBase = object


class StyledFormMixin(_FormBase):
    """Bootstrap classes on every widget, and ``is-invalid`` on each field that has an error."""

    if TYPE_CHECKING:
        # Django's clean() returns cleaned_data; the stubs allow None for forms that return nothing.
        def clean(self) -> dict[str, Any]: ...

    def _style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"


def add_service_errors(form: forms.BaseForm, exc: forms.ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
