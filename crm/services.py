"""Every CRM write that touches several models or needs a transaction.

Shared by the browser UI, the admin, the API and background jobs: one write path per use case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.matching import account_match
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity
from history.services import history_record, history_record_many, history_snapshot
from iam.audit import audit_record
from iam.permissions import is_crm_user, is_operations
from invitations.email_domains import email_domain, is_public_mail_domain
from territories.services import account_territory_prepare, lead_route
from webhooks.services import webhook_emit_records

if TYPE_CHECKING:
    from iam.models import User

_Record = TypeVar("_Record", bound=Model)


def _require_staff(actor: User) -> None:
    if not is_crm_user(actor):
        raise PermissionDenied("Only staff users work on CRM records.")


@dataclass(frozen=True)
class LeadConversion:
    lead: Lead
    account: Account
    contact: Contact
    opportunity: Opportunity | None
    account_created: bool
    contact_created: bool


def account_create_for_company(
    *,
    actor: User | None,
    name: str,
    owner: User,
    source: dict[str, Any],
    business_id: str = "",
    country: Any = "",
    website: str = "",
    email: str = "",
) -> tuple[Account, bool]:
    """Create the account of a company the CRM does not know yet; ``(account, created)``.

    Never a second account for a business id: one the CRM has in any spelling, or one a
    concurrent write stored first (the unique constraint), is returned instead (``created``
    False). The domain of ``email`` is added unless it is a public mail provider's or already
    another account's. ``source`` says in the audit event what created it (``{"via": ...}``).
    Callers check the actor's right; ``actor`` None is the system (an accepted invitation).
    """
    business_id = business_id.strip()
    if business_id and (known := account_match(business_id=business_id, country=str(country or ""))) is not None:
        return known.account, False
    try:
        # A savepoint: losing the race on the unique business id leaves the caller's transaction usable.
        with transaction.atomic():
            account = Account(
                name=name.strip(), business_id=business_id or None, country=country or "", website=website, owner=owner
            )
            account_territory_prepare(account, stored_territory=None)
            account.save(force_insert=True)
            history_record(actor=actor, record=account)
    except IntegrityError:
        return Account.objects.get(business_id=business_id), False
    domain = email_domain(email) if "@" in email else ""
    if domain and not is_public_mail_domain(domain) and not AccountDomain.objects.filter(domain=domain).exists():
        AccountDomain.objects.create(account=account, domain=domain)
    audit_record(actor=actor, action="crm.account.created", account=account, target=account, data=source)
    webhook_emit_records("account.created", [account])
    return account, True


def _account_for_lead(
    *, actor: User, lead: Lead, account: Account | None, create_account: bool
) -> tuple[Account, bool]:
    if account is not None:
        return account, False
    if not create_account:
        match = account_match(
            business_id=lead.company_business_id,
            email=lead.email,
            company_name=lead.company_name,
            country=str(lead.company_country or ""),
        )
        if match is not None and match.conclusive:
            return match.account, False
    if not (lead.company_name or "").strip():
        raise ValidationError({"account": "Choose an existing account: this lead has no company name."})
    return account_create_for_company(
        actor=actor,
        name=lead.company_name,
        owner=lead.owner if lead.owner.is_active else actor,
        source={"via": "lead_conversion", "lead": lead.pk},
        business_id=lead.company_business_id,
        country=lead.company_country,
        website=lead.company_website,
        email=lead.email,
    )


def lead_convert(
    *,
    actor: User,
    lead: Lead,
    account: Account | None = None,
    create_account: bool = False,
    opportunity_name: str = "",
    opportunity_amount: Decimal | None = None,
    opportunity_close_date: dt.date | None = None,
) -> LeadConversion:
    """Turn a lead into account + contact (+ opportunity) in one transaction.

    Links to ``account`` when one is given; else, unless ``create_account`` says the person
    chose a new one, to the account :func:`crm.matching.account_match` recognises by the lead's
    business id or email domain; else creates the company's account (never a second one for a
    business id). The contact is matched by email within that account. What the lead knew is
    copied; its timeline follows it to the new records.
    """
    _require_staff(actor)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == Lead.Status.CONVERTED:
            raise BusinessRuleViolation("This lead has already been converted.")
        if lead.status == Lead.Status.DISQUALIFIED:
            raise BusinessRuleViolation("A disqualified lead cannot be converted; requalify it first.")

        account, account_created = _account_for_lead(
            actor=actor, lead=lead, account=account, create_account=create_account
        )

        contact = None
        if lead.email:
            contact = account.contacts.filter(email__iexact=lead.email).first()
        contact_created = contact is None
        if contact is None:
            contact = Contact.objects.create(
                account=account,
                first_name=lead.first_name,
                last_name=lead.last_name,
                email=lead.email,
                phone=lead.phone,
                job_title=lead.job_title,
                owner=lead.owner if lead.owner.is_active else actor,
                last_verified_at=timezone.now(),
                verified_by=actor,
                verification_method=Contact.VerificationMethod.REP,
            )
            history_record(actor=actor, record=contact)

        opportunity = None
        if opportunity_name.strip():
            opportunity = Opportunity.objects.create(
                account=account,
                name=opportunity_name.strip(),
                amount=opportunity_amount or Decimal("0"),
                expected_close_date=opportunity_close_date or (timezone.localdate() + dt.timedelta(days=90)),
                stage=Opportunity.Stage.QUALIFICATION,
                probability=Opportunity.DEFAULT_PROBABILITY[Opportunity.Stage.QUALIFICATION],
                owner=contact.owner,
            )
            history_record(actor=actor, record=opportunity)

        # The lead's history now belongs on the account's and contact's timelines too.
        moved = list(Activity.objects.filter(lead=lead).select_for_update())
        Activity.objects.filter(lead=lead).update(account=account, contact=contact)
        history_record_many(actor=actor, items=_moved(moved, account=account, contact=contact))

        before = history_snapshot(lead)
        lead.status = Lead.Status.CONVERTED
        lead.converted_at = timezone.now()
        lead.converted_account = account
        lead.converted_contact = contact
        lead.converted_opportunity = opportunity
        lead.save(
            update_fields=[
                "status",
                "converted_at",
                "converted_account",
                "converted_contact",
                "converted_opportunity",
                "updated_at",
            ]
        )
        history_record(actor=actor, record=lead, before=before)
        note = Activity.objects.create(
            kind=Activity.Kind.NOTE,
            subject=f"Converted from lead {lead.full_name}",
            # A note records what happened: it is done the moment it is written, never an open task.
            done=True,
            done_at=timezone.now(),
            author=actor,
            owner=contact.owner,
            account=account,
            contact=contact,
            lead=lead,
            opportunity=opportunity,
        )
        audit_record(
            actor=actor,
            action="crm.lead.converted",
            account=account,
            target=lead,
            data={
                "account": account.pk,
                "account_created": account_created,
                "contact": contact.pk,
                "opportunity": opportunity.pk if opportunity else None,
            },
        )
        history_record(actor=actor, record=note)
        if contact_created:
            webhook_emit_records("contact.created", [contact])
        webhook_emit_records("lead.converted", [lead])
    return LeadConversion(
        lead=lead,
        account=account,
        contact=contact,
        opportunity=opportunity,
        account_created=account_created,
        contact_created=contact_created,
    )


def _moved(activities: list[Activity], *, account: Account, contact: Contact | None):
    """(activity as it is now, snapshot as it was) for activities a set-based update moved."""
    for activity in activities:
        before = history_snapshot(activity)
        activity.account, activity.contact = account, contact
        yield activity, before


def activity_log(
    *,
    actor: User,
    kind: str,
    subject: str,
    body: str = "",
    account: Account | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
    due_at: dt.datetime | None = None,
    done: bool | None = None,
    owner: User | None = None,
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Log a call/email/meeting/note or plan a task on a record's timeline.

    ``occurred_at`` defaults to now; an integration syncing past calls passes when they happened.
    """
    _require_staff(actor)
    if not subject.strip():
        raise ValidationError({"subject": "Say in a few words what this was about."})
    # Activities on a contact or opportunity also show on its account's timeline.
    if account is None and contact is not None:
        account = contact.account
    if account is None and opportunity is not None:
        account = opportunity.account
    if account is None and contact is None and lead is None and opportunity is None:
        raise ValidationError("An activity belongs to an account, contact, lead or opportunity.")
    if done is None or kind == Activity.Kind.NOTE:
        # Notes record what happened: they are never open, never tasks.
        done = kind != Activity.Kind.TASK
    now = timezone.now()
    activity = Activity(
        kind=kind,
        subject=subject.strip(),
        body=body,
        account=account,
        contact=contact,
        lead=lead,
        opportunity=opportunity,
        due_at=due_at,
        done=done,
        done_at=now if done else None,
        author=actor,
        owner=owner or actor,
        occurred_at=occurred_at or now,
    )
    activity.full_clean()
    with transaction.atomic():
        activity.save()
        history_record(actor=actor, record=activity)
    return activity


