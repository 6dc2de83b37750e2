"""Every identity and access change: memberships, roles, suspension, contract-driven access.

Each service checks the actor's right, runs in a transaction, writes its audit event inside
that transaction, and ends sessions only after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.departures import contacts_mark_left
from crm.models import Account, Contact, Contract, LeftReason
from history.services import history_record, history_snapshot
from iam.audit import audit_record, audit_record_many
from iam.models import ApplicationRole, BusinessRole, Membership, User
from iam.oidc.services import tokens_revoke_for_memberships, tokens_revoke_for_user
from iam.permissions import can_manage_members, grantable_roles, is_crm_user, is_operations, is_staff_admin_of
from webhooks.services import webhook_emit_records

if TYPE_CHECKING:
    from django.db.models import QuerySet


def _role_flags(role_keys: set[str]) -> dict[str, bool]:
    return {
        "is_org_admin": BusinessRole.ORG_ADMIN in role_keys,
        "is_lead_only": role_keys == {BusinessRole.LEAD},
    }


def _require_manager(actor: User, account: Account) -> None:
    if not can_manage_members(actor, account):
        raise PermissionDenied("You may not manage this organisation's users.")


def _other_active_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(account_id=membership.account_id, status=Membership.Status.ACTIVE, is_org_admin=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def _guard_last_admin(membership: Membership, *, losing_admin: bool) -> None:
    if (
        losing_admin
        and membership.is_org_admin
        and membership.status == Membership.Status.ACTIVE
        and not _other_active_admins(membership)
    ):
        raise BusinessRuleViolation("This is the organisation's last active admin. Make someone else an admin first.")


def users_end_sessions_without_access(user_ids: Iterable[int]) -> None:
    """End every session of these external users who are left with no usable membership."""
    ids = set(user_ids)
    if not ids:
        return
    still_in = set(Membership.objects.usable().filter(user_id__in=ids).values_list("user_id", flat=True))
    locked_out = User.objects.filter(pk__in=ids - still_in, is_staff=False).values_list("pk", flat=True)
    for session in UserSession.objects.filter(user_id__in=list(locked_out)):
        session.end()


def _after_commit_end_sessions(user_ids: Iterable[int]) -> None:
    ids = list(user_ids)
    transaction.on_commit(lambda: users_end_sessions_without_access(ids))


def contact_for_user(*, account: Account, user: User, actor: User | None) -> Contact:
    """The account's contact record that is this person: matched by email, else created."""
    contact = account.contacts.filter(email__iexact=user.email).order_by("pk").first()
    if contact:
        return contact
    contact = Contact.objects.create(
        account=account,
        first_name=user.first_name,
        last_name=user.last_name or user.email.split("@", 1)[0],
        email=user.email,
        owner=account.owner,
    )
    webhook_emit_records("contact.created", [contact])
    history_record(actor=actor, record=contact)
    return contact


