"""Who may do what. Small pure functions; views and services call them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iam.models import User


def is_crm_user(user: User | None) -> bool:
    """Staff who work in the CRM. External users never reach it, whatever else they are."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)
