"""Batch invitations: many recipients, sent on Celery in keyset chunks, resumable, idempotent.

The shape of a batch:

* ``invitation_batch_create`` stores one row per recipient with one INSERT … SELECT from
  the list page's filtered queryset (unique per batch and email) and starts the senders.
* ``batch_send_chunk`` locks up to ``INVITATIONS_BATCH_CHUNK_SIZE`` queued rows (keyset over
  ids; SKIP LOCKED, so the batch's senders take different chunks), decides the skips with a
  few set-based queries, creates the chunk's invitations with one bulk INSERT, claims the
  rest with one UPDATE (``queued`` → ``sending``) and commits. It renders the email once,
  sends the chunk over one SMTP connection (pipelined, ``invitations.smtp``) and records
  each accepted message at once, before the next is sent. A redelivered chunk finds
  nothing queued: no second email.
* ``batches_resume`` (beat, and at worker start) puts rows a dead worker had claimed back
  in the queue and restarts the senders. Only the message in flight when a worker died can
  be sent twice, and only if the worker died between the SMTP server's "250 OK" and the
  record of it — SMTP offers nothing tighter.

Progress is never a counter: it is counted from the recipients' states, so it is right
after any crash.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpEmailBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Concat, Lower, StrIndex, Substr, Trim
from django.utils import timezone

from crm.models import Account, Lead
from iam.audit import audit_record, audit_record_many
from iam.models import BusinessRole, Membership, User
from iam.permissions import is_crm_user
from invitations.email_domains import qualify_business_email
from invitations.emails import (
    InvitationEmail,
    InvitationMime,
    envelope_address,
    invitation_email_render,
    invitation_message,
)
from invitations.models import BatchRecipient, Invitation, InvitationBatch
from invitations.permissions import can_cancel_batch, manages_every_account
from invitations.selectors import batch_progress
from invitations.smtp import PipelinedSender, connection_survives
from invitations.tokens import token_new

if TYPE_CHECKING:
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

R = BatchRecipient.State


# --- selecting recipients -----------------------------------------------------------------


def _recipient_rows(source: str, queryset: QuerySet, batch_id: int) -> QuerySet:
    """The recipients' column values, in the order of BatchRecipient's INSERT columns."""
    name = Trim(Concat(F("first_name"), Value(" "), F("last_name"), output_field=CharField()))
    rows = queryset.exclude(email="").order_by("pk")
    if source == InvitationBatch.Source.CONTACTS:
        rows = rows.filter(left_at__isnull=True)  # people who left the company are not invited
    common = {
        "_batch": Value(batch_id, output_field=IntegerField()),
        "_email": Lower("email"),
        "_name": name,
        "_state": Value(R.QUEUED, output_field=CharField()),
        "_blank": Value("", output_field=CharField()),
    }
    if source == InvitationBatch.Source.CONTACTS:
        return rows.annotate(**common, _contact=F("pk"), _account=F("account_id")).values_list(
            "_batch", "_email", "_name", "_account", "_contact", "_state", "_blank", "_blank"
        )
    return rows.annotate(**common, _lead=F("pk")).values_list(
        "_batch", "_email", "_name", "_lead", "_state", "_blank", "_blank"
    )


def _insert_recipients(source: str, queryset: QuerySet, batch_id: int) -> int:
    """INSERT … SELECT: the database copies the selection; Python never holds the rows."""
    sql, params = _recipient_rows(source, queryset, batch_id).query.sql_with_params()
    table = BatchRecipient._meta.db_table
    if source == InvitationBatch.Source.CONTACTS:
        columns = "batch_id, email, name, account_id, contact_id, state, reason, claim"
    else:
        columns = "batch_id, email, name, lead_id, state, reason, claim"
    if connection.vendor == "sqlite":
        statement = f"INSERT OR IGNORE INTO {table} ({columns}) {sql}"
    else:
        statement = f"INSERT INTO {table} ({columns}) {sql} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@dataclass(frozen=True)
class BatchPreview:
    count: int
    without_email: int
    sample: InvitationEmail | None
    sample_to: str
    sample_html: str
    # Why some of ``count`` will get no email, counted before anything is sent: reason → how many.
    skips: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return sum(self.skips.values())

    @property
    def to_send(self) -> int:
        return max(self.count - self.skipped, 0)


# The same reasons, in the same order of precedence, as ``_skip_reasons`` gives while sending.
SKIP_STAFF = "A staff user's address: staff do not get portal access."
SKIP_PORTAL_USER = "Already a portal user."
SKIP_SUSPENDED = "A suspended portal user."
SKIP_INVITED = "Already invited: an open invitation exists."
SKIP_NOT_MANAGED = "You do not manage this account."
SKIP_NOT_OWNED = "You do not own this lead."


def _skip_counts(actor: User, source: str, queryset: QuerySet) -> dict[str, int]:
    """Set-based: one grouped query (and, for leads, a look at each distinct email domain)."""
    staff = User.objects.filter(is_staff=True, email__iexact=OuterRef("email"))
    whens = [When(Exists(staff), then=Value(SKIP_STAFF))]
    if source == InvitationBatch.Source.CONTACTS:
        member = Membership.objects.filter(account_id=OuterRef("account_id"), user__email__iexact=OuterRef("email"))
        invited = Invitation.objects.open().filter(
            account_id=OuterRef("account_id"), email__iexact=OuterRef("email"), lead__isnull=True
        )
        whens += [
            When(Exists(member.filter(status=Membership.Status.ACTIVE)), then=Value(SKIP_PORTAL_USER)),
            When(Exists(member.filter(status=Membership.Status.SUSPENDED)), then=Value(SKIP_SUSPENDED)),
            When(Exists(invited), then=Value(SKIP_INVITED)),
        ]
        if not manages_every_account(actor):
            whens.append(When(~Q(account__owner=actor), then=Value(SKIP_NOT_MANAGED)))
    else:
        closed = [Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED, Lead.Status.REGISTERED]
        whens += [
            When(status__in=closed, then=Concat(Value("The lead is "), Lower("status"), Value("."))),
            When(Exists(Invitation.objects.open().filter(lead_id=OuterRef("pk"))), then=Value(SKIP_INVITED)),
        ]
        if not manages_every_account(actor):
            whens.append(When(~Q(owner=actor), then=Value(SKIP_NOT_OWNED)))
    rows = (
        queryset.exclude(email="").order_by().annotate(_skip=Case(*whens, default=Value(""), output_field=CharField()))
    )
    counts = {
        reason: n for reason, n in rows.values_list("_skip").annotate(n=Count("pk")).values_list("_skip", "n") if reason
    }
    if source == InvitationBatch.Source.LEADS:
        # Business addresses only: decided once per distinct domain, not once per lead.
        domains = (
            rows.filter(_skip="")
            .annotate(_domain=Lower(_after_at("email")))
            .values_list("_domain")
            .annotate(n=Count("pk"))
            .values_list("_domain", "n")
        )
        for domain, n in domains:
            qualification = qualify_business_email(f"someone@{domain}")
            if not qualification.qualified:
                reason = f"Not a qualified business address: {qualification.reason}"
                counts[reason] = counts.get(reason, 0) + n
    return counts


def _after_at(name: str) -> Substr:
    """The part of a text column after its first '@'."""
    return Substr(name, StrIndex(name, Value("@")) + 1)


def _selection_counts(queryset: QuerySet) -> tuple[int, int]:
    total = queryset.order_by().count()
    with_email = queryset.exclude(email="").order_by().count()
    return with_email, total - with_email


def invitation_batch_preview(
    *,
    actor: User,
    source: str,
    queryset: QuerySet,
    roles: list[BusinessRole] | None = None,
    note: str = "",
    expires_in_days: int | None = None,
) -> BatchPreview:
    """How many would be invited, and the email the first of them would get."""
    from invitations.services import expiry_from  # import cycle: services start batches

    if not is_crm_user(actor):
        raise PermissionDenied("Only staff send batch invitations.")
    count, without_email = _selection_counts(queryset)
    first = queryset.exclude(email="").order_by("pk").first()
    if first is None:
        return BatchPreview(count=0, without_email=without_email, sample=None, sample_to="", sample_html="")
    rendered = invitation_email_render(
        inviter_name=actor.get_full_name() or actor.email,
        note=note,
        role_names=[r.name for r in roles or []] if source == InvitationBatch.Source.CONTACTS else ["Lead"],
        expires_at=expiry_from(expires_in_days),
        is_lead=source == InvitationBatch.Source.LEADS,
    )
    organisation = first.account.name if source == InvitationBatch.Source.CONTACTS else first.company_name
    message = invitation_message(
        rendered,
        email=first.email.lower(),
        name=first.full_name,
        organisation=organisation or settings.INVITATIONS_COMPANY_NAME,
        token="x" * 43,  # a placeholder link: the preview opens nothing
    )
    # Rendered from templates, so str: the stubs allow lazy strings, bytes and MIME parts here.
    return BatchPreview(
        count=count,
        without_email=without_email,
        skips=_skip_counts(actor, source, queryset),
        sample=InvitationEmail(subject=message.subject, text=message.body, html=message.alternatives[0][0]),  # type: ignore[arg-type]
        sample_to=first.email.lower(),
        sample_html=message.alternatives[0][0],  # type: ignore[arg-type]
    )


def invitation_batch_create(
    *,
    actor: User,
    name: str,
    source: str,
    queryset: QuerySet,
    selection: dict | None = None,
    roles: list[BusinessRole] | None = None,
    note: str = "",
    expires_in_days: int | None = None,
) -> InvitationBatch:
    """Store the recipients (one INSERT … SELECT) and start sending after commit."""
    from invitations.services import default_roles, expiry_from, lead_role  # import cycle, as above

    if not is_crm_user(actor):
        raise PermissionDenied("Only staff send batch invitations.")
    if source not in InvitationBatch.Source.values:
        raise ValidationError({"source": "Invite contacts or leads."})
    expiry_from(expires_in_days)  # validates the range
    if source == InvitationBatch.Source.LEADS:
        roles = [lead_role()]
    elif roles is None:
        roles = default_roles()
    else:
        roles = list(roles)
        if any(r.key == BusinessRole.LEAD for r in roles):
            raise ValidationError({"roles": "The Lead role is for lead invitations."})
    name = (name or "").strip() or f"{InvitationBatch.Source(source).label} — {timezone.localdate():%d %b %Y}"
    with transaction.atomic():
        batch = InvitationBatch.objects.create(
            name=name[:200],
            source=source,
            selection=selection or {},
            note=(note or "").strip()[:1000],
            expires_in_days=expires_in_days or settings.INVITATIONS_EXPIRY_DAYS,
            created_by=actor,
        )
        batch.roles.set(roles)
        total = _insert_recipients(source, queryset, batch.pk)
        InvitationBatch.objects.filter(pk=batch.pk).update(total=total)
        batch.total = total
        audit_record(
            actor=actor,
            action="invitations.batch.started",
            target=batch,
            data={"source": source, "recipients": total, "roles": sorted(r.key for r in roles)},
        )
        if total == 0:
            _finish(batch.pk)
        else:
            transaction.on_commit(lambda: batch_kick(batch.pk))
    return batch


def batch_kick(batch_id: int, *, senders: int | None = None) -> None:
    """Start the batch's senders (chains of chunk tasks). Extra senders find nothing and stop."""
    # Import cycle: the task module calls this one.
    from invitations.tasks import batch_send_chunk_task

    rate_limited = settings.INVITATIONS_BATCH_RATE_PER_SECOND > 0
    for _ in range(1 if rate_limited else (senders or settings.INVITATIONS_BATCH_SENDERS)):
        batch_send_chunk_task.delay(batch_id, 0)


