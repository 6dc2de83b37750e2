from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.errors import BusinessRuleViolation
from crm import services
from crm.models import Account, AccountDomain, Activity, Contact, Lead, Opportunity
from iam.models import AuditEvent
from tests.factories import AccountFactory, ActivityFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_conversion_creates_account_contact_and_opportunity(sales_rep):
    lead = LeadFactory(
        owner=sales_rep,
        first_name="Nina",
        last_name="Berger",
        email="nina@alpenkraft.example",
        phone="+41 44 668 18 00",
        job_title="CTO",
        company_name="Alpenkraft AG",
        company_business_id="CHE-123.456.789",
        company_country="CH",
    )

    result = services.lead_convert(
        actor=sales_rep, lead=lead, opportunity_name="Alpenkraft pilot", opportunity_amount=Decimal("9000")
    )

    assert result.account_created
    assert result.contact_created
    account = Account.objects.get(business_id="CHE-123.456.789")
    assert account.name == "Alpenkraft AG"
    assert account.country == "CH"
    assert account.email_domains.get().domain == "alpenkraft.example"
    contact = account.contacts.get()
    assert (contact.first_name, contact.last_name, contact.email, contact.job_title) == (
        "Nina",
        "Berger",
        "nina@alpenkraft.example",
        "CTO",
    )
    assert contact.phone.as_e164 == "+41446681800"
    assert contact.last_verified_at is not None
    opportunity = account.opportunities.get()
    assert opportunity.name == "Alpenkraft pilot"
    assert opportunity.amount == Decimal("9000")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert lead.converted_account == account
    assert lead.converted_contact == contact
    assert lead.converted_opportunity == opportunity
    assert lead.converted_at is not None


def test_second_lead_of_the_same_company_links_to_the_existing_account(sales_rep):
    first = LeadFactory(company_name="Quantix s.r.o.", company_business_id="CZ27082440")
    second = LeadFactory(company_name="Quantix (Prague)", company_business_id="CZ27082440")

    services.lead_convert(actor=sales_rep, lead=first)
    result = services.lead_convert(actor=sales_rep, lead=second)

    assert not result.account_created
    assert Account.objects.filter(business_id="CZ27082440").count() == 1
    assert result.account.contacts.count() == 2


def test_lead_of_an_existing_customer_links_to_the_account_and_its_contact(sales_rep):
    account = AccountFactory(business_id="DE811907980")
    contact = ContactFactory(account=account, email="kurt.meyer@acme.example")
    lead = LeadFactory(company_business_id="DE811907980", email="KURT.MEYER@acme.example")

    result = services.lead_convert(actor=sales_rep, lead=lead)

    assert result.account == account
    assert result.contact == contact
    assert not result.contact_created
    assert Contact.objects.count() == 1


def test_converting_twice_is_refused_and_changes_nothing(sales_rep):
    lead = LeadFactory()
    services.lead_convert(actor=sales_rep, lead=lead, opportunity_name="Deal")
    counts = (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count())

    with pytest.raises(BusinessRuleViolation):
        services.lead_convert(actor=sales_rep, lead=lead, opportunity_name="Deal")

    assert (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()) == counts


def test_disqualified_lead_is_not_converted(sales_rep):
    lead = LeadFactory(status=Lead.Status.DISQUALIFIED)
    with pytest.raises(BusinessRuleViolation):
        services.lead_convert(actor=sales_rep, lead=lead)
    assert Account.objects.count() == 0


def test_lead_without_company_needs_an_account(sales_rep):
    lead = LeadFactory(company_name="", company_business_id="")
    with pytest.raises(ValidationError):
        services.lead_convert(actor=sales_rep, lead=lead)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    assert Account.objects.count() == 0


def test_lead_timeline_follows_it_to_the_account(sales_rep):
    lead = LeadFactory()
    ActivityFactory(account=None, lead=lead, author=sales_rep, subject="Met at the fair")

    result = services.lead_convert(actor=sales_rep, lead=lead)

    subjects = set(Activity.objects.filter(account=result.account).values_list("subject", flat=True))
    assert "Met at the fair" in subjects
    assert any(s.startswith("Converted from lead") for s in subjects)


def test_external_user_cannot_convert(external_user):
    lead = LeadFactory()
    with pytest.raises(PermissionDenied):
        services.lead_convert(actor=external_user, lead=lead)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


