from __future__ import annotations

from typing import Any

from django import forms

from core.forms import StyledFormMixin
from webhooks.events import EVENT_TYPES


class EndpointForm(StyledFormMixin, forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://integrations.example.com/clientele/webhooks"}),
        help_text="An http(s) URL on the internet. Events arrive as signed POST requests.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    all_events = forms.BooleanField(
        label="Send every event type (also types added later)", required=False, initial=True
    )
    event_types = forms.MultipleChoiceField(
        label="Event types",
        choices=[(key, key) for key in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        self.fields["event_types"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("all_events") and not data.get("event_types"):
            self.add_error("event_types", "Choose the event types to send, or send every event type.")
        return data

    @property
    def chosen_event_types(self) -> list[str]:
        return [] if self.cleaned_data.get("all_events") else list(self.cleaned_data.get("event_types") or [])


DELIVERY_STATE_FILTERS = [("", "All"), ("failed", "Failed"), ("pending", "Retrying"), ("succeeded", "Succeeded")]
