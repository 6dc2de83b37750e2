"""Invitation rules through the services: tokens, duplicates, refusals, acceptance, audit."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.models import Activity, Contact, Lead
from iam.models import AuditEvent, Membership, User
from invitations import services
from invitations.models import Invitation
from invitations.services import InvitationUnusable
from tests.factories import AccountFactory, ContactFactory, ExternalUserFactory, MembershipFactory, StaffFactory
from tests.invitations.factories import QualifiedLeadFactory, last_token, roles, token_from
from tests.webhooks.factories import EndpointFactory
from webhooks.models import Event as WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run what it left for after commit (the email), as production would."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


@pytest.fixture
def contact(acme):
    return ContactFactory(account=acme, first_name="Dana", last_name="Invitee", email="dana@acme-industries.com")


def _invite(run, owner, contact, **kwargs):
    return run(services.invitation_create, actor=owner, contact=contact, roles=roles("buyer"), **kwargs)


def _nothing_changed(before_invitations=0, before_users=None, before_memberships=None):
    assert Invitation.objects.count() == before_invitations
    if before_users is not None:
        assert User.objects.count() == before_users
    if before_memberships is not None:
        assert Membership.objects.count() == before_memberships
    assert mail.outbox == []


# --- the link's token -----------------------------------------------------------------------


def test_invite_emails_a_link_whose_token_is_stored_only_as_its_sha256(run, owner, contact):
    outcome = _invite(run, owner, contact, note="Good to meet you at the fair!")

    assert outcome.created
    [message] = mail.outbox
    assert message.to == ["dana@acme-industries.com"]
    assert owner.get_full_name() in message.subject
    assert "Acme Industries" in message.subject
    token = last_token()
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "Good to meet you at the fair!" in body
        assert owner.get_full_name() in body
        assert f"/invitations/accept/{token}/" in body
    assert len(token) >= 22  # ≥128 bits in URL-safe base64
    invitation = Invitation.objects.get()
    assert invitation.status == Invitation.Status.SENT
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "invitations.invitation.created",
        "invitations.invitation.sent",
    ]


def test_opening_the_link_does_not_consume_it(run, owner, contact):
    _invite(run, owner, contact)
    token = last_token()

    for _ in range(3):
        assert services.invitation_for_token(token).email == "dana@acme-industries.com"

    assert Invitation.objects.get().status == Invitation.Status.SENT


def test_link_is_single_use(run, owner, contact):
    _invite(run, owner, contact)
    token = last_token()
    services.invitation_accept(actor=None, token=token, password="a long enough passphrase", first_name="Dana")

    with pytest.raises(InvitationUnusable) as second:
        services.invitation_accept(actor=None, token=token, password="another long passphrase")
    assert second.value.code == "used"
    assert User.objects.filter(email="dana@acme-industries.com").count() == 1
    assert Membership.objects.filter(user__email="dana@acme-industries.com").count() == 1


def test_expired_link_creates_no_user(run, owner, contact):
    _invite(run, owner, contact, expires_in_days=1)
    token = last_token()
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    users = User.objects.count()

    with pytest.raises(InvitationUnusable) as exc:
        services.invitation_accept(actor=None, token=token, password="a long enough passphrase")

    assert exc.value.code == "expired"
    assert User.objects.count() == users
    assert not Membership.objects.filter(user__email=contact.email).exists()


def test_tampered_link_is_invalid_and_creates_nothing(run, owner, contact):
    _invite(run, owner, contact)
    token = last_token()
    users = User.objects.count()

    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], "", "../../etc/passwd"):
        with pytest.raises(InvitationUnusable) as exc:
            services.invitation_accept(actor=None, token=bad, password="a long enough passphrase")
        assert exc.value.code == "invalid"
    assert User.objects.count() == users
    assert Invitation.objects.get().status == Invitation.Status.SENT


def test_resend_issues_a_new_link_and_the_old_one_stops_working(run, owner, contact):
    _invite(run, owner, contact)
    old = last_token()
    invitation = Invitation.objects.get()

    run(services.invitation_resend, actor=owner, invitation=invitation)

    new = last_token()
    assert new != old
    assert len(mail.outbox) == 2
    with pytest.raises(InvitationUnusable):
        services.invitation_for_token(old)
    assert services.invitation_for_token(new).pk == invitation.pk
    assert AuditEvent.objects.filter(action="invitations.invitation.resent").count() == 1


def test_revoke_invalidates_at_once_and_twice_changes_nothing(run, owner, contact):
    _invite(run, owner, contact)
    token = last_token()
    invitation = Invitation.objects.get()

    services.invitation_revoke(actor=owner, invitation=invitation)
    services.invitation_revoke(actor=owner, invitation=invitation)

    with pytest.raises(InvitationUnusable) as exc:
        services.invitation_accept(actor=None, token=token, password="a long enough passphrase")
    assert exc.value.code == "revoked"
    assert AuditEvent.objects.filter(action="invitations.invitation.revoked").count() == 1
    assert not User.objects.filter(email=contact.email).exists()


def test_expiry_is_configurable_up_to_thirty_days(run, owner, contact, settings):
    settings.INVITATIONS_EXPIRY_DAYS = 3
    _invite(run, owner, contact)
    left = Invitation.objects.get().expires_at - timezone.now()
    assert dt.timedelta(days=2, hours=23) < left <= dt.timedelta(days=3)

    with pytest.raises(ValidationError):
        services.invitation_create(actor=owner, contact=contact, expires_in_days=31)
    with pytest.raises(ValidationError):
        services.invitation_create(actor=owner, contact=contact, expires_in_days=0)


def test_expire_due_marks_only_past_open_invitations_and_is_idempotent(run, owner, contact, acme):
    _invite(run, owner, contact)
    other = ContactFactory(account=acme, email="later@acme-industries.com")
    _invite(run, owner, other)
    Invitation.objects.filter(email=contact.email).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    assert services.invitations_expire_due() == 1
    assert services.invitations_expire_due() == 0

    assert Invitation.objects.get(email=contact.email).status == Invitation.Status.EXPIRED
    assert Invitation.objects.get(email=other.email).status == Invitation.Status.SENT
    assert AuditEvent.objects.filter(action="invitations.invitation.expired").count() == 1


def test_bounce_marks_open_invitations_with_the_reason(run, owner, contact):
    _invite(run, owner, contact)

    assert services.invitations_mark_bounced(email="DANA@acme-industries.com", reason="550 mailbox unknown") == 1
    assert services.invitations_mark_bounced(email="dana@acme-industries.com", reason="550 again") == 0

    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.failure_reason) == ("bounced", "550 mailbox unknown")


# --- one open invitation per email and account -------------------------------------------------


def test_inviting_again_at_once_returns_the_open_invitation_and_sends_nothing(run, owner, contact):
    first = _invite(run, owner, contact)
    second = _invite(run, owner, contact)

    assert second.status == "unchanged"
    assert second.invitation.pk == first.invitation.pk
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_inviting_again_later_refreshes_the_open_invitation(run, owner, contact):
    _invite(run, owner, contact)
    old = last_token()
    Invitation.objects.update(updated_at=timezone.now() - dt.timedelta(hours=1))

    outcome = run(
        services.invitation_create, actor=owner, contact=contact, roles=roles("buyer", "billing_contact"), note="Again"
    )

    assert outcome.status == "refreshed"
    assert Invitation.objects.count() == 1
    assert set(outcome.invitation.roles.values_list("key", flat=True)) == {"buyer", "billing_contact"}
    assert len(mail.outbox) == 2
    with pytest.raises(InvitationUnusable):
        services.invitation_for_token(old)


def test_database_refuses_a_second_open_invitation(owner, contact):
    from django.db import IntegrityError, transaction

    Invitation.objects.create(email=contact.email, account=contact.account, invited_by=owner, expires_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.create(
            email=contact.email, account=contact.account, invited_by=owner, expires_at=timezone.now()
        )
    # A closed one does not count.
    Invitation.objects.update(status=Invitation.Status.REVOKED)
    Invitation.objects.create(email=contact.email, account=contact.account, invited_by=owner, expires_at=timezone.now())


def test_the_same_person_may_be_invited_into_two_accounts(run, owner, contact):
    elsewhere = AccountFactory(owner=owner)
    _invite(run, owner, contact)
    run(services.invitation_create, actor=owner, email=contact.email, account=elsewhere, roles=roles("buyer"))

    assert Invitation.objects.open().filter(email=contact.email).count() == 2


def test_inviting_an_active_member_says_so_and_sends_nothing(run, owner, member):
    outcome = run(services.invitation_create, actor=owner, email=member.user.email.upper(), account=member.account)

    assert outcome.already_member
    assert "already a portal user" in outcome.message
    _nothing_changed()


def test_inviting_a_suspended_member_is_refused(run, owner, member):
    Membership.objects.filter(pk=member.pk).update(status="suspended", suspended_by="admin")

    with pytest.raises(BusinessRuleViolation):
        run(services.invitation_create, actor=owner, email=member.user.email, account=member.account)
    _nothing_changed()


# --- refusals create nothing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("rep_of_another_account", PermissionDenied),
        ("member", PermissionDenied),
        ("outsider", PermissionDenied),
        ("anonymous_email", ValidationError),
        ("staff_email", ValidationError),
    ],
)
def test_refused_invitations_create_nothing(run, acme, owner, member, outsider, who, error):
    actor, email = owner, "new.person@acme-industries.com"
    if who == "rep_of_another_account":
        actor = StaffFactory()
    elif who == "member":
        actor = member.user
    elif who == "outsider":
        actor = outsider.user
    elif who == "anonymous_email":
        email = "not an email"
    elif who == "staff_email":
        email = StaffFactory().email
    audit = AuditEvent.objects.count()

    with pytest.raises(error):
        run(services.invitation_create, actor=actor, email=email, account=acme, roles=roles("buyer"))

    _nothing_changed()
    assert AuditEvent.objects.count() == audit


def test_contact_of_another_account_is_refused(run, owner, acme):
    stranger = ContactFactory(email="x@elsewhere-corp.com")

    with pytest.raises(ValidationError):
        run(services.invitation_create, actor=owner, account=acme, contact=stranger)
    _nothing_changed()


# --- org admins in the portal ------------------------------------------------------------------


def test_org_admin_invites_a_colleague_with_a_role_they_hold(run, org_admin):
    outcome = run(
        services.invitation_create,
        actor=org_admin.user,
        email="colleague@acme-industries.com",
        account=org_admin.account,
        roles=roles("buyer"),
    )

    assert outcome.created
    assert mail.outbox[0].to == ["colleague@acme-industries.com"]
    assert outcome.invitation.invited_by == org_admin.user


@pytest.mark.parametrize("role", ["org_admin", "technical_contact", "lead"])
def test_org_admin_cannot_invite_with_roles_they_may_not_grant(run, org_admin, role):
    with pytest.raises(PermissionDenied):
        run(
            services.invitation_create,
            actor=org_admin.user,
            email="colleague@acme-industries.com",
            account=org_admin.account,
            roles=roles("buyer", role),
        )
    _nothing_changed()


def test_org_admin_cannot_invite_into_another_account(run, org_admin, outsider):
    with pytest.raises(PermissionDenied):
        run(
            services.invitation_create,
            actor=org_admin.user,
            email="spy@acme-industries.com",
            account=outsider.account,
            roles=roles("buyer"),
        )
    _nothing_changed()


def test_org_admin_cannot_revoke_or_resend_another_accounts_invitation(run, owner, contact, outsider):
    _invite(run, owner, contact)
    invitation = Invitation.objects.get()

    with pytest.raises(PermissionDenied):
        services.invitation_revoke(actor=outsider.user, invitation=invitation)
    with pytest.raises(PermissionDenied):
        services.invitation_resend(actor=outsider.user, invitation=invitation)
    assert Invitation.objects.get().status == Invitation.Status.SENT


def test_org_admin_cannot_resend_a_staff_invitation_with_roles_they_may_not_grant(run, owner, contact, org_admin):
    run(services.invitation_create, actor=owner, contact=contact, roles=roles("org_admin"))
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.EXPIRED)
    mail.outbox.clear()

    with pytest.raises(PermissionDenied, match="may not grant"):
        services.invitation_resend(actor=org_admin.user, invitation=invitation)

    assert Invitation.objects.get().status == Invitation.Status.EXPIRED
    assert mail.outbox == []
    run(services.invitation_resend, actor=owner, invitation=invitation)  # staff still may
    assert Invitation.objects.get().status == Invitation.Status.SENT


# --- accepting ----------------------------------------------------------------------------------


def test_new_user_accepts_with_a_verified_email_the_invited_roles_and_the_contact(run, owner, contact):
    _invite(run, owner, contact)

    result = services.invitation_accept(
        actor=None, token=last_token(), password="a long enough passphrase", first_name="Dana", last_name="Invitee"
    )

    assert result.user_created
    user = result.user
    assert user.email == "dana@acme-industries.com"
    assert not user.is_staff
    assert user.check_password("a long enough passphrase")
    assert EmailAddress.objects.get(user=user).verified
    membership = result.membership
    assert (membership.account, membership.contact, membership.status) == (contact.account, contact, "active")
    assert set(membership.roles.values_list("key", flat=True)) == {"buyer"}
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.accepted_by, invitation.membership) == ("accepted", user, membership)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"iam.user.created", "iam.membership.created", "invitations.invitation.accepted"} <= actions


def test_a_weak_password_creates_nothing(run, owner, contact):
    _invite(run, owner, contact)
    users = User.objects.count()

    with pytest.raises(ValidationError):
        services.invitation_accept(actor=None, token=last_token(), password="short")

    assert User.objects.count() == users
    assert Invitation.objects.get().status == Invitation.Status.SENT


def test_existing_user_must_sign_in_and_then_accepts(run, owner, acme):
    existing = MembershipFactory(roles=["buyer"]).user  # a user of another customer
    run(services.invitation_create, actor=owner, email=existing.email, account=acme, roles=roles("buyer"))
    token = last_token()

    with pytest.raises(InvitationUnusable) as anonymous:
        services.invitation_accept(actor=None, token=token, password="a long enough passphrase")
    assert anonymous.value.code == "sign_in"

    result = services.invitation_accept(actor=existing, token=token)
    assert not result.user_created
    assert result.membership.account == acme
    # A contact is created for them at the account they joined.
    assert Contact.objects.filter(account=acme, email__iexact=existing.email).exists()


def test_another_signed_in_user_cannot_accept(run, owner, contact):
    _invite(run, owner, contact)
    someone = ExternalUserFactory()

    with pytest.raises(InvitationUnusable) as exc:
        services.invitation_accept(actor=someone, token=last_token())

    assert exc.value.code == "wrong_user"
    assert not Membership.objects.filter(user=someone).exists()


def test_accepting_restores_a_removed_membership_with_the_invited_roles(run, owner, member):
    Membership.objects.filter(pk=member.pk).update(status="deactivated")
    run(
        services.invitation_create,
        actor=owner,
        email=member.user.email,
        account=member.account,
        roles=roles("billing_contact"),
    )

    result = services.invitation_accept(actor=member.user, token=last_token())

    assert result.membership.pk == member.pk
    assert result.membership.status == "active"
    assert set(result.membership.roles.values_list("key", flat=True)) == {"billing_contact"}


# --- lead invitations ---------------------------------------------------------------------------


@pytest.fixture
def lead():
    return QualifiedLeadFactory(
        first_name="Lea",
        last_name="Prospect",
        email="lea@prospect-industries.com",
        company_name="Prospect Industries",
        score=30,
        status=Lead.Status.QUALIFIED,
    )


@pytest.mark.parametrize(
    ("email", "code"),
    [("lea@gmail.com", "webmail"), ("lea@mailinator.com", "disposable"), ("lea@", "malformed")],
)
def test_lead_with_an_unqualified_address_is_refused_with_the_reason(run, lead, email, code):
    with pytest.raises(ValidationError) as exc:
        run(services.invitation_create, actor=lead.owner, lead=lead, email=email)

    if code != "malformed":
        assert exc.value.error_dict["email"][0].code == code
    _nothing_changed()


def test_converted_or_disqualified_lead_cannot_be_invited(run, lead):
    for status in (Lead.Status.DISQUALIFIED,):
        Lead.objects.filter(pk=lead.pk).update(status=status)
        lead.refresh_from_db()
        with pytest.raises(BusinessRuleViolation):
            run(services.invitation_create, actor=lead.owner, lead=lead)
    _nothing_changed()


def test_only_the_leads_owner_or_a_manager_may_invite_it(run, lead, manager):
    with pytest.raises(PermissionDenied):
        run(services.invitation_create, actor=StaffFactory(), lead=lead)
    _nothing_changed()

    assert run(services.invitation_create, actor=manager, lead=lead).created


def test_lead_acceptance_registers_the_lead_raises_its_score_and_logs_it(run, lead, settings):
    settings.INVITATIONS_LEAD_SCORE_BONUS = 25
    run(services.invitation_create, actor=lead.owner, lead=lead, note="Try our configurator")
    [invite_email] = mail.outbox
    assert invite_email.to == ["lea@prospect-industries.com"]
    mail.outbox.clear()

    result = run(
        services.invitation_accept,
        actor=None,
        token=token_from(invite_email),
        password="a long enough passphrase",
        first_name="Lea",
        last_name="Prospect",
    )

    lead.refresh_from_db()
    assert lead.status == Lead.Status.REGISTERED
    assert lead.score == 55
    membership = result.membership
    assert membership.is_lead_only
    assert membership.status == "active"
    assert set(membership.roles.values_list("key", flat=True)) == {"lead"}
    assert Membership.objects.usable().filter(pk=membership.pk).exists()  # no contract needed
    assert membership.account.name == "Prospect Industries"
    assert membership.contact.email == "lea@prospect-industries.com"
    activity = Activity.objects.get(lead=lead)
    assert "Registered" in activity.subject
    assert AuditEvent.objects.filter(action="crm.lead.registered", target_id=str(lead.pk)).exists()
    [notice] = mail.outbox
    assert notice.to == [lead.owner.email]
    assert "registered" in notice.subject


def _accept_lead_invitation(run, lead):
    run(services.invitation_create, actor=lead.owner, lead=lead)
    token = last_token(lead.email)
    return run(services.invitation_accept, actor=None, token=token, password="a long enough passphrase").membership


def test_a_lead_joins_the_account_of_its_business_id_in_any_spelling(run, lead):
    from crm.models import Account

    known = AccountFactory(name="Prospect Industries AB", business_id="SE5560123456", country="SE")
    Lead.objects.filter(pk=lead.pk).update(company_business_id="556012-3456", company_country="SE")
    accounts = Account.objects.count()

    membership = _accept_lead_invitation(run, lead)

    assert membership.account == known
    assert Account.objects.count() == accounts


def test_a_lead_joins_the_account_that_has_its_email_domain_through_the_one_grant_path(run, lead):
    from crm.models import Account, AccountDomain

    prospect = AccountFactory(name="Prospect Group", business_id="SE5569999999", country="SE")  # no contract yet
    AccountDomain.objects.create(account=prospect, domain="prospect-industries.com")
    accounts = Account.objects.count()
    EndpointFactory(event_types=["contact.created", "membership.created", "account.created"])

    membership = _accept_lead_invitation(run, lead)

    assert membership.account == prospect
    assert Account.objects.count() == accounts
    assert membership.status == Membership.Status.ACTIVE  # lead access needs no contract
    created = AuditEvent.objects.get(action="iam.membership.created")  # once, by iam's grant
    assert created.target_id == str(membership.pk)
    assert created.data["roles"] == ["lead"]
    assert created.data["invitation"] == membership.invitations.get().pk
    # Integrators hear of each once: the new contact, the membership; no account was created.
    announced = sorted(WebhookEvent.objects.values_list("type", flat=True))
    assert announced == ["contact.created", "membership.created"]


def test_a_domain_two_accounts_share_does_not_place_a_lead_in_either(run, lead):
    from crm.models import AccountDomain

    for name in ("Prospect Holding", "Prospect Services"):
        AccountDomain.objects.create(account=AccountFactory(name=name), domain="prospect-industries.com")

    membership = _accept_lead_invitation(run, lead)

    assert membership.account.name == "Prospect Industries"  # a new account, from the lead
    assert AuditEvent.objects.filter(action="crm.account.created", target_id=str(membership.account_id)).exists()


def test_lead_score_is_capped_at_100(run, lead, settings):
    settings.INVITATIONS_LEAD_SCORE_BONUS = 90
    run(services.invitation_create, actor=lead.owner, lead=lead)
    services.invitation_accept(actor=None, token=last_token(), password="a long enough passphrase")

    lead.refresh_from_db()
    assert lead.score == 100


def test_registered_lead_cannot_be_invited_again(run, lead):
    run(services.invitation_create, actor=lead.owner, lead=lead)
    services.invitation_accept(actor=None, token=last_token(), password="a long enough passphrase")
    lead.refresh_from_db()

    with pytest.raises(BusinessRuleViolation):
        services.invitation_create(actor=lead.owner, lead=lead)


def test_the_invitation_goes_out_through_real_smtp_with_branding_and_the_link(run, owner, contact, smtp_mail, settings):
    settings.INVITATIONS_COMPANY_NAME = "Northwind Supply"
    _invite(run, owner, contact, note="Here is your access.")

    [sunk] = smtp_mail.to("dana@acme-industries.com")
    text, html = sunk.body("plain"), sunk.body("html")
    assert "Northwind Supply" in sunk.subject
    assert owner.get_full_name() in sunk.subject
    token = services.invitation_for_token(text.split("/invitations/accept/")[1].split("/")[0]).token_hash
    assert token == Invitation.objects.get().token_hash
    for body in (text, html):
        assert "Northwind Supply" in body
        assert "Here is your access." in body
        assert "/invitations/accept/" in body