def activity_set_done(*, actor: User, activity: Activity, done: bool = True) -> Activity:
    _require_staff(actor)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        if activity.kind == Activity.Kind.NOTE and not done:
            raise ValidationError({"done": "A note is never open: plan a task to follow up instead."})
        if activity.done != done:
            before = history_snapshot(activity)
            activity.done = done
            activity.done_at = timezone.now() if done else None
            activity.save(update_fields=["done", "done_at", "updated_at"])
            history_record(actor=actor, record=activity, before=before)
    return activity


def activity_update(*, actor: User, activity: Activity, changes: dict[str, Any]) -> Activity:
    """Change what may change on a logged activity: subject, body, due date, owner, done."""
    allowed = {"subject", "body", "due_at", "owner", "done"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This cannot be changed on a logged activity."))
    _require_staff(actor)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        before = history_snapshot(activity)
        done = changes.pop("done", None)
        for name, value in changes.items():
            setattr(activity, name, value)
        if "subject" in changes:
            activity.subject = (activity.subject or "").strip()
        if done is not None and done != activity.done:
            activity.done = done
            activity.done_at = timezone.now() if done else None
        activity.full_clean()
        activity.save()
        history_record(actor=actor, record=activity, before=before)
    return activity


def contact_verify(*, actor: User, contact: Contact, method: str = Contact.VerificationMethod.REP) -> Contact:
    """Record that a contact's data was confirmed as current, by whom and how: fresh from now."""

    if method == Contact.VerificationMethod.REP:
        _require_staff(actor)
    now = timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update(of=("self",)).select_related("account").get(pk=contact.pk)
        before = history_snapshot(contact)
        contact.last_verified_at, contact.verified_by, contact.verification_method = now, actor, method
        contact.save(update_fields=["last_verified_at", "verified_by", "verification_method", "updated_at"])
        history_record(actor=actor, record=contact, before=before)
        if method == Contact.VerificationMethod.REP:
            # Self-service edits are audited by the profile service that calls this.
            audit_record(actor=actor, action="crm.contact.verified", account=contact.account, target=contact)
    return contact


# --- Saving records from the UI (and, later, the API) ----------------------------------------


def _stored(record):
    """The row as stored, locked until the transaction ends (None for a new record)."""
    if record.pk is None:
        return None
    return type(record)._base_manager.select_for_update().filter(pk=record.pk).first()


def _save_record(record, *, actor: User, stored=None, also: dict | None = None):
    """Validate, save and write the record's history (old → new of each changed field).

    ``stored`` is the row as the service already read it (locked) before changing ``record``;
    without it, it is read here. ``also`` adds changes that are not the model's own fields.
    """
    if stored is None:
        stored = _stored(record)
    before = history_snapshot(stored) if stored is not None else None
    # Model-level validation (fields, constraints, uniqueness) guards every write path,
    # not only the ones that went through a form.
    record.full_clean()
    record.save()
    history_record(actor=actor, record=record, before=before, also=also)
    return record


def account_save(*, actor: User, account: Account, domains: list[str] | None = None) -> Account:
    """Create or update an account and, when given, replace its email domains with ``domains``."""
    _require_staff(actor)
    with transaction.atomic():
        created = account.pk is None
        stored = _stored(account)
        was_required = stored.require_mfa if stored is not None else False
        domain_change = None
        if domains is not None:
            wanted = {d.strip().lower().lstrip("@") for d in domains if d.strip()}
            existing = set(account.email_domains.values_list("domain", flat=True)) if not created else set()
            if wanted != existing:
                old = None if created else sorted(existing)
                domain_change = {"email_domains": {"old": old, "new": sorted(wanted)}}
        account_territory_prepare(account, stored_territory=stored.territory if stored is not None else None)
        _save_record(account, actor=actor, stored=stored, also=domain_change)
        if bool(was_required) != account.require_mfa:
            # Requiring MFA is an access-policy change: it belongs in the audit trail.
            audit_record(
                actor=actor,
                action="iam.account.mfa_requirement_changed",
                account=account,
                target=account,
                data={"require_mfa": account.require_mfa},
            )
        if domain_change is not None:
            account.email_domains.exclude(domain__in=wanted).delete()
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=account, domain=d) for d in sorted(wanted - existing)]
            )
            if wanted != existing:
                # A registrant at one of these domains may join the account without a person
                # deciding (registrations): the domains are an access rule, audited as one.
                audit_record(
                    actor=actor,
                    action="iam.account.domains_changed",
                    account=account,
                    target=account,
                    data={"added": sorted(wanted - existing), "removed": sorted(existing - wanted)},
                )
        webhook_emit_records("account.created" if created else "account.updated", [account])
    return account


