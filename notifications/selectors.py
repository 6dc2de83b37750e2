"""Reading a person's notifications: always from the requesting user's own inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from notifications.models import Notification

if TYPE_CHECKING:
    from iam.models import User

# The bell shows "99+" beyond this; counting further would cost without telling anyone more.
UNREAD_COUNT_LIMIT = 100


def inbox(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def unread_count(user: User) -> int:
    """Unread notifications, counted up to ``UNREAD_COUNT_LIMIT`` (a bounded count, one query)."""
    return inbox(user).filter(read_at__isnull=True)[:UNREAD_COUNT_LIMIT].count()
