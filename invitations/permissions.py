"""Who may invite whom. Small pure functions over the IAM's rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iam.permissions import can_manage_members, is_crm_user, manages_every_account

if TYPE_CHECKING:
    from crm.models import Account, Lead
    from iam.permissions import MaybeUser
    from invitations.models import InvitationBatch


def can_invite_to_account(user: MaybeUser, account: Account) -> bool:
    """Staff who manage the account's portal users, and the account's own org admins."""
    return can_manage_members(user, account)


def can_invite_lead(user: MaybeUser, lead: Lead) -> bool:
    """The lead's owner, and staff who work every record (managers, service desk, operations)."""
    if not is_crm_user(user):
        return False
    return manages_every_account(user) or lead.owner_id == user.pk


def can_cancel_batch(user: MaybeUser, batch: InvitationBatch) -> bool:
    """Its sender, and staff who work every record: every staff user sees every batch."""
    return is_crm_user(user) and (manages_every_account(user) or batch.created_by_id == user.pk)


__all__ = ["can_cancel_batch", "can_invite_lead", "can_invite_to_account", "manages_every_account"]