def contact_save(*, actor: User, contact: Contact) -> Contact:
    """Create or update a contact; a change of consent records when it changed."""
    _require_staff(actor)
    with transaction.atomic():
        stored = _stored(contact)
        had_consent = bool(stored.consent_to_contact) if stored is not None else False
        if had_consent != contact.consent_to_contact:
            contact.consent_updated_at = timezone.now()
        created = contact.pk is None
        if (
            contact.email_bounced_at
            and stored is not None
            and (stored.email or "").lower() != (contact.email or "").lower()
        ):
            contact.email_bounced_at = None  # a new address: worth writing to again
        _save_record(contact, actor=actor, stored=stored)
        webhook_emit_records("contact.created" if created else "contact.updated", [contact])
    return contact


def lead_save(*, actor: User, lead: Lead, route: bool = False) -> Lead:
    """Create or update a lead. Conversion only happens through ``lead_convert``.

    ``route``: a new lead whose owner nobody chose goes to the owner the assignment rules pick
    (territories); with no rule assigning it, it keeps the owner it came with.
    """
    _require_staff(actor)
    with transaction.atomic():
        stored = _stored(lead)
        if stored is not None and stored.status == Lead.Status.CONVERTED and lead.status != Lead.Status.CONVERTED:
            raise BusinessRuleViolation("A converted lead stays converted; work on its account instead.")
        if lead.status == Lead.Status.CONVERTED and not lead.converted_at:
            raise ValidationError({"status": "Convert the lead with the Convert button."})
        created = lead.pk is None
        _save_record(lead, actor=actor, stored=stored)
        if created and route:
            lead_route(lead=lead, actor=actor)
        if created:
            webhook_emit_records("lead.created", [lead])
    return lead


