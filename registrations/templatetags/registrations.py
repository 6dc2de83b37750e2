"""What the portal says about registrations: newcomers to confirm, a request under review."""

from __future__ import annotations

from django import template

from registrations.models import RegistrationRequest
from registrations.selectors import registrations_awaiting_admin

register = template.Library()


@register.simple_tag
def newcomers_to_confirm(membership) -> int:
    """How many registrants an org admin is asked to confirm (0 for anyone else, without a query)."""
    if membership is None or not membership.is_org_admin:
        return 0
    return registrations_awaiting_admin(account=membership.account).count()


@register.simple_tag
def open_registration(user) -> RegistrationRequest | None:
    """The signed-in user's registration still waiting for a decision, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return RegistrationRequest.objects.open().filter(user=user).order_by("-created_at").first()
