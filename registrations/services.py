"""Self-service registration of an organisation: submit, verify, match, decide.

One write path for the public form, the staff queue, the portal and the API. Each service
runs in a transaction, writes its audit event inside it and sends its emails on commit.
Memberships are made only through ``iam.services``.

The flow: ``registration_submit`` creates the registrant's login unverified (or finds their
existing one) and emails an allauth verification link. allauth's ``email_confirmed`` signal
(or, for an existing login, ``registration_continue`` after sign-in) calls
``registration_email_verified``, which matches the request against the CRM (``crm.matching``).
A customer recognised by business id or domain, with the verified address at one of its own
domains, is approved at once; anything else waits in the queue, the match as evidence, for
``registration_approve`` / ``registration_reject`` / ``registration_request_info`` /
``registration_admit_lead``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import phonenumbers
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_countries import countries

from core.errors import BusinessRuleViolation
from crm.departures import registration_elsewhere
from crm.matching import BUSINESS_ID, AccountMatch, account_match
from crm.models import Account, Activity, Contact, Lead
from crm.services import account_create_for_company
from history.services import history_record, history_snapshot
from iam.audit import audit_record, audit_record_many
from iam.models import BusinessRole, Membership, User
from iam.permissions import can_decide_registrations, can_manage_members, sells
from iam.services import membership_grant
from notifications import triggers as notification_triggers
from registrations import emails, tokens
from registrations.business_ids import business_id_clean
from registrations.email_check import qualify_business_email
from registrations.models import MESSAGE_MAX_LENGTH, RegistrationRequest
from territories.services import lead_route

if TYPE_CHECKING:
    from collections.abc import Iterable

Status = RegistrationRequest.Status
Decision = RegistrationRequest.Decision

# --- Validation: what the form, the API and the services agree a registration is ---------------


def _clean_phone(value: str, country: str) -> str:
    try:
        number = phonenumbers.parse((value or "").strip(), (country or None) and country.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("Enter a phone number, with its country code (+358 40 1234567).") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number does not exist. Check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def registration_clean(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check a submitted registration; every problem is raised at once, per field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    def need(name: str, message: str) -> str:
        value = str(data.get(name) or "").strip()
        if not value:
            errors.setdefault(name, []).append(message)
        return value

    cleaned["company_name"] = need("company_name", "Enter your company's name.")
    cleaned["first_name"] = need("first_name", "Enter your first name.")
    cleaned["last_name"] = need("last_name", "Enter your last name.")
    country = need("country", "Choose the country your company is registered in.").upper()
    if country and country not in dict(countries):
        errors.setdefault("country", []).append("Choose a country from the list.")
        country = ""
    cleaned["country"] = country
    if country:
        try:
            cleaned["business_id"] = business_id_clean(country, str(data.get("business_id") or ""))
        except ValidationError as exc:
            errors.setdefault("business_id", []).extend(exc.messages)
    email = User.objects.normalize_email(need("email", "Enter your work email address.")).lower()
    if email:
        verdict = qualify_business_email(email)
        if not verdict.qualified:
            errors.setdefault("email", []).append(verdict.reason)
    cleaned["email"] = email
    if str(data.get("phone") or "").strip():
        try:
            cleaned["phone"] = _clean_phone(str(data["phone"]), country)
        except ValidationError as exc:
            errors.setdefault("phone", []).extend(exc.messages)
    else:
        errors.setdefault("phone", []).append("Enter a phone number we can reach you on.")
    if data.get("terms_accepted") is not True:
        errors.setdefault("terms_accepted", []).append("Accept the terms of service to register.")
    password = str(data.get("password") or "")
    if not password:
        errors.setdefault("password", []).append("Choose a password.")
    else:
        probe = User(email=email, first_name=cleaned["first_name"], last_name=cleaned["last_name"])
        try:
            validate_password(password, user=probe)
        except ValidationError as exc:
            errors.setdefault("password", []).extend(exc.messages)
    cleaned["password"] = password
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- Submit and verify ---------------------------------------------------------------------------


def _verification_link(registration: RegistrationRequest) -> str:
    address = EmailAddress.objects.get_for_user(registration.user, registration.email)
    key = EmailConfirmationHMAC(address).key
    return emails.absolute_url(reverse("registrations:verify", args=[key]))


def _send_verification(registration: RegistrationRequest) -> None:
    context: dict[str, Any] = {"registration": registration}
    if registration.created_user:
        context["verify_url"] = _verification_link(registration)
        emails.send("verify", to=[registration.email], context=context)
    else:
        # The address already has a login: the registrant proves it is theirs by signing in.
        path = reverse("registrations:continue", args=[tokens.continue_token(registration)])
        context["continue_url"] = emails.absolute_url(path)
        emails.send("verify_existing", to=[registration.email], context=context)


def registration_submit(*, actor: User | None = None, data: dict[str, Any]) -> RegistrationRequest:
    """Take a registration from the public form (or the API) and email the verification link.

    Creates nothing on bad input (``ValidationError`` per field). The registrant's login is
    created unverified with the password they chose; if the address already has a login, the
    password is ignored and they continue by signing in (the reply does not tell which).
    Submitting again while the request is open updates it and sends the link again; the login
    keeps its first password.
    """
    cleaned = registration_clean(data)
    try:
        return _submit(cleaned)
    except IntegrityError:
        # A concurrent submit of the same address won the race for the login or the open
        # request (both unique); run again and find what it made.
        return _submit(cleaned)


def _submit(cleaned: dict[str, Any]) -> RegistrationRequest:
    email = cleaned["email"]
    fields = {k: cleaned[k] for k in ("company_name", "business_id", "country", "first_name", "last_name", "phone")}
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is not None and user.is_staff:
            raise ValidationError({"email": "This address belongs to our own staff; use your company's address."})
        registration = RegistrationRequest.objects.select_for_update().open().filter(email=email).first()
        if registration is not None and registration.status != Status.PENDING_VERIFICATION:
            return registration  # already verified and waiting: nothing to send again
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=cleaned["password"],
                first_name=cleaned["first_name"],
                last_name=cleaned["last_name"],
            )
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
            audit_record(
                actor=None, action="iam.user.created", target=user, data={"user": email, "via": "registration"}
            )
            created_user = True
        else:
            # The login is left as it is, even the unverified one this registration made: the
            # form is anonymous, and a second submission must not set the password of a login
            # whose owner is about to verify it (whoever knows the address could take it over).
            # Who forgot the first password resets it once the address is verified.
            created_user = registration is not None and registration.created_user and registration.user_id == user.pk
        if registration is None:
            registration = RegistrationRequest(email=email)
        for name, value in fields.items():
            setattr(registration, name, value)
        registration.user = user
        registration.created_user = created_user
        registration.terms_accepted_at = timezone.now()
        registration.save()
        transaction.on_commit(lambda: _send_verification(registration))
    return registration


def registration_email_verified(*, registration: RegistrationRequest, user: User) -> RegistrationRequest:
    """The registrant proved the address is theirs: into the queue, or approved at once on a match."""
    with transaction.atomic():
        registration = RegistrationRequest.objects.select_for_update().get(pk=registration.pk)
        if registration.status != Status.PENDING_VERIFICATION:
            return registration
        if registration.user_id != user.pk or user.email.lower() != registration.email:
            raise PermissionDenied("This registration belongs to another email address.")
        now = timezone.now()
        registration.status = Status.PENDING
        registration.email_verified_at = registration.submitted_at = now
        registration.save(update_fields=["status", "email_verified_at", "submitted_at", "updated_at"])
        audit_record(
            actor=user,
            action="registrations.registration.submitted",
            target=registration,
            data={"email": registration.email, "business_id": registration.business_id},
        )
        match = registration_match(registration)
        # Departures as facts: the same person at another company means they left the old one.
        registration_elsewhere(
            email=registration.email,
            first_name=registration.first_name,
            last_name=registration.last_name,
            account_id=match.account.pk if match is not None else None,
            now=now,
        )
        if match is not None and _admits_automatically(registration, match):
            decision = Decision.AUTO_BUSINESS_ID if match.on == BUSINESS_ID else Decision.AUTO_DOMAIN
            return _approve(
                actor=None, registration=registration, account=match.account, decision=decision, match=match
            )
        if settings.REGISTRATIONS_AUTO_ADMIT_LEADS and match is None:
            try:
                return _admit_lead(actor=None, registration=registration, decision=Decision.AUTO_LEAD)
            except BusinessRuleViolation:
                pass  # nobody to own the lead: a person decides
        if match is not None:
            # A person decides, with what was found as evidence on the queue's page.
            registration.matched_account = match.account
            registration.match_evidence = _evidence(registration, match)
            registration.save(update_fields=["matched_account", "match_evidence", "updated_at"])
        transaction.on_commit(
            lambda: emails.send("received", to=[registration.email], context={"registration": registration})
        )
    return registration


def registration_continue(*, actor: User, registration: RegistrationRequest) -> RegistrationRequest:
    """An existing login continues its registration after signing in (its address is verified)."""
    if not EmailAddress.objects.filter(user=actor, email__iexact=registration.email, verified=True).exists():
        raise PermissionDenied("Verify this email address first.")
    return registration_email_verified(registration=registration, user=actor)


# --- Matching ----------------------------------------------------------------------------------


def registration_match(registration: RegistrationRequest) -> AccountMatch | None:
    """The account this request's company already is (``crm.matching``), with the evidence."""
    return account_match(
        business_id=registration.business_id,
        email=registration.email,
        company_name=registration.company_name,
        country=registration.country.code,
    )