def membership_grant(
    *,
    actor: User | None,
    user: User,
    account: Account,
    roles: Iterable[BusinessRole],
    contact: Contact | None = None,
    authorized: bool = False,
    audit_data: dict[str, Any] | None = None,
) -> Membership:
    """Give an external user a membership of an account with these roles: the one way one is made.

    A new membership is created (``iam.membership.created``); one the user was removed from, or
    only invited to, is restored with these roles (``iam.membership.reactivated``); an active one
    is returned as it is; a suspended one is refused (an admin reactivates it). Access then
    follows the contract at once: without an active contract the membership is suspended.

    The actor's right to grant the roles is checked unless the caller checked it
    (``authorized``: the invitation its inviter was allowed to send) or the system acts
    (``actor=None``: a registration approved by rule). ``audit_data`` says in the event why.
    """
    roles = list(roles)
    if user.is_staff:
        raise ValidationError({"user": "Staff users work in the CRM; they do not get portal memberships."})
    if actor is not None and not authorized:
        _require_manager(actor, account)
        if {r.pk for r in roles} - grantable_roles(actor, account, roles):
            raise PermissionDenied("You may not grant one of these roles.")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(user=user, account=account).first()
        if membership is not None and membership.status == Membership.Status.ACTIVE:
            return membership  # joined another way meanwhile: nothing to grant
        if membership is not None and membership.status == Membership.Status.SUSPENDED:
            raise BusinessRuleViolation(f"{user.email}'s access to {account} is suspended. Ask its administrator.")
        contact = contact or contact_for_user(account=account, user=user, actor=actor)
        if contact.account_id != account.pk:
            raise ValidationError({"contact": "That contact belongs to another account."})
        flags = _role_flags({r.key for r in roles})
        if membership is None:
            membership = Membership.objects.create(
                user=user, account=account, contact=contact, status=Membership.Status.ACTIVE, **flags
            )
            action = "iam.membership.created"
        else:  # removed earlier, or invited: granted again
            membership.status = Membership.Status.ACTIVE
            membership.suspended_by = ""
            membership.status_changed_at = timezone.now()
            membership.contact = contact
            for name, value in flags.items():
                setattr(membership, name, value)
            membership.save()
            action = "iam.membership.reactivated"
        membership.roles.set(roles)
        audit_record(
            actor=actor,
            action=action,
            account=account,
            target=membership,
            data={
                "user": user.email,
                "roles": sorted(r.key for r in roles),
                "status": Membership.Status.ACTIVE.value,
                **(audit_data or {}),
            },
        )
        access_sync(account_ids=[account.pk], actor=actor)
        membership.refresh_from_db()
    return membership


def membership_set_roles(*, actor: User, membership: Membership, roles: Iterable[BusinessRole]) -> Membership:
    """Replace a membership's business roles with ``roles``, within what the actor may grant."""
    wanted = list(roles)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("account").get(pk=membership.pk)
        _require_manager(actor, membership.account)
        current = list(membership.roles.all())
        wanted_ids, current_ids = {r.pk for r in wanted}, {r.pk for r in current}
        changed = [r for r in wanted if r.pk not in current_ids] + [r for r in current if r.pk not in wanted_ids]
        if not changed:
            return membership
        allowed = grantable_roles(actor, membership.account, changed)
        refused = [r.name for r in changed if r.pk not in allowed]
        if refused:
            raise PermissionDenied(f"You may not grant or take away: {', '.join(sorted(refused))}.")
        flags = _role_flags({r.key for r in wanted})
        _guard_last_admin(membership, losing_admin=membership.is_org_admin and not flags["is_org_admin"])
        membership.roles.set(wanted)
        for name, value in flags.items():
            setattr(membership, name, value)
        membership.save(update_fields=[*flags, "updated_at"])
        audit_record(
            actor=actor,
            action="iam.membership.roles_changed",
            account=membership.account,
            target=membership,
            data={
                "added": sorted(r.key for r in wanted if r.pk not in current_ids),
                "removed": sorted(r.key for r in current if r.pk not in wanted_ids),
            },
        )
    return membership


def _set_status(
    *, actor: User | None, membership: Membership, status: str, suspended_by: str = "", action: str, why: str = ""
) -> Membership:
    membership.status = status
    membership.suspended_by = suspended_by
    membership.status_changed_at = timezone.now()
    membership.save(update_fields=["status", "suspended_by", "status_changed_at", "updated_at"])
    data = {"user": membership.user.email}
    if why:
        data["reason"] = why
    audit_record(actor=actor, action=action, account=membership.account, target=membership, data=data)
    return membership


def _locked(membership: Membership) -> Membership:
    return Membership.objects.select_for_update().select_related("account", "user").get(pk=membership.pk)