def invitation_batch_cancel(*, actor: User, batch: InvitationBatch) -> int:
    """Stop a batch: recipients not yet claimed are cancelled; the chunk being sent finishes."""
    if not can_cancel_batch(actor, batch):
        raise PermissionDenied("Only the batch's sender or a manager may cancel it.")
    with transaction.atomic():
        changed = InvitationBatch.objects.filter(pk=batch.pk, status=InvitationBatch.Status.RUNNING).update(
            status=InvitationBatch.Status.CANCELLED, cancelled_at=timezone.now(), updated_at=timezone.now()
        )
        if not changed:
            return 0
        cancelled = BatchRecipient.objects.filter(batch=batch, state=R.QUEUED).update(
            state=R.CANCELLED, reason="The batch was cancelled.", done_at=timezone.now()
        )
        audit_record(actor=actor, action="invitations.batch.cancelled", target=batch, data={"not_sent": cancelled})
    batch.refresh_from_db()
    return cancelled


# --- sending a chunk ----------------------------------------------------------------------


@dataclass
class ChunkResult:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    last_id: int = 0
    countdown: float = 0.0
    more: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)


def _lock_next(batch_id: int, after_id: int, size: int) -> list[BatchRecipient]:
    """The next ``size`` queued recipients after ``after_id`` that no other sender holds, locked.

    SKIP LOCKED lets the batch's senders claim side by side: without it, senders that start
    together select the same rows, all but one find them claimed when their UPDATE gets the
    lock, and stop, leaving one sender doing the work of all of them.
    """
    return list(
        BatchRecipient.objects.filter(batch_id=batch_id, state=R.QUEUED, id__gt=after_id)
        .select_related("account", "lead", "invitation")
        .order_by("id")
        .select_for_update(skip_locked=True, of=("self",))[:size]
    )


