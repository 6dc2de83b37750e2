"""Every invitation write: invite, send, resend, revoke, accept, expire, bounce.

Shared by the CRM's Invite buttons, the portal's org admins, batch jobs and (later) the
API. Each service checks the actor's right, runs in a transaction with its audit event,
and sends email only after commit. Batch services live in :mod:`invitations.batches` and
are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.matching import account_match
from crm.models import Account, Activity, Contact, Lead
from crm.services import account_create_for_company
from history.services import history_record, history_snapshot
from iam.audit import audit_record, audit_record_many
from iam.models import BusinessRole, Membership, User
from iam.permissions import grantable_roles
from iam.services import membership_grant
from invitations.email_domains import email_domain, public_address_refusal, qualify_business_email
from invitations.emails import invitation_email_render, invitation_message
from invitations.models import Invitation
from invitations.permissions import can_invite_lead, can_invite_to_account
from invitations.tokens import token_digest, token_new, token_well_formed
from notifications import triggers as notification_triggers
from webhooks.services import webhook_emit_records

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

# A second "Invite" within this many seconds returns the open invitation untouched: a
# double-click or a retried request sends one email, not two.
REPEAT_WINDOW = dt.timedelta(seconds=60)


class InvitationUnusable(Exception):
    """The link cannot be used. ``code`` says why: invalid, expired, revoked, used, bounced, wrong_user."""

    def __init__(self, code: str, message: str, invitation: Invitation | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.invitation = invitation


@dataclass(frozen=True)
class InvitationOutcome:
    """What ``invitation_create`` did: ``created``, ``refreshed``, ``unchanged`` or ``already_member``."""

    status: str
    message: str
    invitation: Invitation | None = None

    @property
    def created(self) -> bool:
        return self.status == "created"

    @property
    def already_member(self) -> bool:
        return self.status == "already_member"

    @property
    def sends_email(self) -> bool:
        return self.status in ("created", "refreshed")


@dataclass(frozen=True)
class InvitationAcceptance:
    invitation: Invitation
    user: User
    membership: Membership
    user_created: bool


# --- helpers ------------------------------------------------------------------------------


def _normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    return email


def expiry_from(expires_in_days: int | None, *, now: dt.datetime | None = None) -> dt.datetime:
    days = settings.INVITATIONS_EXPIRY_DAYS if expires_in_days is None else expires_in_days
    limit = settings.INVITATIONS_MAX_EXPIRY_DAYS
    if not 1 <= int(days) <= limit:
        raise ValidationError({"expires_in_days": f"An invitation expires after 1 to {limit} days."})
    return (now or timezone.now()) + dt.timedelta(days=int(days))


def default_roles() -> list[BusinessRole]:
    return list(BusinessRole.objects.filter(key__in=settings.INVITATIONS_DEFAULT_ROLES))


def lead_role() -> BusinessRole:
    return BusinessRole.objects.get(key=BusinessRole.LEAD)


def _send_after_commit(invitation_id: int) -> None:
    from invitations.tasks import invitation_send_task

    transaction.on_commit(lambda: invitation_send_task.delay(invitation_id))


def _require_may_manage(actor: User, invitation: Invitation) -> None:
    if invitation.lead_id is not None and invitation.account_id is None:
        assert invitation.lead is not None
        allowed = can_invite_lead(actor, invitation.lead)
    else:
        assert invitation.account is not None  # every invitation has a target (inv_invitation_has_target)
        allowed = can_invite_to_account(actor, invitation.account)
    if not allowed:
        raise PermissionDenied("You may not manage this invitation.")


def _require_may_grant(actor: User, account: Account, roles: list[BusinessRole]) -> None:
    grantable = grantable_roles(actor, account, roles)
    refused = [r.name for r in roles if r.pk not in grantable]
    if refused:
        raise PermissionDenied(f"You may not grant: {', '.join(sorted(refused))}.")


def membership_refusal(*, email: str, account: Account) -> str | None:
    """Why ``email`` cannot be invited into ``account`` (already in, or suspended), or None."""
    membership = (
        Membership.objects.filter(user__email__iexact=email, account=account).only("status", "suspended_by").first()
    )
    if membership is None or membership.status in (Membership.Status.DEACTIVATED, Membership.Status.INVITED):
        return None
    if membership.status == Membership.Status.ACTIVE:
        return f"{email} is already a portal user of {account}. Nothing was sent."
    return f"{email} is a suspended portal user of {account}. Reactivate them instead of inviting again."


# --- invite -------------------------------------------------------------------------------


def invitation_create(
    *,
    actor: User,
    email: str = "",
    account: Account | None = None,
    lead: Lead | None = None,
    contact: Contact | None = None,
    roles: Iterable[BusinessRole] | None = None,
    note: str = "",
    expires_in_days: int | None = None,
) -> InvitationOutcome:
    """Invite a person into an account (from a contact or by email), or a lead into lead access.

    Idempotent: an open invitation for the same email and account (or lead) is refreshed
    (new link, new expiry, the new roles and note) instead of duplicated, and returned
    untouched when it was sent moments ago. Someone who is already an active member gets
    an ``already_member`` outcome and no email.
    """
    note = (note or "").strip()
    if len(note) > 1000:
        raise ValidationError({"note": "Keep the personal note under 1,000 characters."})
    expires_at = expiry_from(expires_in_days)

    if lead is not None:
        if account is not None or contact is not None:
            raise ValidationError("A lead invitation is for the lead alone; invite contacts into accounts.")
        if not can_invite_lead(actor, lead):
            raise PermissionDenied("You may not invite this lead.")
        if lead.status in (Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED):
            raise BusinessRuleViolation(f"A {lead.get_status_display().lower()} lead cannot be invited.")
        if lead.status == Lead.Status.REGISTERED:
            raise BusinessRuleViolation("This lead has already registered.")
        email = _normalise_email(email or lead.email)
        qualification = qualify_business_email(email)
        if not qualification.qualified:
            raise ValidationError({"email": ValidationError(qualification.reason, code=qualification.code)})
        role_list = [lead_role()]
        if roles is not None and {r.pk for r in roles} - {role_list[0].pk}:
            raise ValidationError({"roles": "A lead is invited with the Lead role only."})
    else:
        if contact is not None:
            if contact.left_at is not None:
                raise BusinessRuleViolation(f"{contact.full_name} has left {contact.account}: nobody to invite.")
            account = account or contact.account
            if contact.account_id != account.pk:
                raise ValidationError({"contact": "That contact belongs to another account."})
        if account is None:
            raise ValidationError("Say which account the person is invited into.")
        if not can_invite_to_account(actor, account):
            raise PermissionDenied("You may not invite people into this organisation.")
        role_list = list(roles) if roles is not None else default_roles()
        _require_may_grant(actor, account, role_list)
        email = _normalise_email(email or (contact.email if contact else ""))
        refusal = public_address_refusal(email, account=account, actor=actor) if email else None
        if refusal:
            raise ValidationError({"email": ValidationError(refusal, code="public_address")})
        if contact is None:
            contact = account.contacts.filter(email__iexact=email).order_by("pk").first()

    existing_user = User.objects.filter(email__iexact=email).only("is_staff").first()
    if existing_user is not None and existing_user.is_staff:
        raise ValidationError({"email": "That address belongs to a staff user; staff do not get portal access."})
    if account is not None:
        refusal = membership_refusal(email=email, account=account)
        if refusal is not None:
            if "suspended" in refusal:
                raise BusinessRuleViolation(refusal)
            return InvitationOutcome(status="already_member", message=refusal)

    target: dict[str, Lead | Account | None] = (
        {"lead": lead} if lead is not None else {"account": account, "lead": None}
    )
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().open().filter(email=email, **target).first()
        if invitation is None:
            try:
                with transaction.atomic():
                    invitation = Invitation.objects.create(
                        email=email,
                        account=account,
                        lead=lead,
                        contact=contact,
                        invited_by=actor,
                        note=note,
                        expires_at=expires_at,
                    )
            except IntegrityError:
                # A concurrent request (a double-click) created it first: use theirs.
                invitation = Invitation.objects.select_for_update().open().get(email=email, **target)
            else:
                invitation.roles.set(role_list)
                audit_record(
                    actor=actor,
                    action="invitations.invitation.created",
                    account=account,
                    target=invitation,
                    data=_audit_data(invitation, role_list),
                )
                _send_after_commit(invitation.pk)
                _on_timeline(invitation, actor=actor, subject=f"Invited to the portal: {email}")
                return InvitationOutcome(
                    status="created", message=f"Invitation sent to {email}.", invitation=invitation
                )
        if timezone.now() - invitation.updated_at < REPEAT_WINDOW:
            return InvitationOutcome(
                status="unchanged", message=f"{email} was invited a moment ago.", invitation=invitation
            )
        _reissue(invitation, expires_at=expires_at, invited_by=actor, note=note, contact=contact)
        invitation.roles.set(role_list)
        audit_record(
            actor=actor,
            action="invitations.invitation.resent",
            account=account,
            target=invitation,
            data={**_audit_data(invitation, role_list), "via": "invite_again"},
        )
        _send_after_commit(invitation.pk)
        _on_timeline(invitation, actor=actor, subject=f"Invited to the portal again: {email}")
    return InvitationOutcome(
        status="refreshed", message=f"{email} had an open invitation: a new link was sent.", invitation=invitation
    )


def _on_timeline(invitation: Invitation, *, actor: User, subject: str, body: str = "") -> None:
    """Invitations show on the contact's timeline, as the email they are (#15).

    A lead's timeline already gets its note when the lead registers (``_lead_registered``).
    """
    contact = invitation.contact
    if contact is None:
        return
    now = timezone.now()
    activity = Activity.objects.create(
        kind=Activity.Kind.EMAIL,
        subject=subject[:200],
        body=body
        or f"Sent by {_inviter_name(actor)}." + (f" Their note: “{invitation.note}”" if invitation.note else ""),
        done=True,
        done_at=now,
        occurred_at=now,
        author=actor,
        owner=contact.owner,
        account_id=contact.account_id,
        contact=contact,
    )
    history_record(actor=actor, record=activity)


def _audit_data(invitation: Invitation, roles: Iterable[BusinessRole]) -> dict[str, Any]:
    data: dict[str, Any] = {"email": invitation.email, "roles": sorted(r.key for r in roles)}
    if invitation.lead_id:
        data["lead"] = invitation.lead_id
    if invitation.contact_id:
        data["contact"] = invitation.contact_id
    return data


def _reissue(invitation: Invitation, *, expires_at: dt.datetime, **changes: Any) -> None:
    """Back to pending with no valid link: the old token stops working now, a new one is mailed."""
    invitation.status = Invitation.Status.PENDING
    invitation.token_hash = ""
    invitation.failure_reason = ""
    invitation.expires_at = expires_at
    for name, value in changes.items():
        if value is not None:
            setattr(invitation, name, value)
    invitation.save()


# --- send ---------------------------------------------------------------------------------


def invitation_send(*, invitation_id: int) -> bool:
    """Issue the link's token and email it. Runs on a worker; a second run sends nothing.

    The token is created here, where it is mailed, and never leaves this function except
    in the email: the broker and the database never see it. The row is claimed under a
    lock (``pending`` → ``sent``) and the email goes out before that commits, so a failed
    send leaves the invitation pending and a crash after the send leaves a dead link
    behind a live one, never two live ones.
    """
    try:
        with transaction.atomic():
            invitation = (
                Invitation.objects.select_for_update(of=("self",))
                .select_related("invited_by", "account", "lead")
                .filter(pk=invitation_id, status=Invitation.Status.PENDING, expires_at__gt=timezone.now())
                .first()
            )
            if invitation is None:
                return False
            token, digest = token_new()
            invitation.token_hash = digest
            invitation.status = Invitation.Status.SENT
            invitation.sent_at = timezone.now()
            invitation.send_count = F("send_count") + 1
            invitation.save(update_fields=["token_hash", "status", "sent_at", "send_count", "updated_at"])
            audit_record(
                actor=None,
                action="invitations.invitation.sent",
                account=invitation.account,
                target=invitation,
                data={"email": invitation.email},
            )
            rendered = invitation_email_render(
                inviter_name=_inviter_name(invitation.invited_by),
                note=invitation.note,
                role_names=[r.name for r in invitation.roles.all()],
                expires_at=invitation.expires_at,
                is_lead=invitation.lead_id is not None,
            )
            name = _recipient_name(invitation)
            message = invitation_message(
                rendered,
                email=invitation.email,
                name=name,
                organisation=_organisation_name(invitation),
                token=token,
                connection=get_connection(),
            )
            message.send()
    except Exception as exc:  # noqa: BLE001 - any failure to send is recorded on the invitation
        logger.warning("Invitation %s could not be sent: %s", invitation_id, exc)
        _mark_failed(invitation_id, reason=f"Sending failed: {exc}"[:300])
        return False
    return True


def _inviter_name(user: User) -> str:
    return user.get_full_name() or user.email


def _recipient_name(invitation: Invitation) -> str:
    if invitation.contact is not None:
        return invitation.contact.full_name
    if invitation.lead is not None:
        return invitation.lead.full_name
    return ""


def _organisation_name(invitation: Invitation) -> str:
    if invitation.account is not None:
        return invitation.account.name
    assert invitation.lead is not None  # every invitation has a target (inv_invitation_has_target)
    return invitation.lead.company_name or settings.INVITATIONS_COMPANY_NAME


def _mark_failed(invitation_id: int, *, reason: str) -> None:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None or invitation.status not in Invitation.OPEN_STATUSES:
            return
        invitation.status = Invitation.Status.BOUNCED
        invitation.failure_reason = reason
        invitation.save(update_fields=["status", "failure_reason", "updated_at"])
        audit_record(
            actor=None,
            action="invitations.invitation.bounced",
            account=invitation.account,
            target=invitation,
            data={"email": invitation.email, "reason": reason},
        )


# --- resend, revoke -----------------------------------------------------------------------


def invitation_resend(*, actor: User, invitation: Invitation, expires_in_days: int | None = None) -> Invitation:
    """A new link (the old one stops working at once) and a new expiry; also reopens expired or bounced ones."""
    expires_at = expiry_from(expires_in_days)
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",)).select_related("account", "lead").get(pk=invitation.pk)
        )
        _require_may_manage(actor, invitation)
        if invitation.status in (Invitation.Status.ACCEPTED, Invitation.Status.REVOKED):
            raise BusinessRuleViolation(
                f"This invitation was {invitation.get_status_display().lower()}; invite the person again instead."
            )
        if invitation.account_id is not None and invitation.lead_id is None:
            # A new link grants the invitation's roles again: only someone who may grant them
            # sends it (an org admin sees the invitations staff made, with roles they lack).
            assert invitation.account is not None
            _require_may_grant(actor, invitation.account, list(invitation.roles.all()))
            refusal = membership_refusal(email=invitation.email, account=invitation.account)
            if refusal is not None:
                raise BusinessRuleViolation(refusal)
        reopening = invitation.status not in Invitation.OPEN_STATUSES
        try:
            with transaction.atomic():
                _reissue(invitation, expires_at=expires_at)
        except IntegrityError:
            raise BusinessRuleViolation(f"{invitation.email} already has another open invitation.") from None
        audit_record(
            actor=actor,
            action="invitations.invitation.resent",
            account=invitation.account,
            target=invitation,
            data={"email": invitation.email, "reopened": reopening},
        )
        _send_after_commit(invitation.pk)
    return invitation


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """The link stops working at once. Revoking twice changes nothing."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",)).select_related("account", "lead").get(pk=invitation.pk)
        )
        _require_may_manage(actor, invitation)
        if invitation.status == Invitation.Status.REVOKED:
            return invitation
        if invitation.status == Invitation.Status.ACCEPTED:
            raise BusinessRuleViolation("This invitation was already accepted; remove the portal user instead.")
        invitation.status = Invitation.Status.REVOKED
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["status", "revoked_at", "updated_at"])
        audit_record(
            actor=actor,
            action="invitations.invitation.revoked",
            account=invitation.account,
            target=invitation,
            data={"email": invitation.email},
        )
    return invitation


