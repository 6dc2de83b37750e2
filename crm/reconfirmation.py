"""Asking stale contacts whether their data is still correct, and taking their answer.

Portal users get an email with a single-use, expiring link. The link carries a random secret,
signed; only the secret's SHA-256 digest is stored (``ContactReconfirmation``), so the database
alone cannot confirm anything. Contacts without portal access who agreed to be contacted get an
invitation instead (to confirm their data by registering): one invitation batch per run, sent
by the Invitations app's set-based batch machinery in the name of an operations user.

A contact is asked at most once per ``DECAY_RECONFIRMATION_INTERVAL_DAYS``: the send claims the
contact by setting ``last_reconfirmation_sent_at`` under a transaction-scoped advisory lock
(portal users chunk by chunk, the others in one UPDATE), so two runs at once never ask anyone twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.decay import Freshness
from crm.models import Contact, ContactReconfirmation
from history.services import history_record, history_snapshot
from iam.audit import audit_record
from iam.models import Membership, User
from iam.permissions import is_crm_user
from invitations.batches import invitation_batch_create
from invitations.models import InvitationBatch
from invitations.permissions import manages_every_account
from notifications import triggers as notification_triggers

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
_SIGNER_SALT = "crm.reconfirmation"


class ReconfirmationLinkInvalid(BusinessRuleViolation):
    """The link is unknown, tampered with, used, replaced or expired. ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ReconfirmationOutcome:
    sent: int = 0  # emails with a link to portal users
    invited: int = 0  # contacts without portal access queued in this run's invitation batch
    batch_id: int | None = None  # that batch (its page shows the sending's progress)
    skipped_locked: bool = False
    contact_ids: list[int] = field(default_factory=list, repr=False)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def reconfirmation_link_token(secret: str) -> str:
    return signing.Signer(salt=_SIGNER_SALT).sign(secret)


def _secret_from(token: str) -> str:
    try:
        return signing.Signer(salt=_SIGNER_SALT).unsign(token)
    except signing.BadSignature as exc:
        raise ReconfirmationLinkInvalid("invalid") from exc


def _portal_user_exists() -> Exists:
    return Exists(
        Membership.objects.filter(contact=OuterRef("pk"), status=Membership.Status.ACTIVE, user__is_active=True)
    )


def _invitations_available() -> bool:
    try:
        from invitations.services import invitation_create  # noqa: F401
    except ImportError:
        return False
    return True


class _PortalUser(TypedDict):
    is_portal_user: bool


def _not_asked_since(now: dt.datetime) -> Q:
    asked_before = now - dt.timedelta(days=settings.DECAY_RECONFIRMATION_INTERVAL_DAYS)
    return Q(last_reconfirmation_sent_at__isnull=True) | Q(last_reconfirmation_sent_at__lt=asked_before)


def reconfirmations_due(
    *, now: dt.datetime, account_id: int | None = None, owner_id: int | None = None, invitations: bool = True
) -> QuerySet[WithAnnotations[Contact, _PortalUser]]:
    """Stale contacts we may ask now: a deliverable email, not asked within the interval, and
    either a portal user or (when invitations exist) a contact who agreed to be contacted."""
    due = (
        Contact.objects.freshness_in(Freshness.STALE, now=now)
        .filter(email_bounced_at__isnull=True, left_at__isnull=True)
        .exclude(email="")
        .filter(_not_asked_since(now))
        .annotate(is_portal_user=_portal_user_exists())
    )
    if account_id is not None:
        due = due.filter(account_id=account_id)
    if owner_id is not None:
        due = due.filter(owner_id=owner_id)
    reachable = Q(is_portal_user=True)
    if invitations and _invitations_available():
        reachable |= Q(consent_to_contact=True)
    return due.filter(reachable)


def _lock_chunk() -> None:
    # Blocking, transaction-scoped: a second run waits for the first's chunk to commit, then
    # sees those contacts as asked. (SQLite serialises writers by itself.)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('clientele:reconfirmations_send'))")


