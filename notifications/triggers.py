"""Telling the owner of a lead or account when their customer acts on their own.

Called by the services where the event happens (registrations, invitations, reconfirmation),
inside their transactions: a rolled-back registration tells nobody. Whoever caused the event
is not told about it; everyone else is told once (the dedupe key names the event).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifications.services import notify_many

if TYPE_CHECKING:
    from crm.models import Account, Contact, ContactReconfirmation, Lead
    from iam.models import User
    from invitations.models import Invitation
    from registrations.models import RegistrationRequest


def _others(*people: User | None, actor: User | None) -> list[User]:
    return [person for person in people if person is not None and (actor is None or person.pk != actor.pk)]


def customer_registered(
    *, actor: User | None, registration: RegistrationRequest, account: Account, lead: Lead | None = None
) -> None:
    """A registrant was let in: the lead's owner (or, without a lead, the account's) hears of it."""
    record: Account | Lead = lead if lead is not None else account
    name = f"{registration.first_name} {registration.last_name}".strip() or registration.email
    notify_many(
        recipients=_others(record.owner, actor=actor),
        kind="customer.registered",
        title=f"{name} of {registration.company_name or account.name} registered in the portal",
        body=f"{registration.email} signed up and was approved"
        + (" as a lead: they have lead access until there is a contract." if lead is not None else "."),
        url=record.get_absolute_url(),
        target=record,
        dedupe_key=f"customer.registered:{registration.pk}",
    )


def invitation_accepted(*, invitation: Invitation, user: User, account: Account, contact: Contact | None) -> None:
    """The invited person accepted: the lead's or account's owner and the inviter hear of it."""
    owner = invitation.lead.owner if invitation.lead_id is not None and invitation.lead else account.owner
    inviter = invitation.invited_by if invitation.invited_by.is_staff else None
    record = contact if contact is not None else account
    notify_many(
        recipients=_others(owner, inviter, actor=user),
        kind="invitation.accepted",
        title=f"{user} accepted the invitation to {account.name}",
        body=f"{invitation.email} can now sign in to the portal.",
        url=record.get_absolute_url(),
        target=record,
        dedupe_key=f"invitation.accepted:{invitation.pk}",
    )


def reconfirmation_answered(*, request: ContactReconfirmation, contact: Contact) -> None:
    """A contact confirmed their details: the contact's owner (else the account's) hears of it."""
    notify_many(
        recipients=_others(contact.owner, contact.account.owner, actor=None),
        kind="reconfirmation.answered",
        title=f"{contact.full_name} confirmed their details are still correct",
        body=f"{contact.account.name}: the contact is verified again.",
        url=contact.get_absolute_url(),
        target=contact,
        dedupe_key=f"reconfirmation.answered:{request.pk}",
    )