# --- The account matcher decides which company a lead is ------------------------------------------


def test_a_lead_with_the_email_domain_of_an_account_links_to_it_instead_of_a_second_one(sales_rep):
    """The Globex case: no business id, an @globex.example address, and Globex has that domain."""
    globex = AccountFactory(name="Globex", business_id="US-GLOBEX-1", country="US", website="")
    AccountDomain.objects.create(account=globex, domain="globex.example")
    lead = LeadFactory(
        email="hank.scorpio@globex.example",
        company_name="Globex Corporation",
        company_business_id="",
        company_country="US",
    )

    result = services.lead_convert(actor=sales_rep, lead=lead)

    assert result.account == globex
    assert not result.account_created
    assert Account.objects.count() == 1
    assert globex.contacts.get().email == "hank.scorpio@globex.example"
    event = AuditEvent.objects.get(action="crm.lead.converted")
    assert (event.target_id, event.account_id) == (str(lead.pk), globex.pk)
    assert event.data["account_created"] is False
    assert not AuditEvent.objects.filter(action="crm.account.created").exists()


def test_a_similar_name_alone_does_not_link_without_a_person(sales_rep):
    AccountFactory(name="Initech", country="US", website="")
    lead = LeadFactory(company_name="Initech", company_business_id="", company_country="US", email="p@initech.example")

    result = services.lead_convert(actor=sales_rep, lead=lead)

    assert result.account_created  # a name is a suggestion for the person converting, not proof
    assert Account.objects.filter(name="Initech").count() == 2


def test_choosing_a_new_account_leaves_a_matched_domain_with_its_account(sales_rep):
    globex = AccountFactory(name="Globex", country="US", website="")
    AccountDomain.objects.create(account=globex, domain="globex.example")
    lead = LeadFactory(email="mindy@globex.example", company_name="Globex Labs", company_business_id="")

    result = services.lead_convert(actor=sales_rep, lead=lead, create_account=True)

    assert result.account_created
    assert result.account.name == "Globex Labs"
    assert not result.account.email_domains.exists()  # a domain names one account
    created = AuditEvent.objects.get(action="crm.account.created")
    assert created.target_id == str(result.account.pk)
    assert created.data == {"via": "lead_conversion", "lead": lead.pk}


def test_choosing_a_new_account_never_duplicates_a_business_id(sales_rep):
    known = AccountFactory(business_id="CZ27082440", country="CZ")
    lead = LeadFactory(company_business_id="27082440", company_country="CZ")

    result = services.lead_convert(actor=sales_rep, lead=lead, create_account=True)

    assert result.account == known
    assert not result.account_created


def test_the_conversion_note_is_done_and_never_an_open_task(sales_rep, rep_client):
    lead = LeadFactory(owner=sales_rep)

    services.lead_convert(actor=sales_rep, lead=lead)

    note = Activity.objects.get(subject__startswith="Converted from lead")
    assert (note.kind, note.done) == (Activity.Kind.NOTE, True)
    assert note.done_at is not None
    home = rep_client.get("/").content.decode()
    assert "no open tasks" in home
    assert "Converted from lead" not in home


def test_a_note_cannot_be_reopened_as_a_task(sales_rep):
    note = services.activity_log(
        actor=sales_rep, kind="note", subject="Spoke at the fair", done=False, lead=LeadFactory()
    )
    assert note.done

    with pytest.raises(ValidationError, match="A note is never open"):
        services.activity_set_done(actor=sales_rep, activity=note, done=False)
    with pytest.raises(ValidationError, match="A note is never open"):
        services.activity_update(actor=sales_rep, activity=note, changes={"done": False})


def test_a_contact_just_typed_in_is_new_not_stale(rep_client, sales_rep):
    """#15: a fresh, never-verified contact is not shown as "Stale · never verified" in red."""
    contact = ContactFactory(account=AccountFactory(owner=sales_rep), owner=sales_rep, last_verified_at=None)

    html = rep_client.get(contact.get_absolute_url()).content.decode()

    assert 'id="freshness-new"' in html
    assert "not verified yet" in html
    assert "freshness-stale" not in html
    listing = rep_client.get("/contacts/").content.decode()
    assert "freshness-new" in listing
