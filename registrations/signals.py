"""The one framework boundary: allauth confirmed an address, so a registration waiting on it goes on."""

from __future__ import annotations

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from registrations.models import RegistrationRequest
from registrations.services import registration_email_verified


@receiver(email_confirmed, dispatch_uid="registrations.email_confirmed")
def _registration_email_confirmed(sender, request, email_address, **kwargs) -> None:
    waiting = RegistrationRequest.objects.filter(
        user_id=email_address.user_id,
        email__iexact=email_address.email,
        status=RegistrationRequest.Status.PENDING_VERIFICATION,
    ).first()
    if waiting is not None:
        registration_email_verified(registration=waiting, user=email_address.user)
