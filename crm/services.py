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
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity
from iam.permissions import is_crm_user
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


def _email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower() if "@" in email else ""


def _account_for_lead(*, actor: User, lead: Lead, account: Account | None) -> tuple[Account, bool]:
    if account is not None:
        return account, False
    business_id = lead.company_business_id.strip()
    if business_id:
        existing = Account.objects.filter(business_id=business_id).first()
        if existing:
            return existing, False
    if not (lead.company_name or "").strip():
        raise ValidationError({"account": "Choose an existing account: this lead has no company name."})
    try:
        # A savepoint, so a concurrent conversion of the same company that wins the race
        # on the unique business id leaves us linking to its account instead of failing.
        with transaction.atomic():
            created = Account.objects.create(
                name=lead.company_name.strip(),
                business_id=business_id or None,
                country=lead.company_country,
                website=lead.company_website,
                owner=lead.owner if lead.owner.is_active else actor,
            )
    except IntegrityError:
        return Account.objects.get(business_id=business_id), False
    domain = _email_domain(lead.email)
    if domain:
        AccountDomain.objects.get_or_create(account=created, domain=domain)
    return created, True


def lead_convert(
    *,
    actor: User,
    lead: Lead,
    account: Account | None = None,
    opportunity_name: str = "",
    opportunity_amount: Decimal | None = None,
    opportunity_close_date: dt.date | None = None,
) -> LeadConversion:
    """Turn a lead into account + contact (+ opportunity) in one transaction.

    Links to an existing account when one is given or when the lead's business id is already
    known, so a company is never created twice. The contact is matched by email within that
    account. What the lead knew is copied; its timeline follows it to the new records.
    """
    _require_staff(actor)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == Lead.Status.CONVERTED:
            raise BusinessRuleViolation("This lead has already been converted.")
        if lead.status == Lead.Status.DISQUALIFIED:
            raise BusinessRuleViolation("A disqualified lead cannot be converted; requalify it first.")

        account, account_created = _account_for_lead(actor=actor, lead=lead, account=account)

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

        # The lead's history now belongs on the account's and contact's timelines too.
        Activity.objects.filter(lead=lead).update(account=account, contact=contact)

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
        Activity.objects.create(
            kind=Activity.Kind.NOTE,
            subject=f"Converted from lead {lead.full_name}",
            author=actor,
            owner=contact.owner,
            account=account,
            contact=contact,
            lead=lead,
            opportunity=opportunity,
        )
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
    if done is None:
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
    activity.save()
    return activity


def activity_set_done(*, actor: User, activity: Activity, done: bool = True) -> Activity:
    _require_staff(actor)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        if activity.done != done:
            activity.done = done
            activity.done_at = timezone.now() if done else None
            activity.save(update_fields=["done", "done_at", "updated_at"])
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
    return activity


def contact_verify(*, actor: User, contact: Contact, method: str = Contact.VerificationMethod.REP) -> Contact:
    """Record that a contact's data was confirmed as current, by whom and how: fresh from now."""
    from crm.decay import freshness_state
    from iam.audit import audit_record

    if method == Contact.VerificationMethod.REP:
        _require_staff(actor)
    now = timezone.now()
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(
            last_verified_at=now,
            verified_by=actor,
            verification_method=method,
            freshness=freshness_state(now, now=now),
            updated_at=now,
        )
        contact.refresh_from_db()
        if method == Contact.VerificationMethod.REP:
            # Self-service edits are audited by the profile service that calls this.
            audit_record(actor=actor, action="crm.contact.verified", account=contact.account, target=contact)
    return contact


# --- Saving records from the UI (and, later, the API) ----------------------------------------


def _save_record(record: _Record) -> _Record:
    # Model-level validation (fields, constraints, uniqueness) guards every write path,
    # not only the ones that went through a form.
    record.full_clean()
    record.save()
    return record


def account_save(*, actor: User, account: Account, domains: list[str] | None = None) -> Account:
    """Create or update an account and, when given, replace its email domains with ``domains``."""
    from iam.audit import audit_record

    _require_staff(actor)
    with transaction.atomic():
        created = account.pk is None
        was_required = (
            Account.objects.filter(pk=account.pk).values_list("require_mfa", flat=True).first() if account.pk else False
        )
        _save_record(account)
        if bool(was_required) != account.require_mfa:
            # Requiring MFA is an access-policy change: it belongs in the audit trail.
            audit_record(
                actor=actor,
                action="iam.account.mfa_requirement_changed",
                account=account,
                target=account,
                data={"require_mfa": account.require_mfa},
            )
        if domains is not None:
            wanted = {d.strip().lower().lstrip("@") for d in domains if d.strip()}
            account.email_domains.exclude(domain__in=wanted).delete()
            existing = set(account.email_domains.values_list("domain", flat=True))
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=account, domain=d) for d in sorted(wanted - existing)]
            )
        webhook_emit_records("account.created" if created else "account.updated", [account])
    return account