def _claim(rows: list[BatchRecipient], now: dt.datetime) -> None:
    """Mark the rows to send as ``sending`` by this run, with their invitations: one UPDATE.

    Committed before the first email goes out, so a worker that dies leaves them ``sending``
    for ``batches_resume`` to find.
    """
    claim = uuid.uuid4().hex
    if connection.vendor != "postgresql":
        for r in rows:
            r.state, r.claim, r.claimed_at = R.SENDING, claim, now
        BatchRecipient.objects.bulk_update(rows, ["state", "claim", "claimed_at", "invitation"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {BatchRecipient._meta.db_table} AS r"  # noqa: S608 - the table name is ours
            " SET state = %s, claim = %s, claimed_at = %s, invitation_id = v.invitation_id"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, invitation_id)"
            " WHERE r.id = v.id",
            [R.SENDING, claim, now, [r.pk for r in rows], [r.invitation_id for r in rows]],
        )


def _skip_reasons(batch: InvitationBatch, rows: list[BatchRecipient]) -> dict[int, str]:
    """Why some of the claimed recipients get no email: a few set-based queries per chunk."""
    reasons: dict[int, str] = {}
    emails = {r.email for r in rows}
    staff = set(User.objects.filter(email__in=emails, is_staff=True).values_list("email", flat=True))
    own_invitations = {r.invitation_id for r in rows if r.invitation_id}
    if batch.source == InvitationBatch.Source.CONTACTS:
        account_ids = {r.account_id for r in rows}
        members: dict[tuple[str, int | None], str] = {
            (email.lower(), account_id): status
            for email, account_id, status in Membership.objects.filter(
                account_id__in=account_ids, user__email__in=emails
            )
            .exclude(status__in=[Membership.Status.DEACTIVATED, Membership.Status.INVITED])
            .values_list("user__email", "account_id", "status")
        }
        invited = set(
            Invitation.objects.open()
            .filter(account_id__in=account_ids, email__in=emails, lead__isnull=True)
            .exclude(pk__in=own_invitations)
            .values_list("email", "account_id")
        )
        managed = account_ids
        if not manages_every_account(batch.created_by):
            managed = set(
                Account.objects.filter(pk__in=account_ids, owner=batch.created_by).values_list("pk", flat=True)
            )
        for r in rows:
            if r.email in staff:
                reasons[r.pk] = "A staff user's address: staff do not get portal access."
            elif (r.email, r.account_id) in members:
                state = members[(r.email, r.account_id)]
                reasons[r.pk] = "Already a portal user." if state == "active" else "A suspended portal user."
            elif (r.email, r.account_id) in invited:
                reasons[r.pk] = "Already invited: an open invitation exists."
            elif r.account_id not in managed:
                reasons[r.pk] = "You do not manage this account."
        return reasons
    lead_ids = {r.lead_id for r in rows if r.lead_id}
    invited_leads = set(
        Invitation.objects.open()
        .filter(lead_id__in=lead_ids)
        .exclude(pk__in=own_invitations)
        .values_list("lead_id", flat=True)
    )
    for r in rows:
        lead = r.lead
        if lead is None:
            reasons[r.pk] = "The lead was deleted."
        elif r.email in staff:
            reasons[r.pk] = "A staff user's address: staff do not get portal access."
        elif lead.status in (Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED, Lead.Status.REGISTERED):
            reasons[r.pk] = f"The lead is {lead.get_status_display().lower()}."
        elif r.lead_id in invited_leads:
            reasons[r.pk] = "Already invited: an open invitation exists."
        elif not manages_every_account(batch.created_by) and lead.owner_id != batch.created_by_id:
            reasons[r.pk] = "You do not own this lead."
        else:
            qualification = qualify_business_email(r.email)
            if not qualification.qualified:
                reasons[r.pk] = f"Not a qualified business address: {qualification.reason}"
    return reasons