def reconfirmations_send_due(
    *,
    now: dt.datetime | None = None,
    account_id: int | None = None,
    owner_id: int | None = None,
    limit: int | None = None,
    actor=None,
    invitations: bool = True,
    on_progress: Callable[[ReconfirmationOutcome], None] | None = None,
) -> ReconfirmationOutcome:
    """Ask every due stale contact (of one account or owner, if given) to reconfirm.

    Portal users first, chunk by chunk; then the contacts without portal access who agreed to
    be contacted, all claimed at once and invited through one invitation batch.
    ``limit`` (default ``DECAY_RECONFIRMATION_BATCH_LIMIT``; 0 means none) caps one run;
    ``invitations=False`` asks portal users only.
    Idempotent: a contact asked once is not due again until the interval has passed.
    """
    now = now or timezone.now()
    limit = settings.DECAY_RECONFIRMATION_BATCH_LIMIT if limit is None else limit
    outcome = ReconfirmationOutcome()
    last_id = 0
    room: int | None  # per chunk, then what is left for the invitations (None: no limit)
    # "link": consented contacts without portal access get the same one-click email (no account
    # needed); "invitation": they are invited to register instead, through one batch.
    links_for_all = settings.DECAY_RECONFIRMATION_NON_PORTAL == "link"
    while True:
        room = CHUNK_SIZE if not limit else min(CHUNK_SIZE, limit - outcome.sent)
        if room <= 0:
            break
        with transaction.atomic():
            _lock_chunk()
            rows = list(
                reconfirmations_due(
                    now=now, account_id=account_id, owner_id=owner_id, invitations=invitations and links_for_all
                )
                .filter(pk__gt=last_id)
                .order_by("pk")
                .values("pk", "email", "first_name", "last_name", "is_portal_user")[:room]
            )
            if not rows:
                break
            last_id = rows[-1]["pk"]
            ids = [row["pk"] for row in rows]
            # Claim: the interval condition again, so nothing claimed in the meantime is taken twice.
            # Bookkeeping of the job, not a change to the contact's data: no record history.
            Contact.objects.filter(pk__in=ids).filter(_not_asked_since(now)).update(last_reconfirmation_sent_at=now)
            messages = _issue_links(rows, now=now)
            outcome.sent += len(rows)
            outcome.contact_ids.extend(ids)
            transaction.on_commit(partial(_send, messages))  # this chunk's messages, bound now
        if on_progress:
            on_progress(outcome)
    room = limit - outcome.sent if limit else None
    if invitations and not links_for_all and _invitations_available() and (room is None or room > 0):
        reconfirmation_invitations_batch(
            now=now, account_id=account_id, owner_id=owner_id, limit=room, actor=actor, outcome=outcome
        )
        if on_progress:
            on_progress(outcome)
    return outcome


def _issue_links(rows: Sequence[Mapping[str, Any]], *, now: dt.datetime) -> list[EmailMultiAlternatives]:
    """One token row per contact in one INSERT; the secrets go only into the emails."""
    if not rows:
        return []
    ids = [row["pk"] for row in rows]
    ContactReconfirmation.objects.filter(contact_id__in=ids, used_at__isnull=True).update(
        used_at=now, outcome=ContactReconfirmation.Outcome.SUPERSEDED
    )
    expires_at = now + dt.timedelta(days=settings.DECAY_RECONFIRMATION_LINK_DAYS)
    secrets_by_id = {row["pk"]: secrets.token_urlsafe(32) for row in rows}
    ContactReconfirmation.objects.bulk_create(
        [
            ContactReconfirmation(
                contact_id=row["pk"],
                token_hash=_digest(secrets_by_id[row["pk"]]),
                sent_to=row["email"],
                created_at=now,
                expires_at=expires_at,
            )
            for row in rows
        ],
        batch_size=CHUNK_SIZE,
    )
    return [_message(row, secrets_by_id[row["pk"]], expires_at) for row in rows]


def _message(row: Mapping[str, Any], secret: str, expires_at: dt.datetime) -> EmailMultiAlternatives:
    token = reconfirmation_link_token(secret)
    site = settings.SITE_URL.rstrip("/")
    portal_user = row.get("is_portal_user", True)
    context = {
        "first_name": row["first_name"],
        "confirm_url": site + reverse("reconfirm", args=[token]),
        # Portal users keep their profile in the portal; everyone else corrects through the link.
        "update_url": site + (reverse("portal:profile") if portal_user else reverse("reconfirm_correct", args=[token])),
        "portal_user": portal_user,
        "expires_at": expires_at,
    }
    message = EmailMultiAlternatives(
        subject="Are your contact details still correct?",
        body=render_to_string("emails/reconfirmation.txt", context),
        to=[row["email"]],
    )
    message.attach_alternative(render_to_string("emails/reconfirmation.html", context), "text/html")
    return message