def membership_suspend(*, actor: User, membership: Membership) -> Membership:
    """An admin suspends a member: no access until reactivated by an admin."""
    with transaction.atomic():
        membership = _locked(membership)
        _require_manager(actor, membership.account)
        if membership.user_id == actor.pk:
            raise BusinessRuleViolation("You cannot suspend yourself.")
        if membership.status == Membership.Status.SUSPENDED and membership.suspended_by == "admin":
            return membership
        if membership.status not in (Membership.Status.ACTIVE, Membership.Status.SUSPENDED):
            raise BusinessRuleViolation(f"A {membership.get_status_display().lower()} membership cannot be suspended.")
        _guard_last_admin(membership, losing_admin=True)
        _set_status(
            actor=actor,
            membership=membership,
            status=Membership.Status.SUSPENDED,
            suspended_by=Membership.SuspendedBy.ADMIN,
            action="iam.membership.suspended",
            why="admin",
        )
        tokens_revoke_for_memberships([membership])
        _after_commit_end_sessions([membership.user_id])
    return membership


def membership_reactivate(*, actor: User, membership: Membership) -> Membership:
    with transaction.atomic():
        membership = _locked(membership)
        _require_manager(actor, membership.account)
        if membership.status == Membership.Status.ACTIVE:
            return membership
        if membership.status == Membership.Status.SUSPENDED and membership.suspended_by == "contract":
            raise BusinessRuleViolation("Access returns when the account has an active contract again.")
        if membership.status == Membership.Status.DEACTIVATED and not is_staff_admin_of(actor, membership.account):
            raise PermissionDenied("Only staff can restore a removed user; invite them again instead.")
        _set_status(
            actor=actor, membership=membership, status=Membership.Status.ACTIVE, action="iam.membership.reactivated"
        )
        # Without an active contract the membership cannot be used: say so in its status at once.
        access_sync(account_ids=[membership.account_id], actor=actor)
        membership.refresh_from_db()
    return membership


def membership_remove(*, actor: User, membership: Membership) -> Membership:
    """Take a user out of the organisation. The row stays (deactivated) for the audit trail."""
    with transaction.atomic():
        membership = _locked(membership)
        _require_manager(actor, membership.account)
        if membership.status == Membership.Status.DEACTIVATED:
            return membership
        if membership.user_id == actor.pk:
            raise BusinessRuleViolation("You cannot remove yourself.")
        _guard_last_admin(membership, losing_admin=True)
        _set_status(
            actor=actor, membership=membership, status=Membership.Status.DEACTIVATED, action="iam.membership.removed"
        )
        tokens_revoke_for_memberships([membership])
        _after_commit_end_sessions([membership.user_id])
        if membership.contact_id and not is_crm_user(actor):
            # Their own organisation's admin took them out: a departure, as a CRM fact.
            contacts_mark_left(actor=actor, contact_ids=[membership.contact_id], reason=LeftReason.ORG_ADMIN)
    return membership


# --- Access follows the contract ---------------------------------------------------------------


def _accounts_with_active_contract() -> Exists:
    return Exists(Contract.objects.filter(account=OuterRef("account"), status=Contract.Status.ACTIVE))


def access_sync(*, account_ids: Iterable[int] | None = None, actor: User | None = None) -> dict[str, int]:
    """Make memberships follow their accounts' contracts, set-based and idempotent.

    Active memberships of accounts without an active contract are suspended (lead-only ones
    keep lead access); memberships that a contract end suspended come back when the account
    has an active contract again. Those an admin suspended stay suspended.
    ``account_ids=None`` checks every account (the periodic job).
    """
    with transaction.atomic():
        base: QuerySet[Membership] = Membership.objects.all()
        if account_ids is not None:
            base = base.filter(account_id__in=list(account_ids))
        base = base.annotate(has_contract=_accounts_with_active_contract())
        now = timezone.now()

        to_suspend = list(
            base.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Membership.Status.ACTIVE, has_contract=False, is_lead_only=False)
            .select_related("account", "user")
        )
        to_restore = list(
            base.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Membership.Status.SUSPENDED, suspended_by=Membership.SuspendedBy.CONTRACT)
            .filter(has_contract=True)
            .select_related("account", "user")
        )
        # The status guards in the UPDATEs make a concurrent run change each row once.
        suspended = Membership.objects.filter(
            pk__in=[m.pk for m in to_suspend], status=Membership.Status.ACTIVE
        ).update(
            status=Membership.Status.SUSPENDED,
            suspended_by=Membership.SuspendedBy.CONTRACT,
            status_changed_at=now,
            updated_at=now,
        )
        restored = Membership.objects.filter(
            pk__in=[m.pk for m in to_restore],
            status=Membership.Status.SUSPENDED,
            suspended_by=Membership.SuspendedBy.CONTRACT,
        ).update(status=Membership.Status.ACTIVE, suspended_by="", status_changed_at=now, updated_at=now)
        if suspended:
            audit_record_many(
                actor=actor,
                action="iam.membership.suspended",
                items=[(m.account, m) for m in to_suspend],
                data={"reason": "contract"},
            )
            tokens_revoke_for_memberships(to_suspend)
            _after_commit_end_sessions(m.user_id for m in to_suspend)
        if restored:
            audit_record_many(
                actor=actor,
                action="iam.membership.reactivated",
                items=[(m.account, m) for m in to_restore],
                data={"reason": "contract"},
            )
    return {"suspended": suspended, "restored": restored}