def contact_save(*, actor: User, contact: Contact) -> Contact:
    """Create or update a contact; a change of consent records when it changed."""
    _require_staff(actor)
    with transaction.atomic():
        had_consent = False
        if contact.pk:
            had_consent = bool(
                Contact.objects.filter(pk=contact.pk).values_list("consent_to_contact", flat=True).first()
            )
        if had_consent != contact.consent_to_contact:
            contact.consent_updated_at = timezone.now()
        created = contact.pk is None
        if contact.email_bounced_at and contact.pk:
            stored_email = Contact.objects.filter(pk=contact.pk).values_list("email", flat=True).first()
            if (stored_email or "").lower() != (contact.email or "").lower():
                contact.email_bounced_at = None  # a new address: worth writing to again
        _save_record(contact)
        webhook_emit_records("contact.created" if created else "contact.updated", [contact])
    return contact


def lead_save(*, actor: User, lead: Lead) -> Lead:
    """Create or update a lead. Conversion only happens through ``lead_convert``."""
    _require_staff(actor)
    with transaction.atomic():
        if lead.pk:
            stored = Lead.objects.select_for_update().get(pk=lead.pk)
            if stored.status == Lead.Status.CONVERTED and lead.status != Lead.Status.CONVERTED:
                raise BusinessRuleViolation("A converted lead stays converted; work on its account instead.")
        if lead.status == Lead.Status.CONVERTED and not lead.converted_at:
            raise ValidationError({"status": "Convert the lead with the Convert button."})
        created = lead.pk is None
        _save_record(lead)
        if created:
            webhook_emit_records("lead.created", [lead])
    return lead


def opportunity_save(*, actor: User, opportunity: Opportunity) -> Opportunity:
    _require_staff(actor)
    with transaction.atomic():
        _save_record(opportunity)
    return opportunity


def contract_save(*, actor: User, contract: Contract) -> Contract:
    """Save a contract; portal access of the account(s) it touches follows at once."""
    from iam.audit import audit_record
    from iam.services import access_sync

    _require_staff(actor)
    with transaction.atomic():
        before = Contract.objects.filter(pk=contract.pk).values("account_id", "status").first() if contract.pk else None
        _save_record(contract)
        if before is None or before["status"] != contract.status:
            audit_record(
                actor=actor,
                action="crm.contract.status_changed",
                account=contract.account,
                target=contract,
                data={"from": before["status"] if before else None, "to": contract.status},
            )
        access_sync(
            account_ids={contract.account_id, before["account_id"] if before else contract.account_id}, actor=actor
        )
        was_active = before is not None and before["status"] == Contract.Status.ACTIVE
        if contract.status == Contract.Status.ACTIVE and not was_active:
            webhook_emit_records("contract.activated", [contract])
        elif was_active and contract.status in (Contract.Status.EXPIRED, Contract.Status.TERMINATED):
            webhook_emit_records("contract.ended", [contract])
    return contract


# --- Deleting records (only where nothing else depends on them) ----------------------------------


def contact_delete(*, actor: User, contact: Contact) -> None:
    """Delete a contact that is nobody's portal identity (a membership keeps its contact)."""
    _require_staff(actor)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.memberships.exists():
            raise BusinessRuleViolation("This contact is a portal user; remove their portal access first.")
        contact.delete()


def lead_delete(*, actor: User, lead: Lead) -> None:
    """Delete a lead that was not converted (a converted lead is the history of its account)."""
    _require_staff(actor)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == Lead.Status.CONVERTED:
            raise BusinessRuleViolation("A converted lead stays as the history of its account.")
        lead.delete()


def opportunity_delete(*, actor: User, opportunity: Opportunity) -> None:
    _require_staff(actor)
    with transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).delete()


def activity_delete(*, actor: User, activity: Activity) -> None:
    _require_staff(actor)
    with transaction.atomic():
        Activity.objects.filter(pk=activity.pk).delete()
