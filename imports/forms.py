from __future__ import annotations

from typing import Any

from django import forms

from core.forms import StyledFormMixin
from imports.mapping import targets_for
from imports.models import DuplicatePolicy, ImportJob, Resource
from imports.normalise import DATE_FORMATS

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class UploadForm(StyledFormMixin, forms.Form):
    resource = forms.ChoiceField(label="Import", choices=Resource.choices, initial=Resource.CONTACTS)
    file = forms.FileField(
        label="File",
        help_text=(
            "CSV (comma, semicolon or tab; UTF-8, Latin-1 or Windows-1252) or Excel (.xlsx), "
            "first row naming the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB; split it into smaller files.")
        return upload


class MappingForm(StyledFormMixin, forms.Form):
    """One choice per column of the file, and the import's options."""

    policy = forms.ChoiceField(label="When a row matches an existing record", choices=DuplicatePolicy.choices)
    default_country = forms.CharField(
        label="Default country for phone numbers",
        required=False,
        max_length=2,
        help_text="ISO code (FI, DE…) for numbers written without +country code.",
    )
    date_format = forms.ChoiceField(label="Dates in the file", choices=[(k, v) for k, v in DATE_FORMATS.items()])
    save_as = forms.CharField(
        label="Save this mapping as", required=False, max_length=100, help_text="Optional: reuse it next time."
    )

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [("", "— don't import —"), *((t.key, t.label) for t in targets_for(job.resource))]
        self.column_fields = []
        for index, header in enumerate(job.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header or f"Column {index + 1}", choices=choices, required=False
            )
            self.column_fields.append(name)
        self._style_widgets()

    def columns(self) -> list[forms.BoundField]:
        return [self[name] for name in self.column_fields]

    def options(self) -> list[forms.BoundField]:
        return [self[name] for name in ("policy", "default_country", "date_format", "save_as")]

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("col_"): self.cleaned_data[name]
            for name in self.column_fields
            if self.cleaned_data.get(name)
        }
