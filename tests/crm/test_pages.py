"""The sales-rep pages: they render, they change records only through valid input, they stay
inside the user's scope, and the account page costs the same however big the account is."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    ContractFactory,
    LeadFactory,
    OpportunityFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

MISSING_PK = 987654321


@pytest.fixture
def records(sales_rep):
    account = AccountFactory(owner=sales_rep, name="Acme Corporation", business_id="DE811907980")
    AccountDomain.objects.create(account=account, domain="acme.example")
    contact = ContactFactory(account=account, owner=sales_rep)
    opportunity = OpportunityFactory(account=account, owner=sales_rep)
    contract = ContractFactory(account=account, owner=sales_rep)
    lead = LeadFactory(owner=sales_rep, status=Lead.Status.QUALIFIED)
    task = ActivityFactory(
        account=account,
        contact=contact,
        author=sales_rep,
        owner=sales_rep,
        kind=Activity.Kind.TASK,
        subject="Send the proposal",
        done=False,
        done_at=None,
        due_at=timezone.now() + dt.timedelta(days=2),
    )
    ActivityFactory(lead=lead, account=None, author=sales_rep, owner=sales_rep, subject="Met at the fair")
    return {
        "account": account,
        "contact": contact,
        "opportunity": opportunity,
        "contract": contract,
        "lead": lead,
        "task": task,
    }


def _pages(records) -> list[str]:
    a, c, o, k, lead = (records[n] for n in ("account", "contact", "opportunity", "contract", "lead"))
    return [
        reverse("home"),
        reverse("crm:account_list"),
        reverse("crm:contact_list"),
        reverse("crm:lead_list"),
        reverse("crm:opportunity_list"),
        reverse("crm:contract_list"),
        reverse("crm:activity_list"),
        reverse("crm:account_detail", args=[a.pk]),
        reverse("crm:account_edit", args=[a.pk]),
        reverse("crm:account_create"),
        reverse("crm:contact_detail", args=[c.pk]),
        reverse("crm:contact_edit", args=[c.pk]),
        reverse("crm:contact_create"),
        reverse("crm:lead_detail", args=[lead.pk]),
        reverse("crm:lead_edit", args=[lead.pk]),
        reverse("crm:lead_create"),
        reverse("crm:lead_convert", args=[lead.pk]),
        reverse("crm:opportunity_detail", args=[o.pk]),
        reverse("crm:opportunity_edit", args=[o.pk]),
        reverse("crm:opportunity_create"),
        reverse("crm:contract_detail", args=[k.pk]),
        reverse("crm:contract_edit", args=[k.pk]),
        reverse("crm:contract_create"),
        reverse("crm:account_options") + "?q=Acm",
    ]


DETAIL_URL_NAMES = [
    "crm:account_detail",
    "crm:account_edit",
    "crm:account_timeline",
    "crm:contact_detail",
    "crm:contact_edit",
    "crm:contact_timeline",
    "crm:lead_detail",
    "crm:lead_edit",
    "crm:lead_convert",
    "crm:lead_timeline",
    "crm:opportunity_detail",
    "crm:opportunity_edit",
    "crm:opportunity_timeline",
    "crm:contract_detail",
    "crm:contract_edit",
]


# --- Every page, every persona ----------------------------------------------------------------


def test_every_page_renders_for_a_sales_rep_without_inline_styles_or_scripts(rep_client, records):
    for url in _pages(records):
        response = rep_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        # The CSP allows scripts and styles only from 'self'.
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html), url


def test_external_user_gets_404_on_every_page(external_client, records):
    # The home page sends external users on to the portal; every CRM page is a plain 404.
    assert external_client.get(reverse("home")).url == reverse("portal:home")
    for url in _pages(records)[1:]:
        assert external_client.get(url).status_code == 404, url
    posts = [
        reverse("crm:contact_verify", args=[records["contact"].pk]),
        reverse("crm:activity_toggle_done", args=[records["task"].pk]),
        reverse("crm:activity_create"),
        reverse("crm:lead_convert", args=[records["lead"].pk]),
    ]
    for url in posts:
        assert external_client.post(url, {"target_type": "account", "target_id": 1}).status_code == 404, url
    records["task"].refresh_from_db()
    assert records["task"].done is False
    assert Lead.objects.get(pk=records["lead"].pk).status == Lead.Status.QUALIFIED


def test_anonymous_visitor_is_sent_to_sign_in(client, records):
    response = client.get(reverse("crm:account_detail", args=[records["account"].pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("url_name", DETAIL_URL_NAMES)
def test_a_record_that_does_not_exist_gets_404(rep_client, url_name):
    assert rep_client.get(reverse(url_name, args=[MISSING_PK]), HTTP_HX_REQUEST="true").status_code == 404


def test_posts_to_records_that_do_not_exist_get_404(rep_client):
    assert rep_client.post(reverse("crm:contact_verify", args=[MISSING_PK])).status_code == 404
    assert rep_client.post(reverse("crm:activity_toggle_done", args=[MISSING_PK])).status_code == 404
    data = {"kind": "call", "subject": "Hello", "target_type": "contact", "target_id": MISSING_PK}
    assert rep_client.post(reverse("crm:activity_create"), data).status_code == 404
    data["target_type"] = "user"
    assert rep_client.post(reverse("crm:activity_create"), data).status_code == 404
    assert not Activity.objects.exists()


def test_sign_in_page_is_the_styled_card_with_a_password_reset_link(client):
    response = client.get(reverse("account_login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "auth-card" in html
    assert reverse("account_reset_password") in html
    assert 'name="login"' in html
    assert 'name="password"' in html


def test_home_shows_my_work_and_passes_chart_data_as_json(rep_client, sales_rep, records):
    html = rep_client.get(reverse("home")).content.decode()
    assert "Send the proposal" in html
    assert records["lead"].full_name in html
    assert 'id="pipeline-data" type="application/json"' in html
    assert "js/pipeline-chart.js" in html


# --- Account 360 ------------------------------------------------------------------------------


def _account_page_queries(client, account) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("crm:account_detail", args=[account.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def _grow(account, owner, n: int) -> None:
    contacts = ContactFactory.create_batch(n, account=account, owner=owner)
    OpportunityFactory.create_batch(n, account=account, owner=owner)
    ContractFactory.create_batch(n, account=account, owner=owner, status=Contract.Status.EXPIRED)
    for i in range(n):
        ActivityFactory(account=account, contact=contacts[i], author=owner, owner=owner)


def test_account_page_costs_the_same_queries_with_3_and_60_records(rep_client, sales_rep):
    account = AccountFactory(owner=sales_rep)
    _grow(account, sales_rep, 3)
    few, _ = _account_page_queries(rep_client, account)

    _grow(account, sales_rep, 57)
    many, html = _account_page_queries(rep_client, account)
    assert many == few
    # Sections are sliced: 25 contacts shown, 20 activities, and a "Load more" for the rest.
    assert html.count('class="timeline-item ') == 20
    assert "Load more" in html
    assert "Showing 25 of 60" in html


def test_account_page_shows_customer_badge_pipeline_and_bounded_counts(rep_client, sales_rep, settings):
    account = AccountFactory(owner=sales_rep, name="Globex Corp")
    ContractFactory(account=account, owner=sales_rep, status=Contract.Status.ACTIVE)
    OpportunityFactory(account=account, owner=sales_rep, amount=Decimal("1500"), stage=Opportunity.Stage.PROPOSAL)
    html = rep_client.get(reverse("crm:account_detail", args=[account.pk])).content.decode()
    assert "Customer" in html
    assert "1,500" in html
    assert "1 open deal" in html


def test_account_timeline_load_more_continues_by_keyset(rep_client, sales_rep):
    account = AccountFactory(owner=sales_rep)
    now = timezone.now()
    for i in range(25):
        ActivityFactory(
            account=account, author=sales_rep, subject=f"Call {i:02d}", occurred_at=now - dt.timedelta(hours=i)
        )
    first = rep_client.get(reverse("crm:account_detail", args=[account.pk])).content.decode()
    assert "Call 00" in first
    assert "Call 19" in first
    assert "Call 20" not in first
    cursor = re.search(r'timeline/\?cursor=([\w-]+)"', first).group(1)

    more = rep_client.get(
        reverse("crm:account_timeline", args=[account.pk]), {"cursor": cursor}, HTTP_HX_REQUEST="true"
    )
    html = more.content.decode()
    assert more.status_code == 200
    assert [f"Call {i}" for i in range(20, 25)] == re.findall(r"Call 2\d", html)
    assert "Load more" not in html

    # Without JavaScript the link leads to the account page at that point of the timeline.
    plain = rep_client.get(reverse("crm:account_timeline", args=[account.pk]), {"cursor": cursor})
    assert plain.status_code == 302
    assert plain.url.startswith(reverse("crm:account_detail", args=[account.pk]) + "?cursor=")


# --- Activities -------------------------------------------------------------------------------


def test_logging_a_call_through_htmx_rerenders_the_timeline(rep_client, sales_rep, records):
    contact = records["contact"]
    data = {"kind": "call", "subject": "Talked budget", "body": "Q3", "target_type": "contact", "target_id": contact.pk}
    response = rep_client.post(reverse("crm:activity_create"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Talked budget" in response.content.decode()
    activity = Activity.objects.get(subject="Talked budget")
    assert (activity.contact, activity.account, activity.author, activity.done) == (
        contact,
        contact.account,
        sales_rep,
        True,
    )


def test_logging_without_javascript_redirects_back(rep_client, records):
    contract = records["contract"]
    next_url = reverse("crm:contract_detail", args=[contract.pk])
    data = {
        "kind": "note",
        "subject": "Renewal terms agreed",
        "target_type": "account",
        "target_id": contract.account.pk,
        "next": next_url,
    }
    response = rep_client.post(reverse("crm:activity_create"), data)
    assert response.status_code == 302
    assert response.url == next_url
    assert Activity.objects.filter(subject="Renewal terms agreed", account=contract.account).exists()


def test_logging_rejects_bad_input_and_an_offsite_next(rep_client, records):
    account = records["account"]
    before = Activity.objects.count()
    data = {"kind": "call", "subject": "  ", "target_type": "account", "target_id": account.pk}
    response = rep_client.post(reverse("crm:activity_create"), data, HTTP_HX_REQUEST="true")
    assert "is-invalid" in response.content.decode() or "invalid-feedback" in response.content.decode()
    data = {"kind": "task", "subject": "Follow up", "target_type": "account", "target_id": account.pk}
    response = rep_client.post(reverse("crm:activity_create"), data, HTTP_HX_REQUEST="true")
    assert "A task needs a due date." in response.content.decode()
    assert Activity.objects.count() == before

    data = {"kind": "call", "subject": "Ok", "target_type": "account", "target_id": account.pk}
    response = rep_client.post(reverse("crm:activity_create"), {**data, "next": "https://evil.example/"})
    assert response.url == account.get_absolute_url()


def test_task_done_toggle(rep_client, records):
    task = records["task"]
    url = reverse("crm:activity_toggle_done", args=[task.pk])
    response = rep_client.post(url, {"done": "1", "variant": "task"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="task-{task.pk}"' in response.content.decode()
    task.refresh_from_db()
    assert task.done
    assert task.done_at is not None

    response = rep_client.post(url, {"done": "0"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.done
    assert rep_client.get(url).status_code == 405


def test_contact_verify(rep_client, sales_rep, records):
    contact = records["contact"]
    url = reverse("crm:contact_verify", args=[contact.pk])
    assert rep_client.get(url).status_code == 405
    response = rep_client.post(url)
    assert response.status_code == 302
    assert response.url == contact.get_absolute_url()
    contact.refresh_from_db()
    assert contact.verified_by == sales_rep
    assert contact.verification_method == Contact.VerificationMethod.REP


# --- Forms ------------------------------------------------------------------------------------


def test_new_record_form_defaults_owner_to_me_and_offers_only_active_staff(rep_client, sales_rep, external_user):
    StaffFactory(email="gone@clientele.example", is_active=False)
    html = rep_client.get(reverse("crm:account_create")).content.decode()
    owner_select = re.search(r'<select name="owner".*?</select>', html, re.S).group(0)
    assert f'value="{sales_rep.pk}" selected' in owner_select
    assert "gone@clientele.example" not in owner_select
    assert external_user.email not in owner_select
    assert str(external_user) not in owner_select


def test_create_account_with_email_domains(rep_client, sales_rep):
    data = {
        "name": "Initech",
        "business_id": "US123",
        "country": "US",
        "website": "https://initech.example",
        "tier": "key",
        "owner": sales_rep.pk,
        "email_domains": "initech.example, @Initech.COM ,initech.example",
    }
    response = rep_client.post(reverse("crm:account_create"), data)
    account = Account.objects.get(name="Initech")
    assert response.status_code == 302
    assert response.url == account.get_absolute_url()
    assert sorted(account.email_domains.values_list("domain", flat=True)) == ["initech.com", "initech.example"]

    data["email_domains"] = "initech.com"
    data["name"] = "Initech Inc."
    rep_client.post(reverse("crm:account_edit", args=[account.pk]), data)
    account.refresh_from_db()
    assert account.name == "Initech Inc."
    assert list(account.email_domains.values_list("domain", flat=True)) == ["initech.com"]


def test_invalid_account_input_shows_field_errors_and_changes_nothing(rep_client, sales_rep, records):
    account = records["account"]
    data = {"name": "", "tier": "key", "owner": sales_rep.pk, "email_domains": "not a domain!"}
    response = rep_client.post(reverse("crm:account_edit", args=[account.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "is-invalid" in html
    assert "This field is required." in html
    assert "Not a domain" in html
    account.refresh_from_db()
    assert account.name == "Acme Corporation"
    assert list(account.email_domains.values_list("domain", flat=True)) == ["acme.example"]

    # A business id another account already has is a field error too.
    other = AccountFactory(owner=sales_rep)
    data = {"name": "Copy", "business_id": other.business_id, "tier": "key", "owner": sales_rep.pk}
    response = rep_client.post(reverse("crm:account_create"), data)
    assert response.status_code == 200
    assert not Account.objects.filter(name="Copy").exists()


def test_contact_phone_is_stored_as_e164_and_a_bad_one_is_rejected(rep_client, sales_rep, records):
    account = records["account"]
    data = {
        "account": account.pk,
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@acme.example",
        "phone": "+49 30 1234 5678",
        "owner": sales_rep.pk,
        "consent_to_contact": "on",
    }
    response = rep_client.post(reverse("crm:contact_create"), data)
    contact = Contact.objects.get(last_name="Hopper")
    assert response.url == contact.get_absolute_url()
    assert str(contact.phone) == "+493012345678"
    assert contact.consent_updated_at is not None

    response = rep_client.post(reverse("crm:contact_create"), {**data, "last_name": "Bad", "phone": "12ab"})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not Contact.objects.filter(last_name="Bad").exists()


def test_contract_ending_before_it_starts_is_a_field_error(rep_client, sales_rep, records):
    contract = records["contract"]
    original_end = contract.end_date
    data = {
        "account": contract.account.pk,
        "number": contract.number,
        "status": "active",
        "start_date": "2026-06-01",
        "end_date": "2026-05-01",
        "value": "1000",
        "currency": "EUR",
        "owner": sales_rep.pk,
    }
    response = rep_client.post(reverse("crm:contract_edit", args=[contract.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'name="end_date"[^>]*is-invalid|is-invalid[^>]*name="end_date"', html)
    assert "A contract cannot end before it starts." in html
    contract.refresh_from_db()
    assert contract.end_date == original_end

    data["end_date"] = "2027-05-31"
    response = rep_client.post(reverse("crm:contract_edit", args=[contract.pk]), data)
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.end_date == dt.date(2027, 5, 31)


def test_opportunity_create_and_won_must_be_certain(rep_client, sales_rep, records):
    data = {
        "account": records["account"].pk,
        "name": "Big deal",
        "stage": "won",
        "amount": "5000",
        "currency": "eur",
        "expected_close_date": "2026-12-31",
        "probability": "50",
        "owner": sales_rep.pk,
    }
    response = rep_client.post(reverse("crm:opportunity_create"), data)
    assert response.status_code == 200
    assert "A won deal is certain" in response.content.decode()
    assert not Opportunity.objects.filter(name="Big deal").exists()

    response = rep_client.post(reverse("crm:opportunity_create"), {**data, "probability": "100"})
    opportunity = Opportunity.objects.get(name="Big deal")
    assert response.url == opportunity.get_absolute_url()
    assert opportunity.currency == "EUR"


def test_opportunity_form_only_accepts_visible_accounts(rep_client, sales_rep):
    data = {
        "account": MISSING_PK,
        "name": "Ghost",
        "stage": "proposal",
        "amount": "1",
        "currency": "EUR",
        "expected_close_date": "2026-12-31",
        "probability": "50",
        "owner": sales_rep.pk,
    }
    response = rep_client.post(reverse("crm:opportunity_create"), data)
    assert response.status_code == 200
    assert not Opportunity.objects.filter(name="Ghost").exists()


def test_lead_create_and_invalid_score(rep_client, sales_rep):
    data = {"first_name": "Ada", "last_name": "Lovelace", "source": "web", "status": "new", "score": "40"}
    data["owner"] = sales_rep.pk
    response = rep_client.post(reverse("crm:lead_create"), data)
    lead = Lead.objects.get(last_name="Lovelace")
    assert response.url == lead.get_absolute_url()

    response = rep_client.post(reverse("crm:lead_edit", args=[lead.pk]), {**data, "score": "150"})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.score == 40
    # "Converted" is not offered: conversion has its own page.
    response = rep_client.post(reverse("crm:lead_edit", args=[lead.pk]), {**data, "status": "converted"})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


# --- Lead conversion --------------------------------------------------------------------------


def test_convert_page_offers_the_account_of_the_leads_business_id_preselected(rep_client, sales_rep):
    AccountFactory(owner=sales_rep, business_id="CH-42", name="Known AG")
    lead = LeadFactory(owner=sales_rep, company_business_id="CH-42")
    html = rep_client.get(reverse("crm:lead_convert", args=[lead.pk])).content.decode()
    assert "Link to the existing account Known AG" in html
    assert "Matched by business id CH-42" in html
    assert re.search(r'value="matched"[^>]*checked|checked[^>]*value="matched"', html)
    assert 'value="existing"' in html  # another account can still be picked
    assert 'value="new"' in html  # or a new one created


def test_the_globex_lead_is_linked_to_the_account_of_its_email_domain_through_the_page(rep_client, sales_rep):
    globex = AccountFactory(name="Globex", business_id=None, website="")
    AccountDomain.objects.create(account=globex, domain="globex.example")
    lead = LeadFactory(owner=sales_rep, email="hank@globex.example", company_name="Globex", company_business_id="")
    url = reverse("crm:lead_convert", args=[lead.pk])

    html = rep_client.get(url).content.decode()
    assert "Link to the existing account Globex" in html
    assert "Matched by email domain globex.example" in html

    response = rep_client.post(url, {"mode": "matched"})
    assert response.status_code == 302
    assert response.url == globex.get_absolute_url()
    lead.refresh_from_db()
    assert lead.converted_account == globex
    assert Account.objects.count() == 1


def test_a_new_account_can_be_chosen_over_the_match(rep_client, sales_rep):
    globex = AccountFactory(name="Globex", business_id=None, website="")
    AccountDomain.objects.create(account=globex, domain="globex.example")
    lead = LeadFactory(
        owner=sales_rep, email="mindy@globex.example", company_name="Globex Labs", company_business_id=""
    )

    rep_client.post(reverse("crm:lead_convert", args=[lead.pk]), {"mode": "new"})

    lead.refresh_from_db()
    assert lead.converted_account.name == "Globex Labs"
    assert Account.objects.count() == 2


def test_without_a_match_the_page_offers_a_new_or_an_existing_account(rep_client, sales_rep):
    lead = LeadFactory(owner=sales_rep, company_name="Nobody We Know Ltd", email="x@nobody-we-know.example")
    html = rep_client.get(reverse("crm:lead_convert", args=[lead.pk])).content.decode()
    assert 'value="matched"' not in html
    assert re.search(r'value="new"[^>]*checked|checked[^>]*value="new"', html)


def test_convert_a_lead_into_a_new_account_through_the_page(rep_client, sales_rep):
    lead = LeadFactory(owner=sales_rep, company_name="Prospect One AG", email="pia@prospect-one.example")
    data = {
        "mode": "new",
        "opportunity_name": "Pilot",
        "opportunity_amount": "12000",
        "opportunity_close_date": "2026-12-31",
    }
    response = rep_client.post(reverse("crm:lead_convert", args=[lead.pk]), data)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    assert response.status_code == 302
    assert response.url == lead.converted_account.get_absolute_url()
    assert lead.converted_account.name == "Prospect One AG"
    assert lead.converted_opportunity.amount == Decimal("12000")
    assert lead.converted_contact.email == "pia@prospect-one.example"

    lead_page = rep_client.get(lead.get_absolute_url()).content.decode()
    assert reverse("crm:lead_convert", args=[lead.pk]) not in lead_page
    assert lead.converted_account.get_absolute_url() in lead_page

    # Converting again is a broken business rule: a message, back to the lead, nothing changes.
    accounts = Account.objects.count()
    response = rep_client.post(reverse("crm:lead_convert", args=[lead.pk]), data, follow=True)
    assert response.redirect_chain[-1][0] == lead.get_absolute_url()
    assert "already been converted" in response.content.decode()
    assert Account.objects.count() == accounts


def test_convert_into_an_existing_account_and_form_errors(rep_client, sales_rep, records):
    lead = LeadFactory(owner=sales_rep)
    url = reverse("crm:lead_convert", args=[lead.pk])
    response = rep_client.post(url, {"mode": "existing"})
    assert response.status_code == 200
    assert "Choose the account this lead belongs to." in response.content.decode()
    response = rep_client.post(url, {"mode": "new", "opportunity_amount": "5"})
    assert "Name the opportunity" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status != Lead.Status.CONVERTED

    response = rep_client.post(url, {"mode": "existing", "account": records["account"].pk})
    lead.refresh_from_db()
    assert response.url == records["account"].get_absolute_url()
    assert lead.converted_account == records["account"]


def test_a_lead_without_a_company_must_be_linked_to_an_existing_account(rep_client, sales_rep):
    lead = LeadFactory(owner=sales_rep, company_name="", company_business_id="")
    response = rep_client.post(reverse("crm:lead_convert", args=[lead.pk]), {"mode": "new"})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode() or "invalid-feedback" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status != Lead.Status.CONVERTED


def test_the_owner_picker_lists_active_staff_and_keeps_a_departed_owner_on_edit(client, sales_rep):
    from tests.factories import UserFactory

    departed = StaffFactory(first_name="Dora", last_name="Departed", is_active=False)
    portal_user = UserFactory(first_name="Paula", last_name="Portal")
    account = AccountFactory(owner=departed)
    client.force_login(StaffFactory(staff_role="sales_manager"))

    new_form = client.get(reverse("crm:account_create")).context["form"]
    edit_form = client.get(reverse("crm:account_edit", args=[account.pk])).context["form"]

    offered = set(new_form.fields["owner"].queryset)
    assert sales_rep in offered
    assert departed not in offered
    assert portal_user not in offered
    assert set(edit_form.fields["owner"].queryset) == offered | {departed}


def test_a_quick_log_on_an_account_refreshes_its_last_activity_card(rep_client, sales_rep, records):
    """#15: the "Last activity" card sits outside the timeline panel; it comes back out of band."""
    account = records["contact"].account
    data = {"kind": "call", "subject": "Agreed the renewal", "target_type": "account", "target_id": account.pk}

    html = rep_client.post(reverse("crm:activity_create"), data, HTTP_HX_REQUEST="true").content.decode()

    card = html.split('id="last-activity" hx-swap-oob="true"', 1)[1]
    assert "Call: Agreed the renewal" in card
    page = rep_client.get(account.get_absolute_url()).content.decode()
    assert 'id="last-activity"' in page
    assert "Call: Agreed the renewal" in page.split('id="last-activity"', 1)[1]
