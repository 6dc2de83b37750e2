"""Reads of invitations and batches, scoped to what the requester may see, joins in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, When
from django.shortcuts import get_object_or_404

from crm.models import Account, Lead
from iam.models import BusinessRole, Membership
from iam.permissions import is_crm_user, manages_every_account
from invitations.models import BatchRecipient, Invitation, InvitationBatch
from invitations.permissions import can_invite_lead, can_invite_to_account

if TYPE_CHECKING:
    from crm.models import Contact
    from iam.models import User

INVITATIONS_SHOWN = 50


def _rows(queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
    open_first = Case(
        When(status__in=Invitation.OPEN_STATUSES, then=0),
        When(status=Invitation.Status.BOUNCED, then=1),
        default=2,
        output_field=IntegerField(),
    )
    return (
        queryset.select_related("invited_by", "contact")
        .prefetch_related(Prefetch("roles", queryset=BusinessRole.objects.order_by("sort_order", "name")))
        .annotate(open_first=open_first)
        .order_by("open_first", "-created_at", "-id")
    )


@dataclass(frozen=True)
class InvitationList:
    invitations: list[Invitation]
    open_count: int
    can_manage: bool


def account_invitations(*, user: User, account: Account, limit: int = INVITATIONS_SHOWN) -> InvitationList:
    """The account's invitations, open ones first: three queries however many there are."""
    qs = Invitation.objects.filter(account=account, lead__isnull=True)
    return InvitationList(
        invitations=list(_rows(qs)[:limit]),
        open_count=qs.open().count(),
        can_manage=can_invite_to_account(user, account),
    )


def invitations_manageable_by(*, user: User) -> QuerySet[Invitation]:
    """The invitations ``user`` may resend or revoke, as a query (``invitations.permissions``' rules).

    Staff who work every record: all. Other staff: those of the accounts, and of the leads not
    yet registered into an account, that they own. Org admins: their accounts' invitations.
    """
    qs = Invitation.objects.select_related("account", "lead")
    if is_crm_user(user):
        if manages_every_account(user):
            return qs
        lead_only = Q(account__isnull=True, lead__owner=user)
        return qs.filter(lead_only | Q(account__isnull=False, account__owner=user))
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    administered = Membership.objects.usable().filter(user=user, is_org_admin=True).values("account_id")
    return qs.filter(account__isnull=False, account__in=administered)


def invitation_for_manager(*, user: User, pk: int) -> Invitation:
    """An invitation the user may resend or revoke; anything else is the same 404 as a missing one."""
    return get_object_or_404(invitations_manageable_by(user=user), pk=pk)


def latest_invitation(*, contact: Contact | None = None, lead: Lead | None = None) -> Invitation | None:
    qs = Invitation.objects.filter(contact=contact) if contact is not None else Invitation.objects.filter(lead=lead)
    return qs.order_by("-created_at", "-id").first()


# --- batches ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchProgress:
    """Counted from the recipients' states, so the numbers are right after any crash."""

    total: int
    queued: int
    sending: int
    sent: int
    skipped: int
    failed: int
    cancelled: int

    @property
    def done(self) -> int:
        return self.sent + self.skipped + self.failed + self.cancelled

    @property
    def waiting(self) -> int:
        return self.queued + self.sending

    def percent(self, part: int) -> float:
        return round(100 * part / self.total, 1) if self.total else 0.0

    @property
    def sent_pct(self) -> float:
        return self.percent(self.sent)

    @property
    def skipped_pct(self) -> float:
        return self.percent(self.skipped + self.cancelled)

    @property
    def failed_pct(self) -> float:
        return self.percent(self.failed)

    @property
    def failed_x(self) -> float:
        return round(self.sent_pct + self.skipped_pct, 1)

    @property
    def done_pct(self) -> float:
        return self.percent(self.done)


def batch_progress(*, batch: InvitationBatch) -> BatchProgress:
    counts = dict(BatchRecipient.objects.filter(batch=batch).values_list("state").annotate(n=Count("id")).order_by())
    states = {state: counts.get(state, 0) for state in BatchRecipient.State.values}
    return BatchProgress(total=sum(states.values()), **states)


def batches_with_progress(*, user: User) -> QuerySet[InvitationBatch]:
    """Batches with their recipients counted per state in the same query (``batch.progress``)."""
    counts = {
        f"n_{state}": Count("recipients", filter=Q(recipients__state=state)) for state in BatchRecipient.State.values
    }
    return batches_visible_to(user=user).annotate(**counts)


def progress_of(batch: InvitationBatch) -> BatchProgress:
    """The progress of a batch from ``batches_with_progress``."""
    states = {state: getattr(batch, f"n_{state}") for state in BatchRecipient.State.values}
    return BatchProgress(total=sum(states.values()), **states)


def batches_visible_to(*, user: User) -> QuerySet[InvitationBatch]:
    if not is_crm_user(user):
        return InvitationBatch.objects.none()
    return InvitationBatch.objects.select_related("created_by")


def batch_for(*, user: User, pk: int) -> InvitationBatch:
    return get_object_or_404(batches_visible_to(user=user), pk=pk)


def batch_recipient_rows(*, batch: InvitationBatch, state: str = "") -> QuerySet[BatchRecipient]:
    qs = BatchRecipient.objects.filter(batch=batch).select_related("account", "contact", "lead")
    if state:
        qs = qs.filter(state=state)
    return qs


@dataclass(frozen=True)
class InviteButton:
    """What a record page's Invite button needs: where it goes, whether it may, the last invitation."""

    url: str
    allowed: bool
    latest: Invitation | None = None
    portal_user: bool = False


def invite_button(*, user: User, contact: Contact | None = None, lead: Lead | None = None) -> InviteButton:
    from django.urls import reverse

    if contact is not None:
        is_member = bool(contact.email) and (
            Membership.objects.filter(
                account_id=contact.account_id, user__email__iexact=contact.email, status=Membership.Status.ACTIVE
            ).exists()
        )
        return InviteButton(
            url=reverse("invitations:invite_contact", args=[contact.pk]),
            allowed=can_invite_to_account(user, contact.account) and bool(contact.email),
            latest=latest_invitation(contact=contact),
            portal_user=is_member,
        )
    assert lead is not None  # a contact or a lead, always
    return InviteButton(
        url=reverse("invitations:invite_lead", args=[lead.pk]),
        allowed=can_invite_lead(user, lead) and lead.status not in ("converted", "disqualified", "registered"),
        latest=latest_invitation(lead=lead),
    )