def _domain_is_the_accounts(registration: RegistrationRequest, account: Account) -> bool:
    return account.email_domains.filter(domain=registration.email_domain).exists()


def _admits_automatically(registration: RegistrationRequest, match: AccountMatch) -> bool:
    """A customer recognised by conclusive evidence, and an address at one of its own domains.

    A business id is public (anyone can read a VAT number off an invoice), so it never admits
    on its own: the verified address must be at a domain the account has. A name never admits.
    """
    return (
        match.conclusive
        and match.account.is_customer
        and _domain_is_the_accounts(registration, match.account)
        # Someone their admin suspended comes back only through that admin.
        and not Membership.objects.filter(
            user=registration.user, account=match.account, status=Membership.Status.SUSPENDED
        ).exists()
    )


def _evidence(registration: RegistrationRequest, match: AccountMatch) -> dict[str, Any]:
    return {
        **match.evidence,
        "description": match.description,
        "email_domain_is_the_accounts": _domain_is_the_accounts(registration, match.account),
        "customer": match.account.is_customer,
    }


# --- Decisions ---------------------------------------------------------------------------------


def _require_decider(actor: User) -> None:
    if not can_decide_registrations(actor):
        raise PermissionDenied("Registrations are decided by sales managers and the service desk.")


def _locked_open(registration: RegistrationRequest) -> RegistrationRequest:
    registration = (
        RegistrationRequest.objects.select_for_update(of=("self",)).select_related("user").get(pk=registration.pk)
    )
    if registration.status == Status.PENDING_VERIFICATION:
        raise BusinessRuleViolation("The registrant has not verified their email address yet.")
    if not registration.is_open:
        raise BusinessRuleViolation(f"This registration was already decided ({registration.get_status_display()}).")
    return registration