def _send(messages: list[EmailMultiAlternatives]) -> None:
    if not messages:
        return
    try:
        get_connection().send_messages(messages)
    except Exception:
        # The contacts stay claimed until the interval passes: better one missed request than
        # a storm of repeats against a failing mail server. The log says how many were lost.
        logger.exception("Could not send %d reconfirmation emails", len(messages))


def reconfirmation_inviter(actor=None):
    """The staff user in whose name the run's invitation batch is sent (one batch, every account).

    A batch's sender must manage every account it covers, and account owners differ: so it is
    whoever asked, when they manage every account; else ``DECAY_RECONFIRMATION_INVITER_EMAIL``;
    else the first active operations user (then superuser). None when there is nobody.
    """
    if actor is not None and is_crm_user(actor) and manages_every_account(actor):
        return actor
    staff = User.objects.filter(is_active=True, is_staff=True)
    if settings.DECAY_RECONFIRMATION_INVITER_EMAIL:
        named = staff.filter(email__iexact=settings.DECAY_RECONFIRMATION_INVITER_EMAIL).first()
        if named is not None and manages_every_account(named):
            return named
        logger.warning("DECAY_RECONFIRMATION_INVITER_EMAIL is not an active staff user managing every account")
    return (
        staff.filter(staff_role=User.StaffRole.OPERATIONS).order_by("pk").first()
        or staff.filter(is_superuser=True).order_by("pk").first()
    )


INVITATION_NOTE = (
    "We keep the contact details we hold for your organisation up to date. Registering lets you "
    "confirm that yours are still correct, and correct them yourself whenever they change."
)


def reconfirmation_invitations_batch(
    *,
    now: dt.datetime,
    account_id: int | None = None,
    owner_id: int | None = None,
    limit: int | None = None,
    actor=None,
    outcome: ReconfirmationOutcome | None = None,
) -> ReconfirmationOutcome:
    """Contacts without portal access but with consent: one invitation batch per run.

    Claimed with one UPDATE (under the same lock as the portal chunks); the batch copies the
    claimed contacts with one INSERT … SELECT and sends them on Celery, rate-limited and
    resumable. The batch decides the skips (already a member, a staff address, an open
    invitation); a skipped contact stays claimed until the interval passes.
    """
    outcome = outcome if outcome is not None else ReconfirmationOutcome()
    inviter = reconfirmation_inviter(actor)
    if inviter is None:
        logger.warning("No reconfirmation invitations: no active operations user to send them")
        return outcome
    with transaction.atomic():
        _lock_chunk()
        due = (
            reconfirmations_due(now=now, account_id=account_id, owner_id=owner_id)
            .filter(is_portal_user=False)
            .order_by("pk")
            .values("pk")
        )
        claimed = (
            Contact.objects.filter(pk__in=due[:limit] if limit else due)
            .filter(_not_asked_since(now))
            .update(last_reconfirmation_sent_at=now)
        )
        if not claimed:
            return outcome
        # The claimed set, named by the claim itself (a concurrent run claims at another instant).
        recipients = (
            Contact.objects.filter(last_reconfirmation_sent_at=now, consent_to_contact=True)
            .annotate(is_portal_user=_portal_user_exists())
            .filter(is_portal_user=False)
        )
        if account_id is not None:
            recipients = recipients.filter(account_id=account_id)
        if owner_id is not None:
            recipients = recipients.filter(owner_id=owner_id)
        batch = invitation_batch_create(
            actor=inviter,
            name=f"Reconfirmation — {timezone.localdate(now):%d %b %Y}",
            source=InvitationBatch.Source.CONTACTS,
            queryset=recipients,
            selection={"reconfirmation": now.isoformat(), "account_id": account_id, "owner_id": owner_id},
            note=INVITATION_NOTE,
        )
        outcome.invited = batch.total
        outcome.batch_id = batch.pk
        outcome.contact_ids.extend(recipients.order_by("pk").values_list("pk", flat=True))
    return outcome


# --- The answer ------------------------------------------------------------------------------