def opportunity_save(*, actor: User, opportunity: Opportunity) -> Opportunity:
    """Create or update a deal; a change of stage is audited and has its own webhook event."""
    _require_staff(actor)
    with transaction.atomic():
        stored = _stored(opportunity)
        _save_record(opportunity, actor=actor, stored=stored)
        webhook_emit_records("opportunity.created" if stored is None else "opportunity.updated", [opportunity])
        if stored is not None and stored.stage != opportunity.stage:
            audit_record(
                actor=actor,
                action="crm.opportunity.stage_changed",
                account=opportunity.account,
                target=opportunity,
                data={"from": stored.stage, "to": opportunity.stage},
            )
            webhook_emit_records("opportunity.stage_changed", [opportunity])
    return opportunity


def opportunity_set_stage(*, actor: User, opportunity: Opportunity, stage: str) -> Opportunity:
    """Move a deal to ``stage`` (the board's drag): its probability becomes the stage's default."""
    if stage not in Opportunity.Stage.values:
        raise ValidationError({"stage": f"“{stage}” is not a stage."})
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().select_related("account").get(pk=opportunity.pk)
        if opportunity.stage == stage:
            return opportunity
        opportunity.stage = stage
        opportunity.probability = Opportunity.DEFAULT_PROBABILITY[stage]
        return opportunity_save(actor=actor, opportunity=opportunity)


