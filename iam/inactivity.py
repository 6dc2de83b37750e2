"""Portal identities nobody uses are a risk: warn them, then deactivate them.

An external user who has not signed in (``last_login``, or since joining when never) for
``IAM_DEACTIVATE_INACTIVE_AFTER_DAYS`` is deactivated, but only once they were warned by email
at least ``IAM_INACTIVITY_WARNING_DAYS`` earlier and have not signed in since. The warning is
itself an audit event (``iam.user.inactivity_warned``), so the trail shows both steps and the
job needs no state of its own. Signing in again starts the clock anew.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast, Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from crm.decay import advisory_xact_lock
from iam.audit import audit_record_many
from iam.models import AuditEvent, Membership, User

WARNED = "iam.user.inactivity_warned"
DEACTIVATED = "iam.user.deactivated_inactive"


@dataclass(frozen=True)
class InactivityOutcome:
    warned: int
    deactivated: int
    skipped_locked: bool = False


def _warned(*, before: dt.datetime | None = None) -> Exists:
    """A warning was sent after the user's last sign-in (and, if given, before ``before``)."""
    events = AuditEvent.objects.filter(
        action=WARNED,
        target_type=User._meta.label_lower,
        target_id=Cast(OuterRef("pk"), output_field=CharField()),
        occurred_at__gte=OuterRef("last_seen"),
    )
    if before is not None:
        events = events.filter(occurred_at__lte=before)
    return Exists(events)


def _external_users() -> QuerySet[User]:
    return User.objects.filter(is_staff=False, is_active=True).annotate(last_seen=Coalesce("last_login", "date_joined"))


def _items(users: list[User]) -> list[tuple[object, User]]:
    """One audit event per account the user belongs to (each organisation's trail shows it)."""
    accounts: dict[int, list] = {}
    for membership in Membership.objects.filter(user__in=users).select_related("account"):
        accounts.setdefault(membership.user_id, []).append(membership.account)
    return [(account, user) for user in users for account in accounts.get(user.pk, [None])]


def users_deactivate_inactive(*, now: dt.datetime | None = None) -> InactivityOutcome:
    """Warn the users who will soon count as inactive; deactivate those warned long enough ago."""
    days = settings.IAM_DEACTIVATE_INACTIVE_AFTER_DAYS
    if days <= 0:
        return InactivityOutcome(0, 0)
    warn_days = max(settings.IAM_INACTIVITY_WARNING_DAYS, 0)
    now = now or timezone.now()
    with transaction.atomic():
        if not advisory_xact_lock("users_deactivate_inactive"):
            return InactivityOutcome(0, 0, skipped_locked=True)
        inactive = _external_users().filter(last_seen__lt=now - dt.timedelta(days=days))
        to_deactivate = list(inactive.filter(_warned(before=now - dt.timedelta(days=warn_days))))
        deactivated = User.objects.filter(pk__in=[u.pk for u in to_deactivate], is_active=True).update(is_active=False)
        if deactivated:
            audit_record_many(actor=None, action=DEACTIVATED, items=_items(to_deactivate), data={"inactive_days": days})
            ids = [u.pk for u in to_deactivate]
            transaction.on_commit(lambda: _end_sessions(ids))

        deadline = now + dt.timedelta(days=warn_days)
        soon = _external_users().filter(last_seen__lt=deadline - dt.timedelta(days=days)).exclude(_warned())
        to_warn = list(soon.exclude(pk__in=[u.pk for u in to_deactivate]))
        if to_warn:
            audit_record_many(
                actor=None, action=WARNED, items=_items(to_warn), data={"deactivation_on": deadline.date().isoformat()}
            )
            messages = [_warning(user, deadline) for user in to_warn]
            transaction.on_commit(lambda: get_connection().send_messages(messages))
    return InactivityOutcome(warned=len(to_warn), deactivated=deactivated)


def _warning(user: User, deadline: dt.datetime) -> EmailMultiAlternatives:
    login_url = settings.SITE_URL.rstrip("/") + reverse("account_login")
    context = {"user": user, "deadline": deadline, "login_url": login_url}
    message = EmailMultiAlternatives(
        subject="Your Clientele account will be deactivated unless you sign in",
        body=render_to_string("emails/inactivity_warning.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("emails/inactivity_warning.html", context), "text/html")
    return message


def _end_sessions(user_ids: list[int]) -> None:
    from allauth.usersessions.models import UserSession

    for session in UserSession.objects.filter(user_id__in=user_ids):
        session.end()
