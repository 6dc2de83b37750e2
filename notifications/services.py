"""Telling staff what happened. Idempotent by ``dedupe_key``: the same event notifies once.

Call from a service, inside its transaction: a rolled-back change notifies nobody. Whoever is
inactive (or not a user at all) is skipped rather than refused, so an event never fails because
the person to tell has left.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from iam.models import User
from notifications.kinds import KINDS, label
from notifications.models import Notification, NotificationPreference

logger = logging.getLogger(__name__)


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


def preference_for(user: User) -> NotificationPreference:
    """The person's preferences, unsaved defaults when they never changed any."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def preference_update(*, actor: User, email_digest: bool, emailed_kinds: Iterable[str]) -> NotificationPreference:
    """A person sets their own digest: on or off, and which kinds it carries."""
    chosen = set(emailed_kinds)
    muted = sorted(kind for kind in KINDS if kind not in chosen)
    preference, _created = NotificationPreference.objects.update_or_create(
        user=actor, defaults={"email_digest": email_digest, "digest_muted_kinds": muted}
    )
    return preference


# --- Task reminders ---------------------------------------------------------------------------

REMINDER_CHUNK = 1000


def task_reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Tell each task's owner once that it fell due; returns how many reminders were created.

    Looks back ``NOTIFICATIONS_TASK_REMINDER_LOOKBACK_HOURS`` only, so a first run does not bury
    people under years of old tasks. Idempotent: the dedupe key names the task and its due time,
    so a re-run notifies nobody twice, and a task moved to a new due time reminds again.
    """
    from crm.models import Activity

    now = now or timezone.now()
    since = now - dt.timedelta(hours=settings.NOTIFICATIONS_TASK_REMINDER_LOOKBACK_HOURS)
    due = (
        Activity.objects.filter(
            kind=Activity.Kind.TASK, done=False, due_at__lte=now, due_at__gt=since, owner__is_active=True
        )
        .order_by("pk")
        .values("pk", "subject", "due_at", "owner_id", "account_id", "contact_id", "lead_id", "opportunity_id")
    )
    created = 0
    last_id = 0
    while True:
        rows = list(due.filter(pk__gt=last_id)[:REMINDER_CHUNK])
        if not rows:
            return created
        last_id = rows[-1]["pk"]
        reminders = [
            Notification(
                recipient_id=row["owner_id"],
                kind="task.due",
                title=f"Task due: {row['subject']}"[:200],
                url=_task_url(row),
                target_type="crm.activity",
                target_id=row["pk"],
                dedupe_key=f"task.due:{row['pk']}:{int(row['due_at'].timestamp()) if row['due_at'] else 0}",
                created_at=now,
            )
            for row in rows
        ]
        keys = [reminder.dedupe_key for reminder in reminders]
        before = Notification.objects.filter(dedupe_key__in=keys).count()
        Notification.objects.bulk_create(reminders, ignore_conflicts=True)
        created += Notification.objects.filter(dedupe_key__in=keys).count() - before


def _task_url(row: Mapping[str, Any]) -> str:
    for field, name in (
        ("opportunity_id", "crm:opportunity_detail"),
        ("contact_id", "crm:contact_detail"),
        ("lead_id", "crm:lead_detail"),
        ("account_id", "crm:account_detail"),
    ):
        if row[field]:
            return reverse(name, args=[row[field]])
    return ""


# --- Email digest -----------------------------------------------------------------------------


def digest_send_due(*, now: dt.datetime | None = None) -> int:
    """One email per person with their unread notifications not emailed yet; returns emails sent.

    Claimed with a conditional UPDATE (``emailed_at IS NULL``) inside the person's transaction, so
    a doubled run or a redelivered task emails nothing twice. People who switched the digest off,
    and kinds they left out, are never emailed (and never claimed, so the bell is unaffected).
    """
    now = now or timezone.now()
    since = now - dt.timedelta(hours=settings.NOTIFICATIONS_DIGEST_LOOKBACK_HOURS)
    pending = Notification.objects.filter(
        read_at__isnull=True, emailed_at__isnull=True, created_at__gt=since, recipient__is_active=True
    )
    opted_out = NotificationPreference.objects.filter(email_digest=False).values("user_id")
    recipient_ids = list(
        pending.exclude(recipient__in=opted_out).order_by().values_list("recipient_id", flat=True).distinct()
    )
    sent = 0
    for recipient_id in recipient_ids:
        with transaction.atomic():
            recipient = User.objects.filter(pk=recipient_id).first()
            if recipient is None:
                continue
            preference = preference_for(recipient)
            if not preference.email_digest:
                continue
            claimable = pending.filter(recipient=recipient).exclude(kind__in=preference.digest_muted_kinds)
            ids = list(claimable.select_for_update(skip_locked=True).values_list("pk", flat=True)[:50])
            if not ids:
                continue
            Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(emailed_at=now)
            items = list(Notification.objects.filter(pk__in=ids).order_by("-created_at", "-id"))
            message = _digest_message(recipient, items)
            transaction.on_commit(partial(_send, message))
            sent += 1
    return sent


def _digest_message(recipient: User, items: list[Notification]) -> EmailMultiAlternatives:
    base = settings.SITE_URL.rstrip("/")
    context = {
        "user": recipient,
        "items": [{"n": item, "label": label(item.kind), "link": base + (item.url or "/")} for item in items],
        "inbox_url": base + reverse("notifications:list"),
        "preferences_url": base + reverse("notifications:preferences"),
    }
    count = len(items)
    message = EmailMultiAlternatives(
        subject=f"{count} update{'s' if count != 1 else ''} for you in Clientele",
        body=render_to_string("emails/notification_digest.txt", context),
        to=[recipient.email],
    )
    message.attach_alternative(render_to_string("emails/notification_digest.html", context), "text/html")
    return message


def _send(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except Exception:
        # Claimed already: one missed digest beats a storm of repeats against a failing mail server.
        logger.exception("Could not send the notification digest to %s", message.to)