def _owner(actor: User | None) -> User:
    """Who owns accounts and leads a registration creates."""
    if settings.REGISTRATIONS_OWNER_EMAIL:
        owner = User.objects.staff().filter(email__iexact=settings.REGISTRATIONS_OWNER_EMAIL).first()
        if owner is not None:
            return owner
    if sells(actor):
        return actor
    owner = (
        User.objects.staff().filter(staff_role=User.StaffRole.SALES_MANAGER).order_by("date_joined", "pk").first()
        or (actor if actor is not None and actor.is_staff else None)
        or User.objects.staff().filter(is_superuser=True).order_by("pk").first()
    )
    if owner is None:
        raise BusinessRuleViolation("No staff user can own the new record. Set REGISTRATIONS_OWNER_EMAIL.")
    return owner


def _account_for(*, actor: User | None, registration: RegistrationRequest) -> tuple[Account, bool]:
    """The account of this business id, created when there is none: never a second one."""
    return account_create_for_company(
        actor=actor,
        name=registration.company_name,
        owner=_owner(actor),
        source={"via": "registration", "registration": registration.pk},
        business_id=registration.business_id,
        country=registration.country,
        email=registration.email,
    )


def _registrant(registration: RegistrationRequest) -> User:
    """The registrant's login: a registration has one from submission (SET_NULL only if deleted)."""
    assert registration.user is not None
    return registration.user


def _contact(*, actor: User | None, account: Account, registration: RegistrationRequest) -> Contact:
    from crm.services import contact_verify
    from iam.services import contact_for_user

    contact = contact_for_user(account=account, user=_registrant(registration), actor=actor)
    if not contact.phone:
        before = history_snapshot(contact)
        contact.phone = registration.phone
        contact.save(update_fields=["phone", "updated_at"])
        history_record(actor=registration.user, record=contact, before=before)
    # The person typed these details themselves and proved the address: verified by self-service.
    return contact_verify(
        actor=_registrant(registration), contact=contact, method=Contact.VerificationMethod.SELF_SERVICE
    )


