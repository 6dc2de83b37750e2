"""Telling staff what happened. Idempotent by ``dedupe_key``: the same event notifies once.

Call from a service, inside its transaction: a rolled-back change notifies nobody. Whoever is
inactive (or not a user at all) is skipped rather than refused, so an event never fails because
the person to tell has left.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from notifications.models import Notification

if TYPE_CHECKING:
    from iam.models import User


def _target(target: models.Model | None) -> dict[str, Any]:
    if target is None:
        return {"target_type": "", "target_id": None}
    return {"target_type": target._meta.label_lower, "target_id": target.pk}


def notify(
    *,
    recipient: User | None,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    target: models.Model | None = None,
    dedupe_key: str = "",
) -> Notification | None:
    """Notify one person; None when there is nobody to tell or it was already told."""
    created = notify_many(
        recipients=[recipient] if recipient is not None else [],
        kind=kind,
        title=title,
        body=body,
        url=url,
        target=target,
        dedupe_key=dedupe_key,
    )
    return created[0] if created else None


def notify_many(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    target: models.Model | None = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """Notify several people of one event in one INSERT; returns the notifications created."""
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                recipient=user,
                kind=kind,
                title=title[:200],
                body=body,
                url=url,
                dedupe_key=dedupe_key,
                **_target(target),
            )
        )
    if not rows:
        return []
    if dedupe_key:
        already = set(
            Notification.objects.filter(recipient__in=seen, dedupe_key=dedupe_key).values_list(
                "recipient_id", flat=True
            )
        )
        rows = [row for row in rows if row.recipient_id not in already]
        # A concurrent sender may still win the race: the unique constraint keeps it to one.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        return list(Notification.objects.filter(recipient__in=[r.recipient_id for r in rows], dedupe_key=dedupe_key))
    return Notification.objects.bulk_create(rows)


def mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read (all of them when ``ids`` is None); returns how many."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