# --- Staff add portal users ----------------------------------------------------------------------


def portal_user_add(*, actor: User, account: Account, contact: Contact, roles: Iterable[BusinessRole]) -> Membership:
    """Give an existing contact of the account portal access: find or create their user, then link.

    A new user gets an unusable password; they choose one through password reset or an invitation.
    """
    roles = list(roles)
    if not is_staff_admin_of(actor, account):
        raise PermissionDenied("Only staff who manage this account can add its portal users.")
    if contact.account_id != account.pk:
        raise ValidationError({"contact": "That contact belongs to another account."})
    email = User.objects.normalize_email((contact.email or "").strip()).lower()
    if not email:
        raise ValidationError({"contact": "This contact has no email address. Add one to the contact first."})
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is not None and user.is_staff:
            raise ValidationError(
                {"contact": "That email address belongs to a staff user; staff do not get portal access."}
            )
        existing = Membership.objects.filter(user=user, account=account).first() if user is not None else None
        if existing is not None:
            if existing.status == Membership.Status.DEACTIVATED:
                raise BusinessRuleViolation(f"{email} was removed from this account. Reactivate them instead.")
            raise BusinessRuleViolation(f"{email} is already a portal user of this account.")
        if user is None:
            user = User.objects.create_user(
                email=email, password=None, first_name=contact.first_name, last_name=contact.last_name
            )
            audit_record(
                actor=actor,
                action="iam.user.created",
                account=account,
                target=user,
                data={"user": email, "contact": contact.pk},
            )
        return membership_grant(actor=actor, user=user, account=account, roles=roles, contact=contact)


# --- Users and business roles, as operations keep them (the admin) ---------------------------------

USER_NAME_FIELDS = ("first_name", "last_name")
# What decides whether and how a user gets in: changed only here, audited, never on oneself.
USER_ACCESS_FIELDS = ("is_active", "is_staff", "staff_role", "is_superuser")


def _require_operations(actor: User) -> None:
    if not is_operations(actor):
        raise PermissionDenied("Only operations may manage users and business roles.")


def _require_may_change_access_of(actor: User, user: User) -> None:
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser may change a superuser.")


def _user_sessions_end(user_ids: Iterable[int]) -> None:
    for session in UserSession.objects.filter(user_id__in=list(user_ids)):
        session.end()


def user_create(*, actor: User, email: str, password: str | None, first_name: str = "", last_name: str = "") -> User:
    """Create a login. It starts as an external user with no access: staff rights are granted with
    ``user_update`` (audited as an access change), portal access with a membership.

    ``password=None`` leaves it unusable: the person chooses one through password reset.
    """
    _require_operations(actor)
    email = User.objects.normalize_email((email or "").strip()).lower()
    if not email:
        raise ValidationError({"email": "Enter an email address."})
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": "A user with this email address exists already."})
        user = User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)
        audit_record(
            actor=actor, action="iam.user.created", target=user, data={"user": email, "password": password is not None}
        )
    return user