def _roles(keys: Iterable[str]) -> list[BusinessRole]:
    return list(BusinessRole.objects.filter(key__in=list(keys)))


def _has_org_admin(account: Account) -> bool:
    """An org admin who is in, or only waits for the contract: they come back when it is renewed.

    Counting only usable memberships would make a registrant of a lapsed customer its org
    admin, unconfirmed, beside the admins the contract's end suspended.
    """
    waiting = Q(status=Membership.Status.SUSPENDED, suspended_by=Membership.SuspendedBy.CONTRACT)
    return (
        Membership.objects.filter(account=account, is_org_admin=True)
        .filter(Q(status=Membership.Status.ACTIVE) | waiting)
        .exists()
    )


def _decide(
    registration: RegistrationRequest, *, actor: User | None, status: str, decision: str, **fields: Any
) -> RegistrationRequest:
    registration.status = status
    registration.decision = decision
    registration.decided_by = actor
    registration.decided_at = timezone.now()
    for name, value in fields.items():
        setattr(registration, name, value)
    registration.save()
    return registration


def _approve(
    *,
    actor: User | None,
    registration: RegistrationRequest,
    account: Account,
    decision: str,
    match: AccountMatch | None = None,
) -> RegistrationRequest:
    """Make the registrant a user of ``account``: org admin, or a member the admin confirms."""
    contact = _contact(actor=actor, account=account, registration=registration)
    needs_confirmation = _has_org_admin(account)
    role_keys = settings.REGISTRATIONS_MEMBER_ROLES if needs_confirmation else [BusinessRole.ORG_ADMIN]
    membership = membership_grant(
        actor=actor,
        user=registration.user,
        account=account,
        roles=_roles(role_keys),
        contact=contact,
        audit_data={"registration": registration.pk},
    )
    if match is not None:
        registration.match_evidence = _evidence(registration, match)
    _decide(
        registration,
        actor=actor,
        status=Status.APPROVED,
        decision=decision,
        matched_account=account,
        membership=membership,
        admin_confirmation_requested=needs_confirmation,
    )
    audit_record(
        actor=actor,
        action="registrations.registration.approved",
        account=account,
        target=registration,
        data={
            "decision": decision,
            "email": registration.email,
            "roles": sorted(role_keys),
            "admin_confirmation": needs_confirmation,
        },
    )
    notification_triggers.customer_registered(actor=actor, registration=registration, account=account)
    has_access = Membership.objects.usable().filter(pk=membership.pk).exists()
    transaction.on_commit(lambda: _send_approved(registration, account, has_access, needs_confirmation))
    return registration


def _send_approved(registration: RegistrationRequest, account: Account, has_access: bool, confirm: bool) -> None:
    context = {
        "registration": registration,
        "account": account,
        "has_access": has_access,
        "admin_confirmation": confirm,
        "sign_in_url": emails.absolute_url(reverse("account_login")),
    }
    emails.send("approved", to=[registration.email], context=context)
    if confirm:
        admins = list(
            Membership.objects.usable()
            .filter(account=account, is_org_admin=True)
            .values_list("user__email", flat=True)
            .order_by("user__email")
        )
        context["confirm_url"] = emails.absolute_url(reverse("registrations:portal_confirmations"))
        if admins:
            emails.send("admin_confirm", to=admins, context=context)


def registration_approve(
    *,
    actor: User,
    registration: RegistrationRequest,
    account: Account | None = None,
    create_account: bool = False,
) -> RegistrationRequest:
    """Staff approve: link to an existing ``account``, or (``create_account``) a new account + contact.

    Creating never makes a second account for a business id the CRM knows: the request is
    linked to that account instead (``decision`` then says "linked").
    """
    _require_decider(actor)
    if account is None and not create_account:
        raise ValidationError({"account": "Choose the account to link, or create a new one."})
    if account is not None and create_account:
        raise ValidationError({"account": "Either link to an account or create one, not both."})
    with transaction.atomic():
        registration = _locked_open(registration)
        if account is None:
            account, created = _account_for(actor=actor, registration=registration)
        else:
            account, created = Account.objects.select_for_update().get(pk=account.pk), False
            same_id = account_match(business_id=registration.business_id, country=registration.country.code)
            if same_id is not None and same_id.account.pk != account.pk:
                raise BusinessRuleViolation(
                    f"The business id {registration.business_id} belongs to {same_id.account.name}. "
                    "Link to that account."
                )
        decision = Decision.CREATED if created else Decision.LINKED
        return _approve(actor=actor, registration=registration, account=account, decision=decision)