# --- accept -------------------------------------------------------------------------------


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link opens, if it can be used now. GET-safe: it changes nothing.

    Raises :class:`InvitationUnusable` with a code the page explains.
    """
    invitation = None
    if token_well_formed(token):
        invitation = (
            Invitation.objects.select_related("account", "lead", "contact", "invited_by")
            .filter(token_hash=token_digest(token))
            .first()
        )
    if invitation is None:
        raise InvitationUnusable(
            "invalid",
            "This invitation link is not valid. It may have been copied incompletely, or replaced by a newer one.",
        )
    _raise_unless_usable(invitation)
    return invitation


def _raise_unless_usable(invitation: Invitation) -> None:
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        raise InvitationUnusable("used", "This invitation has already been used.", invitation)
    if status == Invitation.Status.REVOKED:
        raise InvitationUnusable("revoked", "This invitation was withdrawn.", invitation)
    if status == Invitation.Status.BOUNCED:
        raise InvitationUnusable("revoked", "This invitation is no longer valid.", invitation)
    if status == Invitation.Status.EXPIRED or invitation.expires_at <= timezone.now():
        raise InvitationUnusable("expired", "This invitation has expired.", invitation)
    if status != Invitation.Status.SENT:
        # Pending: a newer link is on its way; this token is not the current one.
        raise InvitationUnusable("invalid", "This invitation link was replaced by a newer one.", invitation)


def invitation_accept(
    *,
    actor: User | None,
    token: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> InvitationAcceptance:
    """Complete an invitation: the one step that consumes the link.

    ``actor`` None: a new person; a user is created with ``password`` and the invited email,
    which counts as verified (they proved they can read it). ``actor`` set: a signed-in user
    whose email must be the invited one. Either way the membership is created (or a removed
    one restored) with the invited roles and linked to the contact; a lead gets the Lead
    role, a contact at its company's account, and the lead is marked registered.
    """
    first_name, last_name = first_name.strip(), last_name.strip()
    with transaction.atomic():
        invitation = None
        if token_well_formed(token):
            invitation = (
                Invitation.objects.select_for_update(of=("self",))
                .select_related("account", "lead", "contact", "invited_by")
                .filter(token_hash=token_digest(token))
                .first()
            )
        if invitation is None:
            raise InvitationUnusable("invalid", "This invitation link is not valid.")
        _raise_unless_usable(invitation)

        if actor is not None:
            if actor.is_staff:
                raise InvitationUnusable("wrong_user", "Staff users cannot accept portal invitations.", invitation)
            if actor.email.lower() != invitation.email:
                raise InvitationUnusable(
                    "wrong_user",
                    f"This invitation is for {invitation.email}. Sign out, then open the link again.",
                    invitation,
                )
            user, user_created = User.objects.select_for_update().get(pk=actor.pk), False
        else:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise InvitationUnusable(
                    "sign_in", f"{invitation.email} already has an account. Sign in to accept.", invitation
                )
            if not password:
                raise ValidationError({"password1": "Choose a password."})
            candidate = User(email=invitation.email, first_name=first_name, last_name=last_name)
            validate_password(password, user=candidate)
            user = User.objects.create_user(
                email=invitation.email, password=password, first_name=first_name, last_name=last_name
            )
            user_created = True
        _email_verified(user, invitation.email)

        roles = list(invitation.roles.all())
        if invitation.lead_id is not None:
            account, contact = _registration_records(invitation=invitation, user=user)
        else:
            assert invitation.account is not None  # no lead: an account invitation (inv_invitation_has_target)
            account = invitation.account
            contact = invitation.contact or _contact_for(account=account, user=user, email=invitation.email)
        # The inviter's right to grant these roles was checked when they invited.
        membership = membership_grant(
            actor=user,
            user=user,
            account=account,
            roles=roles,
            contact=contact,
            authorized=True,
            audit_data={"invitation": invitation.pk, "invited_by": invitation.invited_by.email},
        )

        now = timezone.now()
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.membership = membership
        invitation.account = account
        invitation.contact = contact
        invitation.save(
            update_fields=["status", "accepted_at", "accepted_by", "membership", "account", "contact", "updated_at"]
        )
        if user_created:
            audit_record(
                actor=user,
                action="iam.user.created",
                account=account,
                target=user,
                data={"user": user.email, "invitation": invitation.pk},
            )
        audit_record(
            actor=user,
            action="invitations.invitation.accepted",
            account=account,
            target=invitation,
            data={"email": invitation.email, "user_created": user_created, "roles": sorted(r.key for r in roles)},
        )
        if invitation.lead_id is not None:
            _lead_registered(invitation=invitation, user=user, account=account)
        if invitation.lead_id is None and contact is not None:
            _on_timeline(
                invitation,
                actor=user,
                subject=f"Accepted the portal invitation: {invitation.email}",
                body="They can sign in to the portal now.",
            )
        notification_triggers.invitation_accepted(invitation=invitation, user=user, account=account, contact=contact)
    return InvitationAcceptance(invitation=invitation, user=user, membership=membership, user_created=user_created)


def _email_verified(user: User, email: str) -> None:
    from allauth.account.models import EmailAddress

    address, created = EmailAddress.objects.get_or_create(
        user=user,
        email=email,
        # allauth ships no types, so its reverse relation on our User is unknown to the checker.
        defaults={"verified": True, "primary": not user.emailaddress_set.exists()},  # type: ignore[attr-defined]
    )
    if not created and not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])


def _contact_for(*, account: Account, user: User, email: str, lead: Lead | None = None) -> Contact:
    contact = account.contacts.filter(email__iexact=email).order_by("pk").first()
    if contact is not None:
        return contact
    source = lead or user
    contact = Contact.objects.create(
        account=account,
        first_name=source.first_name or user.first_name,
        last_name=source.last_name or user.last_name or email.split("@", 1)[0],
        email=email,
        phone=getattr(lead, "phone", "") or "",
        job_title=getattr(lead, "job_title", "") or "",
        owner=account.owner,
    )
    webhook_emit_records("contact.created", [contact])
    history_record(actor=user, record=contact)
    return contact


def _registration_records(*, invitation: Invitation, user: User) -> tuple[Account, Contact]:
    """The account and contact a registering lead belongs to: the account the matcher recognises, else a new one.

    Only conclusive evidence links (the lead's business id, the invited address's domain): a
    similar name would put a stranger into someone else's organisation.
    """
    lead = Lead.objects.select_for_update().select_related("owner").get(pk=invitation.lead_id)
    invitation.lead = lead
    country = str(lead.company_country or "")
    match = account_match(business_id=lead.company_business_id, email=invitation.email, country=country)
    if match is not None and match.conclusive:
        account = match.account
    else:
        account, _created = account_create_for_company(
            actor=None,
            name=lead.company_name or email_domain(invitation.email),
            owner=lead.owner,
            source={"via": "lead_invitation", "lead": lead.pk},
            business_id=lead.company_business_id,
            country=lead.company_country,
            website=lead.company_website,
            email=invitation.email,
        )
    return account, _contact_for(account=account, user=user, email=invitation.email, lead=lead)


def _lead_registered(*, invitation: Invitation, user: User, account: Account) -> None:
    lead = invitation.lead
    assert lead is not None  # called for lead invitations only
    bonus = settings.INVITATIONS_LEAD_SCORE_BONUS
    before = history_snapshot(lead)
    Lead.objects.filter(pk=lead.pk).update(
        status=Lead.Status.REGISTERED, score=Least(F("score") + bonus, 100), updated_at=timezone.now()
    )
    lead.refresh_from_db(fields=["status", "score", "updated_at"])
    history_record(actor=user, record=lead, before=before)
    note = Activity.objects.create(
        kind=Activity.Kind.NOTE,
        subject=f"Registered for the portal: {invitation.email}",
        done=True,
        done_at=timezone.now(),
        body=f"Accepted the invitation from {_inviter_name(invitation.invited_by)}. Score +{bonus} → {lead.score}.",
        author=invitation.invited_by,
        owner=lead.owner,
        lead=lead,
    )
    history_record(actor=user, record=note)
    audit_record(
        actor=user,
        action="crm.lead.registered",
        account=account,
        target=lead,
        data={"email": invitation.email, "score": lead.score, "bonus": bonus, "invitation": invitation.pk},
    )
    from invitations.tasks import lead_registered_notify_task

    transaction.on_commit(lambda: lead_registered_notify_task.delay(lead.pk, invitation.pk))


def lead_registered_notify(*, lead_id: int, invitation_id: int) -> bool:
    """Tell the lead's owner that their lead registered (an email)."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    lead = Lead.objects.select_related("owner").filter(pk=lead_id).first()
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if lead is None or invitation is None or not lead.owner.email:
        return False
    context = {
        "lead": lead,
        "invitation": invitation,
        "lead_url": settings.SITE_URL + lead.get_absolute_url(),
        "company_name": settings.INVITATIONS_COMPANY_NAME,
    }
    send_mail(
        subject=f"{lead.full_name} registered for the portal",
        message=render_to_string("invitations/email/lead_registered.txt", context),
        html_message=render_to_string("invitations/email/lead_registered.html", context),
        from_email=None,
        recipient_list=[lead.owner.email],
    )
    return True