def reconfirmation_check(*, token: str, now: dt.datetime | None = None) -> ContactReconfirmation:
    """The pending request behind a link, or ``ReconfirmationLinkInvalid`` saying why not."""
    now = now or timezone.now()
    secret = _secret_from(token)
    request = (
        ContactReconfirmation.objects.select_related("contact__account").filter(token_hash=_digest(secret)).first()
    )
    if request is None:
        raise ReconfirmationLinkInvalid("invalid")
    if request.outcome == ContactReconfirmation.Outcome.SUPERSEDED:
        raise ReconfirmationLinkInvalid("superseded")
    if request.used_at is not None:
        raise ReconfirmationLinkInvalid("used")
    if request.expires_at <= now:
        raise ReconfirmationLinkInvalid("expired")
    return request


def reconfirmation_confirm(*, token: str, now: dt.datetime | None = None) -> Contact:
    """The person says their data is still correct: the contact is verified now, and audited."""
    now = now or timezone.now()
    with transaction.atomic():
        request = reconfirmation_check(token=token, now=now)
        # Single use, even against a double click racing itself: only one UPDATE wins.
        won = ContactReconfirmation.objects.filter(pk=request.pk, used_at__isnull=True).update(
            used_at=now, outcome=ContactReconfirmation.Outcome.CONFIRMED
        )
        if not won:
            raise ReconfirmationLinkInvalid("used")
        contact = request.contact
        membership = (
            Membership.objects.filter(contact=contact, status=Membership.Status.ACTIVE).select_related("user").first()
        )
        person = membership.user if membership else None
        before = history_snapshot(contact)
        Contact.objects.filter(pk=contact.pk).update(
            last_verified_at=now,
            verified_by=person,
            verification_method=Contact.VerificationMethod.RECONFIRMATION,
            updated_at=now,
        )
        contact.refresh_from_db()
        history_record(actor=person, record=contact, before=before)
        audit_record(
            actor=person,
            action="crm.contact.reconfirmed",
            account=contact.account,
            target=contact,
            data={"email": request.sent_to, "requested_at": request.created_at.isoformat()},
        )
        notification_triggers.reconfirmation_answered(request=request, contact=contact)
    return contact


CORRECTABLE_FIELDS = ("first_name", "last_name", "job_title", "phone")


def reconfirmation_correct(
    *, token: str, changes: Mapping[str, Any], left: bool = False, now: dt.datetime | None = None
) -> Contact:
    """The person corrects their details through the link (no account), or says they left.

    Single use like "still correct": only one answer per link wins. Corrections go into the
    CRM with history and an audit event, and verify the contact now; "I left" marks the
    contact left (kept, never deleted) and tells the owner.
    """
    from crm.departures import contacts_mark_left
    from crm.models import LeftReason

    now = now or timezone.now()
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not correctable through a link: {sorted(unknown)}")
    with transaction.atomic():
        request = reconfirmation_check(token=token, now=now)
        outcome = ContactReconfirmation.Outcome.LEFT if left else ContactReconfirmation.Outcome.CORRECTED
        won = ContactReconfirmation.objects.filter(pk=request.pk, used_at__isnull=True).update(
            used_at=now, outcome=outcome
        )
        if not won:
            raise ReconfirmationLinkInvalid("used")
        contact = Contact.objects.select_for_update(of=("self",)).select_related("account").get(pk=request.contact_id)
        if left:
            contacts_mark_left(
                actor=None,
                contact_ids=[contact.pk],
                reason=LeftReason.SELF_REPORTED,
                detail=f"answered a reconfirmation sent to {request.sent_to}",
                now=now,
            )
            contact.refresh_from_db()
            return contact
        before = history_snapshot(contact)
        changed = sorted(name for name, value in changes.items() if getattr(contact, name) != value)
        for name in changed:
            setattr(contact, name, changes[name])
        contact.last_verified_at, contact.verified_by = now, None
        contact.verification_method = Contact.VerificationMethod.RECONFIRMATION
        contact.save(update_fields=[*changed, "last_verified_at", "verified_by", "verification_method", "updated_at"])
        history_record(actor=None, record=contact, before=before)
        audit_record(
            actor=None,
            action="crm.contact.corrected",
            account=contact.account,
            target=contact,
            data={"email": request.sent_to, "fields": changed},
        )
    return contact