def registration_reject(*, actor: User, registration: RegistrationRequest, reason: str) -> RegistrationRequest:
    """Refuse the request; the registrant receives ``reason`` by email."""
    _require_decider(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the registrant receives this text."})
    if len(reason) > MESSAGE_MAX_LENGTH:
        raise ValidationError({"reason": f"At most {MESSAGE_MAX_LENGTH:,} characters."})
    with transaction.atomic():
        registration = _locked_open(registration)
        _decide(registration, actor=actor, status=Status.REJECTED, decision=Decision.REJECTED, reason=reason)
        audit_record(
            actor=actor,
            action="registrations.registration.rejected",
            target=registration,
            data={"email": registration.email, "reason": reason},
        )
        transaction.on_commit(
            lambda: emails.send("rejected", to=[registration.email], context={"registration": registration})
        )
    return registration


def registration_request_info(*, actor: User, registration: RegistrationRequest, message: str) -> RegistrationRequest:
    """Ask the registrant for more; they answer through the emailed link and the request comes back."""
    _require_decider(actor)
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Write what you need to know: the registrant receives this text."})
    if len(message) > MESSAGE_MAX_LENGTH:
        raise ValidationError({"message": f"At most {MESSAGE_MAX_LENGTH:,} characters."})
    with transaction.atomic():
        registration = _locked_open(registration)
        registration.status = Status.INFO_REQUESTED
        registration.info_request = message
        registration.info_requested_at = timezone.now()
        registration.save(update_fields=["status", "info_request", "info_requested_at", "updated_at"])
        audit_record(
            actor=actor,
            action="registrations.registration.info_requested",
            target=registration,
            data={"email": registration.email, "message": message},
        )
        path = reverse("registrations:respond", args=[tokens.respond_token(registration)])
        context = {"registration": registration, "respond_url": emails.absolute_url(path)}
        transaction.on_commit(lambda: emails.send("info_requested", to=[registration.email], context=context))
    return registration


def registration_respond(*, registration: RegistrationRequest, response: str) -> RegistrationRequest:
    """The registrant answers an information request (through the signed link): back in the queue."""
    response = (response or "").strip()
    if not response:
        raise ValidationError({"response": "Write your answer."})
    with transaction.atomic():
        registration = (
            RegistrationRequest.objects.select_for_update(of=("self",)).select_related("user").get(pk=registration.pk)
        )
        if registration.status != Status.INFO_REQUESTED:
            raise BusinessRuleViolation("This request is not waiting for an answer any more.")
        registration.status = Status.PENDING
        registration.info_response = response
        registration.info_responded_at = timezone.now()
        registration.save(update_fields=["status", "info_response", "info_responded_at", "updated_at"])
        audit_record(
            actor=registration.user,
            action="registrations.registration.info_provided",
            target=registration,
            data={"email": registration.email},
        )
    return registration


# --- Admitted as a lead ------------------------------------------------------------------------


def _lead_for(*, actor: User | None, registration: RegistrationRequest) -> Lead:
    lead = (
        Lead.objects.select_for_update()
        .filter(email__iexact=registration.email)
        .exclude(status__in=[Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED])
        .order_by("-created_at", "-pk")
        .first()
    )
    before = history_snapshot(lead) if lead is not None else None
    if lead is None:
        lead = Lead(
            first_name=registration.first_name,
            last_name=registration.last_name,
            email=registration.email,
            phone=registration.phone,
            company_name=registration.company_name,
            company_business_id=registration.business_id,
            company_country=registration.country,
            source=Lead.Source.WEB,
            owner=_owner(actor),
        )
    lead.status = Lead.Status.REGISTERED
    lead.company_business_id = lead.company_business_id or registration.business_id
    lead.score = min(100, lead.score + settings.REGISTRATIONS_LEAD_SCORE_BONUS)
    lead.full_clean()
    lead.save()
    history_record(actor=actor, record=lead, before=before)
    if before is None:
        lead_route(lead=lead, actor=actor)  # the assignment rules pick its owner (territories)
    note = Activity.objects.create(
        kind=Activity.Kind.NOTE,
        subject=f"Registered for the portal: {registration.email}",
        done=True,
        done_at=timezone.now(),
        body=f"Self-service registration of {registration.company_name} ({registration.business_id}). "
        f"Score +{settings.REGISTRATIONS_LEAD_SCORE_BONUS} → {lead.score}.",
        author=actor if actor is not None and actor.is_staff else lead.owner,
        owner=lead.owner,
        lead=lead,
    )
    history_record(actor=actor, record=note)
    return lead


def _admit_lead(*, actor: User | None, registration: RegistrationRequest, decision: str) -> RegistrationRequest:
    with transaction.atomic():
        lead = _lead_for(actor=actor, registration=registration)
        account, _created = _account_for(actor=actor, registration=registration)
        contact = _contact(actor=actor, account=account, registration=registration)
        membership = membership_grant(
            actor=actor,
            user=_registrant(registration),
            account=account,
            roles=_roles([BusinessRole.LEAD]),
            contact=contact,
            audit_data={"registration": registration.pk},
        )
        audit_record(
            actor=actor,
            action="crm.lead.registered",
            account=account,
            target=lead,
            data={"email": registration.email, "score": lead.score, "registration": registration.pk},
        )
        _decide(
            registration,
            actor=actor,
            status=Status.APPROVED,
            decision=decision,
            matched_account=account,
            membership=membership,
            lead=lead,
        )
        audit_record(
            actor=actor,
            action="registrations.registration.approved",
            account=account,
            target=registration,
            data={"decision": decision, "email": registration.email, "roles": [BusinessRole.LEAD]},
        )
        notification_triggers.customer_registered(actor=actor, registration=registration, account=account, lead=lead)
        context = {"registration": registration, "sign_in_url": emails.absolute_url(reverse("account_login"))}
        transaction.on_commit(lambda: emails.send("lead_admitted", to=[registration.email], context=context))
    return registration


def registration_admit_lead(*, actor: User, registration: RegistrationRequest) -> RegistrationRequest:
    """Staff admit a registrant without a contract as a lead: lead access, and the funnel has them."""
    _require_decider(actor)
    with transaction.atomic():
        registration = _locked_open(registration)
        return _admit_lead(actor=actor, registration=registration, decision=Decision.LEAD)


# --- The org admin confirms a newcomer -----------------------------------------------------------


def registration_admin_confirm(*, actor: User, registration: RegistrationRequest, keep: bool) -> RegistrationRequest:
    """An org admin (or staff) confirms a registrant who joined their organisation, or removes them."""
    from iam.services import membership_remove

    with transaction.atomic():
        registration = (
            RegistrationRequest.objects.select_for_update(of=("self",))
            .select_related("matched_account", "membership")
            .get(pk=registration.pk)
        )
        account = registration.matched_account
        if account is None or not can_manage_members(actor, account):
            raise PermissionDenied("You may not manage this organisation's users.")
        if not registration.admin_confirmation_requested or registration.admin_confirmed_at is not None:
            return registration
        registration.admin_confirmed_by = actor
        registration.admin_confirmed_at = timezone.now()
        registration.save(update_fields=["admin_confirmed_by", "admin_confirmed_at", "updated_at"])
        if not keep and registration.membership is not None:
            membership_remove(actor=actor, membership=registration.membership)
        audit_record(
            actor=actor,
            action=f"registrations.registration.{'admin_confirmed' if keep else 'admin_declined'}",
            account=account,
            target=registration,
            data={"email": registration.email},
        )
    return registration


# --- Housekeeping --------------------------------------------------------------------------------


def registrations_expire_unverified(*, now: dt.datetime | None = None) -> int:
    """Forget registrations whose email was never verified, and the logins they made.

    Set-based and idempotent (a second run finds nothing). A login is deleted only when this
    registration created it and it never verified an address nor joined an organisation.
    """
    from datetime import timedelta

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REGISTRATIONS_UNVERIFIED_DAYS)
    with transaction.atomic():
        stale = list(
            RegistrationRequest.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                status=Status.PENDING_VERIFICATION, created_at__lt=cutoff
            )
        )
        if not stale:
            return 0
        created = [r.user_id for r in stale if r.created_user and r.user_id]
        orphans = (
            User.objects.filter(pk__in=created, is_staff=False, memberships__isnull=True)
            .exclude(emailaddress__verified=True)
            .values_list("pk", flat=True)
        )
        audit_record_many(
            actor=None,
            action="registrations.registration.expired",
            items=[(None, r) for r in stale],
            data={"reason": "email not verified"},
        )
        User.objects.filter(pk__in=list(orphans)).delete()
        RegistrationRequest.objects.filter(pk__in=[r.pk for r in stale]).delete()
    return len(stale)