def user_update(*, actor: User, user: User, changes: dict) -> User:
    """Change a user's name or their access: active, staff, staff role, superuser.

    Operations only, and never their own access; superuser rights, and anything about a
    superuser, only by a superuser. A deactivated user's sessions and tokens end at once.
    """
    unknown = set(changes) - {*USER_NAME_FIELDS, *USER_ACCESS_FIELDS}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This cannot be changed here."))
    _require_operations(actor)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = {name: getattr(user, name) for name in changes}
        changed = sorted(name for name, value in changes.items() if before[name] != value)
        if not changed:
            return user
        access = [name for name in changed if name in USER_ACCESS_FIELDS]
        if access:
            if user.pk == actor.pk:
                raise BusinessRuleViolation("You cannot change your own access. Ask another operator.")
            _require_may_change_access_of(actor, user)
            if "is_superuser" in access and not actor.is_superuser:
                raise PermissionDenied("Only a superuser may grant or take away superuser rights.")
        for name in changed:
            setattr(user, name, changes[name])
        if user.staff_role and not user.is_staff:
            raise ValidationError({"staff_role": "Only staff users have a staff role. Clear it for an external user."})
        if user.is_staff and "is_staff" in changed and user.memberships.exists():
            raise ValidationError(
                {"is_staff": "This user has portal memberships; staff have none. Take them out of their organisations."}
            )
        user.save(update_fields=changed)
        for action, fields in (("iam.user.access_changed", access), ("iam.user.updated", USER_NAME_FIELDS)):
            names = [name for name in changed if name in fields]
            if names:
                audit_record(
                    actor=actor,
                    action=action,
                    target=user,
                    data={
                        "user": user.email,
                        "before": {name: before[name] for name in names},
                        "after": {name: getattr(user, name) for name in names},
                    },
                )
        if "is_active" in changed and not user.is_active:
            tokens_revoke_for_user(user)
            contacts_mark_left(
                actor=actor,
                contact_ids=Membership.objects.filter(user=user, contact__isnull=False).values_list(
                    "contact_id", flat=True
                ),
                reason=LeftReason.IDENTITY_DEACTIVATED,
            )
            transaction.on_commit(lambda: _user_sessions_end([user.pk]))
    return user


def user_password_set(*, actor: User, user: User, password: str | None) -> User:
    """Set a user's password (``None``: none usable, so only password reset lets them in again).

    The user's other sessions end by themselves: Django checks the password hash on each request.
    """
    _require_operations(actor)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        _require_may_change_access_of(actor, user)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            actor=actor,
            action="iam.user.password_set",
            target=user,
            data={"user": user.email, "usable": password is not None},
        )
    return user


def _application_role_labels(pks: set[int]) -> dict[int, str]:
    rows = ApplicationRole.objects.filter(pk__in=pks).values_list("pk", "application__key", "key")
    return {pk: f"{application}:{key}" for pk, application, key in rows}


def user_mfa_reset(*, actor: User, user: User) -> User:
    """Remove a user's second factors (authenticator apps, passkeys, recovery codes): a lost device.

    They sign in with their password next and, where their account requires MFA, set up a new
    factor before anything else. A superuser's only by a superuser.
    """
    _require_operations(actor)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        _require_may_change_access_of(actor, user)
        factors = Authenticator.objects.filter(user=user)
        removed = sorted(set(factors.values_list("type", flat=True)))
        if not removed:
            raise BusinessRuleViolation(f"{user.email} has no second factor to reset.")
        factors.delete()
        audit_record(
            actor=actor, action="iam.user.mfa_reset", target=user, data={"user": user.email, "removed": removed}
        )
    return user


BUSINESS_ROLE_FIELDS = ("key", "name", "description", "delegable", "sort_order")


