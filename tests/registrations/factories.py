"""Registrations are built the way registrants cause them: through the services."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress

from registrations import services
from registrations.models import RegistrationRequest

PASSWORD = "a long registrant passphrase"


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "company_name": "Nordlys Robotics Oy",
        "business_id": "2112345-6",  # a valid Finnish Y-tunnus
        "country": "FI",
        "first_name": "Aino",
        "last_name": "Virtanen",
        "email": "aino.virtanen@nordlys-robotics.fi",
        "phone": "+358 40 123 4567",
        "password": PASSWORD,
        "terms_accepted": True,
    }
    data.update(overrides)
    return data


def submitted(**overrides: Any) -> RegistrationRequest:
    return services.registration_submit(data=form_data(**overrides))


def verified(**overrides: Any) -> RegistrationRequest:
    """Submitted, and its email confirmed through allauth (the signal moves it on)."""
    from django.test import RequestFactory

    registration = submitted(**overrides)
    address = EmailAddress.objects.get(user=registration.user, email=registration.email)
    from allauth.account.models import EmailConfirmationHMAC

    request = RequestFactory().post("/")
    request.user = registration.user
    request.session = {}
    request._messages = _NoMessages()
    EmailConfirmationHMAC(address).confirm(request)
    registration.refresh_from_db()
    return registration


class _NoMessages:
    def add(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __iter__(self):
        return iter(())