def _prepare_invitations(
    batch: InvitationBatch, rows: list[BatchRecipient], roles: list[BusinessRole], expires_at: dt.datetime
) -> dict[int, str]:
    """Give each recipient to send to an invitation with a fresh token: ``{recipient id: token}``.

    A recipient that already has one (a chunk interrupted by a crash) gets a new token on it;
    the old token was never mailed, or if it was, it stops working now.
    """
    now = timezone.now()
    tokens: dict[int, str] = {}
    fresh: list[tuple[BatchRecipient, Invitation]] = []
    reissued: list[Invitation] = []
    for r in rows:
        token, digest = token_new()
        tokens[r.pk] = token
        if r.invitation is not None:
            invitation = r.invitation
            invitation.token_hash = digest
            invitation.status = Invitation.Status.SENT
            invitation.sent_at = now
            invitation.expires_at = expires_at
            invitation.updated_at = now
            reissued.append(invitation)
        else:
            fresh.append(
                (
                    r,
                    Invitation(
                        email=r.email,
                        account_id=r.account_id,
                        lead_id=r.lead_id,
                        contact_id=r.contact_id,
                        invited_by_id=batch.created_by_id,
                        note=batch.note,
                        batch=batch,
                        token_hash=digest,
                        status=Invitation.Status.SENT,
                        expires_at=expires_at,
                        send_count=1,
                        sent_at=now,
                        created_at=now,
                        updated_at=now,
                    ),
                )
            )
    if reissued:
        Invitation.objects.bulk_update(reissued, ["token_hash", "status", "sent_at", "expires_at", "updated_at"])
    if fresh:
        created = [inv for _, inv in fresh]
        Invitation.objects.bulk_create(created)
        if created[0].pk is None:  # SQLite before RETURNING support: read the ids back
            by_email = dict(
                Invitation.objects.filter(batch=batch, email__in=[i.email for i in created]).values_list("email", "pk")
            )
            for inv in created:
                inv.pk = by_email[inv.email]
        through = Invitation.roles.through
        through.objects.bulk_create(
            [through(invitation_id=inv.pk, businessrole_id=role.pk) for inv in created for role in roles]
        )
        for r, inv in fresh:
            r.invitation = inv  # stored by _claim's UPDATE
        audit_record_many(
            actor=batch.created_by,
            action="invitations.invitation.created",
            items=[(r.account, inv) for r, inv in fresh],
            data={"batch": batch.pk},
        )
    return tokens


