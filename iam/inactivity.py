"""Portal identities nobody uses are a risk: warn them, then deactivate them.

An external user who has not signed in (``last_login``, or since joining when never) for
``IAM_DEACTIVATE_INACTIVE_AFTER_DAYS`` is deactivated, but only once they were warned by email
at least ``IAM_INACTIVITY_WARNING_DAYS`` earlier and have not signed in since. The warning is
itself an audit event (``iam.user.inactivity_warned``), so the trail shows both steps and the
job needs no state of its own. Signing in again starts the clock anew.

Deactivating someone also removes their memberships (``deactivated``, audited
``iam.membership.removed`` with reason ``inactive``) in the same transaction, so org admins no
longer see them as active members; an organisation so left without an active admin is told in
its audit trail (``iam.account.left_without_admin``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet
from django.db.models.functions import Cast, Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.locks import advisory_xact_lock
from iam.audit import audit_record_many
from iam.models import AuditEvent, Membership, User
from iam.oidc.services import tokens_revoke_for_memberships
from iam.services import users_end_sessions_without_access

WARNED = "iam.user.inactivity_warned"
DEACTIVATED = "iam.user.deactivated_inactive"
REMOVED = "iam.membership.removed"
LEFT_WITHOUT_ADMIN = "iam.account.left_without_admin"


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


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _LastSeen(TypedDict):
    last_seen: dt.datetime


def _external_users() -> QuerySet[WithAnnotations[User, _LastSeen]]:
    return User.objects.filter(is_staff=False, is_active=True).annotate(last_seen=Coalesce("last_login", "date_joined"))


def _items(users: Sequence[User]) -> list[tuple[object, User]]:
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
            _memberships_remove(to_deactivate, now=now, days=days)
            ids = [u.pk for u in to_deactivate]
            transaction.on_commit(lambda: users_end_sessions_without_access(ids))  # none left: all of them

        deadline = now + dt.timedelta(days=warn_days)
        soon = _external_users().filter(last_seen__lt=deadline - dt.timedelta(days=days)).exclude(_warned())
        to_warn = list(soon.exclude(pk__in=[u.pk for u in to_deactivate]))
        if to_warn:
            messages = [_warning(user, deadline) for user in to_warn]
            transaction.on_commit(lambda: _warn(to_warn, messages, deadline))
    return InactivityOutcome(warned=len(to_warn), deactivated=deactivated)


def _warn(users: Sequence[User], messages: list, deadline: dt.datetime) -> None:
    """Send the warnings, then record them. The record is what starts the countdown to
    deactivation, so a warning the mail server did not take is not recorded: the next run
    sends it again instead of deactivating someone who was never told.
    """
    get_connection().send_messages(messages)
    audit_record_many(
        actor=None, action=WARNED, items=_items(users), data={"deactivation_on": deadline.date().isoformat()}
    )


def _memberships_remove(users: Sequence[User], *, now: dt.datetime, days: int) -> int:
    """The person is gone: their memberships are removed too, set-based, audited as an admin's
    removal would be (``iam.membership.removed``, reason ``inactive``), API tokens revoked.

    The "last active org admin" rule does not hold them back (nobody is there to hand over
    to), but an organisation left without an active admin gets ``iam.account.left_without_admin``
    in its trail, and the removal event says ``last_admin``, so staff and the trail show it.
    """
    user_ids = [u.pk for u in users]
    memberships = list(
        Membership.objects.filter(user_id__in=user_ids)
        .exclude(status=Membership.Status.DEACTIVATED)
        .select_related("account", "user")
        .order_by("pk")
    )
    if not memberships:
        return 0
    # Accounts whose every active admin is among those leaving now.
    leaving_admin_accounts = {
        m.account_id for m in memberships if m.status == Membership.Status.ACTIVE and m.is_org_admin
    }
    still_admined = set(
        Membership.objects.filter(
            account_id__in=leaving_admin_accounts, status=Membership.Status.ACTIVE, is_org_admin=True
        )
        .exclude(user_id__in=user_ids)
        .values_list("account_id", flat=True)
    )
    orphaned = leaving_admin_accounts - still_admined
    removed = Membership.objects.filter(pk__in=[m.pk for m in memberships]).update(
        status=Membership.Status.DEACTIVATED, suspended_by="", status_changed_at=now, updated_at=now
    )
    base = {"reason": "inactive", "inactive_days": days}
    last_admin = [m for m in memberships if m.account_id in orphaned and m.is_org_admin and m.status == "active"]
    last_admin_ids = {m.pk for m in last_admin}
    others = [m for m in memberships if m.pk not in last_admin_ids]
    if others:
        audit_record_many(actor=None, action=REMOVED, items=[(m.account, m) for m in others], data=base)
    if last_admin:
        audit_record_many(
            actor=None, action=REMOVED, items=[(m.account, m) for m in last_admin], data={**base, "last_admin": True}
        )
        accounts = {m.account_id: m for m in last_admin}
        audit_record_many(
            actor=None,
            action=LEFT_WITHOUT_ADMIN,
            items=[(m.account, m.account) for m in accounts.values()],
            data={
                **base,
                "message": "The last active admin was deactivated for inactivity: make someone else an admin.",
            },
        )
    tokens_revoke_for_memberships(memberships)
    return removed


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