def business_role_save(
    *, actor: User, role: BusinessRole, application_roles: Iterable[ApplicationRole] | None = None
) -> BusinessRole:
    """Create or change a business role and, when given, what it means per application.

    Both decide what its holders may do (who org admins may delegate it to; the application
    roles tokens carry), so each change is audited with what it was and what it is.
    """
    _require_operations(actor)
    with transaction.atomic():
        created = role.pk is None
        before = {} if created else BusinessRole.objects.filter(pk=role.pk).values(*BUSINESS_ROLE_FIELDS).first()
        mapped_before = (
            set()
            if created
            else set(ApplicationRole.objects.filter(business_roles=role.pk).values_list("pk", flat=True))
        )
        if not created and before["key"] != role.key:
            raise ValidationError({"key": "A role's key is what code and tokens refer to; it cannot change."})
        role.full_clean(exclude=["application_roles"])
        role.save()
        if application_roles is not None:
            application_roles = list(application_roles)
            role.application_roles.set(application_roles)
        mapped = {r.pk for r in application_roles} if application_roles is not None else mapped_before
        changed = sorted(name for name in BUSINESS_ROLE_FIELDS if before.get(name) != getattr(role, name))
        labels = _application_role_labels(mapped ^ mapped_before)
        added = sorted(labels[pk] for pk in mapped - mapped_before)
        removed = sorted(labels[pk] for pk in mapped_before - mapped)
        if created or changed or added or removed:
            audit_record(
                actor=actor,
                action="iam.business_role.created" if created else "iam.business_role.updated",
                target=role,
                data={
                    "key": role.key,
                    "before": {name: before.get(name) for name in changed} if not created else {},
                    "after": {name: getattr(role, name) for name in changed},
                    "application_roles_added": added,
                    "application_roles_removed": removed,
                },
            )
    return role


# --- Self-service profile ------------------------------------------------------------------------

PROFILE_CONTACT_FIELDS = ("first_name", "last_name", "job_title", "phone", "consent_to_contact")


def profile_update(*, actor: User, membership: Membership, data: dict[str, Any]) -> Contact:
    """An external user keeps their own data current: their name, and the contact that is them.

    The contact of ``membership`` (found or created) takes ``data`` and counts as verified by
    self-service now; the user's name follows. Only the membership's own user may do this.
    """
    from crm.services import contact_verify

    if actor.pk != membership.user_id or actor.is_staff:
        raise PermissionDenied("You may only edit your own profile.")
    data = dict(data)
    custom = data.pop("custom_fields", None)  # {key: value} of portal-editable custom fields
    unknown = set(data) - set(PROFILE_CONTACT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown profile fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        membership = Membership.objects.select_for_update(of=("self",)).select_related("account").get(pk=membership.pk)
        contact = membership.contact
        if contact is None:
            contact = contact_for_user(account=membership.account, user=actor, actor=actor)
            membership.contact = contact
            membership.save(update_fields=["contact", "updated_at"])
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        before = history_snapshot(contact)
        changed = sorted(name for name in data if getattr(contact, name) != data[name])
        if "consent_to_contact" in changed:
            contact.consent_updated_at = timezone.now()
        for name, value in data.items():
            setattr(contact, name, value)
        if custom:
            from customfields.values import clean_portal_values

            values = clean_portal_values(custom, existing=contact.custom_fields)
            changed += sorted(f"custom_fields.{k}" for k in custom if values.get(k) != contact.custom_fields.get(k))
            contact.custom_fields = values
        contact.full_clean()
        contact.save()
        history_record(actor=actor, record=contact, before=before)
        user_fields = [name for name in ("first_name", "last_name") if name in data]
        if user_fields:
            user = User.objects.select_for_update().get(pk=actor.pk)
            for name in user_fields:
                setattr(user, name, data[name])
            user.save(update_fields=user_fields)
            for name in user_fields:
                setattr(actor, name, data[name])
        contact = contact_verify(actor=actor, contact=contact, method=Contact.VerificationMethod.SELF_SERVICE)
        audit_record(
            actor=actor,
            action="iam.profile.updated",
            account=membership.account,
            target=contact,
            data={"user": actor.email, "changed": changed},
        )
    return contact