class _Pacer:
    """The sending rate: how long the next chunk must wait. Never sleeps (tests stay fast)."""

    def __init__(self, rate: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.started = clock()

    def chunk_size(self, configured: int) -> int:
        return max(1, min(configured, self.rate)) if self.rate > 0 else configured

    def countdown(self, sent: int) -> float:
        if self.rate <= 0:
            return 0.0
        return max(0.0, sent / self.rate - (self.clock() - self.started))


_MARK_SENT = f"UPDATE {BatchRecipient._meta.db_table} SET state = %s, done_at = %s WHERE id = %s AND state = %s"  # noqa: S608


def _mark_sent(cursor, recipient_id: int) -> None:
    """Recorded as soon as the SMTP server accepted the message, before the next is sent.

    One small UPDATE per message (no ORM on this path): the price of knowing, after a crash,
    exactly which messages the server had confirmed.
    """
    cursor.execute(_MARK_SENT, [R.SENT, timezone.now(), recipient_id, R.SENDING])


def _synchronous_commit(on: bool) -> None:
    # While a chunk records its messages one by one, commits need not wait for the disk: a
    # worker's crash cannot lose a committed row, only a crash of PostgreSQL itself could lose
    # the last few milliseconds of records (and would stop the batch anyway).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO DEFAULT" if on else "SET synchronous_commit TO OFF")


def batch_send_chunk(*, batch_id: int, after_id: int = 0, clock=time.monotonic) -> ChunkResult:
    """Claim, decide, create, send and record one chunk of a batch. Safe to run twice."""
    result = ChunkResult(last_id=after_id)
    batch = InvitationBatch.objects.select_related("created_by").filter(pk=batch_id).first()
    if batch is None or batch.status != InvitationBatch.Status.RUNNING:
        return result
    pacer = _Pacer(settings.INVITATIONS_BATCH_RATE_PER_SECOND, clock)
    size = pacer.chunk_size(settings.INVITATIONS_BATCH_CHUNK_SIZE)
    roles = list(batch.roles.order_by("sort_order", "name"))
    from invitations.services import expiry_from  # import cycle: services start batches

    expires_at = expiry_from(batch.expires_in_days)

    with transaction.atomic():
        rows = _lock_next(batch_id, after_id, size)
        if not rows:
            _finish_if_done(batch_id)
            return result
        result.claimed = len(rows)
        result.last_id = rows[-1].pk
        reasons = _skip_reasons(batch, rows)
        now = timezone.now()
        _mark_done(R.SKIPPED, reasons, now)
        result.skipped = len(reasons)
        to_send = [r for r in rows if r.pk not in reasons]
        tokens = _prepare_invitations(batch, to_send, roles, expires_at) if to_send else {}
        if to_send:
            _claim(to_send, now)

    if to_send:
        rendered = invitation_email_render(
            inviter_name=batch.created_by.get_full_name() or batch.created_by.email,
            note=batch.note,
            role_names=[r.name for r in roles],
            expires_at=expires_at,
            is_lead=batch.source == InvitationBatch.Source.LEADS,
        )
        failures = _send(batch, to_send, tokens, rendered)
        result.failed = len(failures)
        result.sent = len(to_send) - len(failures)
        _record_outcomes(batch, to_send, failures)

    result.more = True
    result.countdown = pacer.countdown(result.sent)
    return result


def _send(
    batch: InvitationBatch, rows: list[BatchRecipient], tokens: dict[int, str], rendered: InvitationEmail
) -> dict[int, str]:
    """One mail connection for the chunk; ``{recipient id: reason}`` for those that failed.

    With Django's SMTP backend the prerendered bytes go straight to the server, pipelined
    when it offers that (``invitations.smtp``); any other email backend (console, file,
    locmem, a provider's API) gets ordinary email objects.
    """
    failures: dict[int, str] = {}
    mime = InvitationMime(rendered)
    mail_connection = get_connection(fail_silently=False)
    try:
        mail_connection.open()
        sender = _smtp_sender(mail_connection, mime.from_email)
    except Exception as exc:  # noqa: BLE001 - the whole chunk fails with the reason
        return {r.pk: f"The mail server could not be reached: {exc}"[:300] for r in rows}
    _synchronous_commit(False)
    cursor = connection.cursor()
    try:
        for r in rows:
            organisation = r.account.name if r.account is not None else (r.lead.company_name if r.lead else "")
            values = {
                "email": r.email,
                "name": r.name,
                "organisation": organisation or settings.INVITATIONS_COMPANY_NAME,
                "token": tokens[r.pk],
            }
            try:
                if sender is not None:
                    sender.send(envelope_address(r.email), mime.raw(**values))
                elif not mail_connection.send_messages(
                    [invitation_message(rendered, **values, connection=mail_connection)]
                ):
                    failures[r.pk] = "The mail server did not accept the message."
                    continue
            except ValueError as exc:  # an address no email header can carry
                failures[r.pk] = f"The address cannot be sent to: {exc}"[:300]
                continue
            except Exception as exc:  # noqa: BLE001 - a refused recipient must not stop the others
                failures[r.pk] = f"The mail server refused the message: {exc}"[:300]
                if sender is None or not connection_survives(exc):
                    mail_connection.close()
                    mail_connection.open()
                    sender = _smtp_sender(mail_connection, mime.from_email)
                continue
            _mark_sent(cursor, r.pk)
    finally:
        cursor.close()
        _synchronous_commit(True)
        mail_connection.close()
    return failures


def _smtp_sender(mail_connection, from_email: str) -> PipelinedSender | None:
    if not isinstance(mail_connection, SmtpEmailBackend) or mail_connection.connection is None:
        return None
    return PipelinedSender(mail_connection.connection, sanitize_address(from_email, "utf-8"))


def _mark_done(state: str, reasons: dict[int, str], now: dt.datetime) -> None:
    """Skipped or failed, each with its reason: one UPDATE per distinct reason, not per recipient."""
    by_reason: dict[str, list[int]] = defaultdict(list)
    for pk, reason in reasons.items():
        by_reason[reason[:300]].append(pk)
    for reason, pks in by_reason.items():
        BatchRecipient.objects.filter(pk__in=pks).update(state=state, reason=reason, done_at=now)


def _record_outcomes(batch: InvitationBatch, rows: list[BatchRecipient], failures: dict[int, str]) -> None:
    now = timezone.now()
    with transaction.atomic():
        sent = [r for r in rows if r.pk not in failures]
        if failures:
            _mark_done(R.FAILED, failures, now)
            failed_invitations = [r.invitation_id for r in rows if r.pk in failures]
            Invitation.objects.filter(pk__in=failed_invitations).update(
                status=Invitation.Status.BOUNCED, failure_reason="Sending failed.", updated_at=now
            )
        if sent:
            audit_record_many(
                actor=None,
                action="invitations.invitation.sent",
                items=[(r.account, r.invitation) for r in sent],
                data={"batch": batch.pk},
            )


def _finish_if_done(batch_id: int) -> bool:
    if BatchRecipient.objects.filter(batch_id=batch_id, state__in=[R.QUEUED, R.SENDING]).exists():
        return False
    return _finish(batch_id)


def _finish(batch_id: int) -> bool:
    changed = InvitationBatch.objects.filter(pk=batch_id, status=InvitationBatch.Status.RUNNING).update(
        status=InvitationBatch.Status.FINISHED, finished_at=timezone.now(), updated_at=timezone.now()
    )
    if changed:
        batch = InvitationBatch.objects.get(pk=batch_id)
        progress = batch_progress(batch=batch)
        audit_record(
            actor=None,
            action="invitations.batch.finished",
            target=batch,
            data={"sent": progress.sent, "skipped": progress.skipped, "failed": progress.failed},
        )
    return bool(changed)


# --- resuming after a crash ---------------------------------------------------------------


def batches_resume(*, now: dt.datetime | None = None, stall_seconds: int | None = None) -> int:
    """Requeue recipients a lost worker had claimed, and restart every running batch's senders.

    Idempotent: with nothing stalled it only (re)starts senders, and senders that find no
    queued rows stop at once. Returns how many recipients were put back in the queue.
    """
    now = now or timezone.now()
    stall = settings.INVITATIONS_BATCH_STALL_SECONDS if stall_seconds is None else stall_seconds
    running = list(InvitationBatch.objects.filter(status=InvitationBatch.Status.RUNNING).values_list("pk", flat=True))
    if not running:
        return 0
    requeued = BatchRecipient.objects.filter(
        batch_id__in=running, state=R.SENDING, claimed_at__lt=now - dt.timedelta(seconds=stall)
    ).update(state=R.QUEUED, claim="", claimed_at=None)
    for batch_id in running:
        waiting = BatchRecipient.objects.filter(batch_id=batch_id, state__in=[R.QUEUED, R.SENDING])
        if waiting.filter(state=R.QUEUED).exists():
            transaction.on_commit(partial(batch_kick, batch_id))  # this batch's id, bound now
        elif not waiting.exists():
            _finish(batch_id)
    if requeued:
        logger.warning("Requeued %s batch recipients claimed by a lost worker", requeued)
    return requeued


def batch_recipient_kind_counts(batch: InvitationBatch) -> dict[str, int]:
    """Skipped and failed recipients grouped by their reason (for the batch page)."""
    from django.db.models import Count

    return dict(
        BatchRecipient.objects.filter(batch=batch, state__in=[R.SKIPPED, R.FAILED])
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )


__all__ = [
    "BatchPreview",
    "ChunkResult",
    "batch_kick",
    "batch_send_chunk",
    "batches_resume",
    "invitation_batch_cancel",
    "invitation_batch_create",
    "invitation_batch_preview",
]