def contract_save(*, actor: User, contract: Contract) -> Contract:
    """Save a contract; portal access of the account(s) it touches follows at once."""
    from iam.services import access_sync

    _require_staff(actor)
    with transaction.atomic():
        before = _stored(contract)
        _save_record(contract, actor=actor, stored=before)
        if before is None or before.status != contract.status:
            audit_record(
                actor=actor,
                action="crm.contract.status_changed",
                account=contract.account,
                target=contract,
                data={"from": before.status if before else None, "to": contract.status},
            )
        access_sync(
            account_ids={contract.account_id, before.account_id if before else contract.account_id}, actor=actor
        )
        was_active = before is not None and before.status == Contract.Status.ACTIVE
        if contract.status == Contract.Status.ACTIVE and not was_active:
            webhook_emit_records("contract.activated", [contract])
        elif was_active and contract.status in (Contract.Status.EXPIRED, Contract.Status.TERMINATED):
            webhook_emit_records("contract.ended", [contract])
    return contract


# --- Deleting records (only where nothing else depends on them) ----------------------------------


def _record_deleted(*, actor: User, record, activities) -> None:
    """History of a deletion: the record's last values, and those of the activities it takes along."""
    history_record(actor=actor, record=record, deleted=True)
    history_record_many(actor=actor, items=((a, None) for a in activities.select_for_update()), deleted=True)


def contact_delete(*, actor: User, contact: Contact) -> None:
    """Delete a contact that is nobody's portal identity (a membership keeps its contact)."""
    _require_staff(actor)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.memberships.exists():
            raise BusinessRuleViolation("This contact is a portal user; remove their portal access first.")
        _record_deleted(actor=actor, record=contact, activities=Activity.objects.filter(contact=contact))
        contact.delete()


def lead_delete(*, actor: User, lead: Lead) -> None:
    """Delete a lead that was not converted (a converted lead is the history of its account)."""
    _require_staff(actor)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == Lead.Status.CONVERTED:
            raise BusinessRuleViolation("A converted lead stays as the history of its account.")
        _record_deleted(actor=actor, record=lead, activities=Activity.objects.filter(lead=lead))
        lead.delete()


def opportunity_delete(*, actor: User, opportunity: Opportunity) -> None:
    _require_staff(actor)
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().filter(pk=opportunity.pk).first()
        if opportunity is None:
            return
        _record_deleted(actor=actor, record=opportunity, activities=Activity.objects.filter(opportunity=opportunity))
        opportunity.delete()


def activity_delete(*, actor: User, activity: Activity) -> None:
    _require_staff(actor)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().filter(pk=activity.pk).first()
        if activity is None:
            return
        history_record(actor=actor, record=activity, deleted=True)
        activity.delete()


def contract_delete(*, actor: User, contract: Contract) -> None:
    """Delete a contract entered by mistake. An active one ends by terminating it (``contract_save``),
    which suspends its account's portal access and tells integrators; a delete would do neither."""
    _require_staff(actor)
    with transaction.atomic():
        contract = Contract.objects.select_for_update().select_related("account").get(pk=contract.pk)
        if contract.status == Contract.Status.ACTIVE:
            raise BusinessRuleViolation("An active contract cannot be deleted. Terminate it first.")
        audit_record(
            actor=actor,
            action="crm.contract.deleted",
            account=contract.account,
            target=contract,
            data={"number": contract.number, "status": contract.status},
        )
        _record_deleted(actor=actor, record=contract, activities=Activity.objects.none())
        contract.delete()


def account_delete(*, actor: User, account: Account) -> None:
    """Delete an account created by mistake (a duplicate, test data), with its CRM records.

    Operations only. Not an account with portal users (their memberships are the audit trail of
    who had access; remove their access first) nor one with an active contract (terminate it).
    """
    if not is_operations(actor):
        raise PermissionDenied("Only operations may delete accounts.")
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        if account.memberships.exists():
            raise BusinessRuleViolation("This account has portal users; it stays as the record of their access.")
        if account.contracts.filter(status=Contract.Status.ACTIVE).exists():
            raise BusinessRuleViolation("This account has an active contract. Terminate it first.")
        audit_record(
            actor=actor,
            action="crm.account.deleted",
            account=account,
            target=account,
            data={
                "name": account.name,
                "business_id": account.business_id,
                "contacts": account.contacts.count(),
                "contracts": account.contracts.count(),
            },
        )
        _record_deleted(actor=actor, record=account, activities=Activity.objects.filter(account=account))
        account.delete()
