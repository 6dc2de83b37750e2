"""Who may decide registrations. Small pure functions; services call them, views wrap them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User

# The issue gives the queue to sales managers and the service desk (and operations, who may
# do anything). Sales reps work their own accounts; they neither see nor decide the queue of
# strangers' sign-ups, which holds personal data of people who are nobody's customer yet.
DECIDING_STAFF_ROLES = ("sales_manager", "service_desk", "operations")


def can_decide_registrations(user: User | None) -> bool:
    if not is_crm_user(user):
        return False
    return bool(user.is_superuser or user.staff_role in DECIDING_STAFF_ROLES)
