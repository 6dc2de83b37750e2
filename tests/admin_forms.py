"""Post a Django admin change form as a browser would: every field as the page shows it."""

from __future__ import annotations

from typing import Any

from django import forms


def _form_data(form: forms.BaseForm) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        widget = getattr(field.widget, "widget", field.widget)  # past RelatedFieldWidgetWrapper
        if isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)
    return data


def admin_form_data(page) -> dict[str, Any]:
    """The POST body that saves ``page`` (an admin add/change page response) unchanged."""
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for row in formset.forms:
            data.update(_form_data(row))
    data["_save"] = "Save"
    return data


def inline_prefix(page, model) -> str:
    for inline in page.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise LookupError(model)