# --- periodic -----------------------------------------------------------------------------


def invitations_expire_due(*, now: dt.datetime | None = None) -> int:
    """Mark open invitations past their expiry as expired. Set-based and idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .open()
            .filter(expires_at__lte=now)
            .select_related("account")
        )
        if not due:
            return 0
        changed = (
            Invitation.objects.open()
            .filter(pk__in=[i.pk for i in due])
            .update(status=Invitation.Status.EXPIRED, updated_at=now)
        )
        audit_record_many(actor=None, action="invitations.invitation.expired", items=[(i.account, i) for i in due])
    return changed


def invitations_mark_bounced(*, email: str, reason: str) -> int:
    """The mail system reported ``email`` undeliverable: its open invitations become bounced."""
    return invitations_mark_bounced_many(bounces=[(email, reason)])


def invitations_mark_bounced_many(*, bounces: list[tuple[str, str]]) -> int:
    """``invitations_mark_bounced`` for many (email, reason) pairs: one locked read, one UPDATE per reason."""
    reasons: dict[str, str] = {}
    for email, reason in bounces:
        email = (email or "").strip().lower()
        if email:
            reasons.setdefault(email, (reason or "The email could not be delivered.").strip()[:300])
    if not reasons:
        return 0
    with transaction.atomic():
        rows = list(
            Invitation.objects.select_for_update(of=("self",))
            .open()
            .filter(email__in=list(reasons))
            .select_related("account")
        )
        if not rows:
            return 0
        by_reason: dict[str, list[int]] = {}
        for invitation in rows:
            by_reason.setdefault(reasons[invitation.email], []).append(invitation.pk)
        now = timezone.now()
        changed = 0
        for reason, pks in by_reason.items():
            changed += (
                Invitation.objects.open()
                .filter(pk__in=pks)
                .update(status=Invitation.Status.BOUNCED, failure_reason=reason, updated_at=now)
            )
        audit_record_many(
            actor=None,
            action="invitations.invitation.bounced",
            items=[(i.account, i, {"email": i.email, "reason": reasons[i.email]}) for i in rows],
        )
    return changed


# --- batches (see invitations.batches) ----------------------------------------------------

from invitations.batches import (  # noqa: E402 - re-exported: one module names every write
    batch_send_chunk,
    batches_resume,
    invitation_batch_cancel,
    invitation_batch_create,
    invitation_batch_preview,
)

__all__ = [
    "InvitationAcceptance",
    "InvitationOutcome",
    "InvitationUnusable",
    "batch_send_chunk",
    "batches_resume",
    "invitation_accept",
    "invitation_batch_cancel",
    "invitation_batch_create",
    "invitation_batch_preview",
    "invitation_create",
    "invitation_for_token",
    "invitation_resend",
    "invitation_revoke",
    "invitation_send",
    "invitations_expire_due",
    "invitations_mark_bounced",
    "invitations_mark_bounced_many",
]
