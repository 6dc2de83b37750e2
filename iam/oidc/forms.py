"""Staff forms for applications: one URI per line, checked by the services."""

from __future__ import annotations

from allauth.idp.oidc.models import Client
from django import forms

from core.forms import StyledFormMixin


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ApplicationForm(StyledFormMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="What users see when they sign in.")
    key = forms.SlugField(
        max_length=50, help_text="A short id for role mappings and the API, e.g. “orders”. Cannot change later."
    )
    url = forms.URLField(label="Home page", required=False, assume_scheme="https")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    client_type = forms.ChoiceField(
        label="Client type",
        choices=[
            (Client.Type.CONFIDENTIAL, "Confidential — a server-side application that keeps a client secret"),
            (Client.Type.PUBLIC, "Public — a browser or mobile app: no secret, PKCE required"),
        ],
        initial=Client.Type.CONFIDENTIAL,
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "font-monospace"}),
        help_text="One per line, exactly as the application sends them, e.g. https://orders.example.com/oidc/callback",
    )
    post_logout_redirect_uris = forms.CharField(
        label="Post-logout redirect URIs",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "font-monospace"}),
        required=False,
        help_text="Where the application may send users after signing them out. One per line.",
    )
    is_active = forms.BooleanField(
        label="Users may sign in",
        required=False,
        initial=True,
        help_text="Switching this off ends every sign-in at once.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["key"]
            del self.fields["client_type"]
        self._style_widgets()

    def clean_redirect_uris(self) -> list[str]:
        return _lines(self.cleaned_data["redirect_uris"])

    def clean_post_logout_redirect_uris(self) -> list[str]:
        return _lines(self.cleaned_data["post_logout_redirect_uris"])
