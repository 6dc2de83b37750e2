"""The account matcher: business id, then email domain, then a similar name; with its evidence."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.matching import account_match
from crm.models import AccountDomain
from tests.factories import AccountFactory, ContractFactory

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm similarity is PostgreSQL's")


def _with_domain(domain: str, **fields):
    account = AccountFactory(**fields)
    AccountDomain.objects.create(account=account, domain=domain)
    return account


def test_the_business_id_matches_in_any_of_its_national_spellings():
    acme = AccountFactory(name="Acme GmbH", business_id="DE811907980", country="DE")
    match = account_match(business_id="811907980", country="DE")
    assert match.account == acme
    assert (match.on, match.value, match.score, match.conclusive) == ("business_id", "DE811907980", 1.0, True)
    assert match.description == "business id DE811907980"


def test_the_business_id_wins_over_the_email_domain():
    by_id = AccountFactory(business_id="CZ27082440")
    _with_domain("quantix.example")
    match = account_match(business_id="CZ27082440", email="eva@quantix.example", company_name="Quantix")
    assert match.account == by_id
    assert match.on == "business_id"


def test_the_email_domain_matches_an_account_that_has_it(django_assert_max_num_queries):
    globex = _with_domain("globex.example", name="Globex", website="https://globex.example")
    with django_assert_max_num_queries(2):
        match = account_match(email="Hank.Scorpio@GLOBEX.example", company_name="Globex Corporation")
    assert match.account == globex
    assert (match.on, match.value, match.conclusive) == ("email_domain", "globex.example", True)
    assert match.evidence == {"account": globex.pk, "on": "email_domain", "value": "globex.example", "score": 1.0}


def test_a_webmail_domain_says_nothing_about_a_company():
    _with_domain("gmail.com", name="Careless Ltd")
    assert account_match(email="someone@gmail.com") is None


def test_a_domain_two_accounts_share_names_the_customer_among_them_or_nobody():
    first = _with_domain("shared.example")
    second = _with_domain("shared.example")
    assert account_match(email="x@shared.example") is None
    ContractFactory(account=second)
    assert account_match(email="x@shared.example").account == second
    ContractFactory(account=first)
    assert account_match(email="x@shared.example") is None


def test_a_name_is_a_suggestion_not_a_conclusive_match():
    initech = AccountFactory(name="Initech", country="US", website="")
    match = account_match(company_name="INITECH", country="US")
    assert match.account == initech
    assert (match.on, match.conclusive) == ("name", False)
    assert match.score == pytest.approx(1.0)
    assert match.account.is_customer is False  # the flag comes with the match, no extra query


def test_the_same_name_in_another_country_is_another_company():
    AccountFactory(name="Acme Oy", country="FI")
    assert account_match(company_name="Acme Oy", country="SE") is None
    assert account_match(company_name="Acme Oy", country="FI").on == "name"


@on_postgresql
def test_a_similar_name_matches_with_its_similarity_on_postgresql():
    globex = AccountFactory(name="Globex Corporation", country="US")
    AccountFactory(name="Globe Media", country="US")
    match = account_match(company_name="Globex Corp", country="US")
    assert match.account == globex
    assert 0.5 <= match.score < 1
    assert match.description.startswith("similar name “Globex Corporation” (")
    assert account_match(company_name="Umbrella", country="US") is None


@on_postgresql
def test_the_name_lookup_is_served_by_the_trigram_index():
    AccountFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        account_match(company_name="Globex Corp")
    (name_query,) = [q["sql"] for q in queries.captured_queries if 'FROM "crm_account"' in q["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # three rows: make the planner show what it can use
        cursor.execute(f"EXPLAIN {name_query}")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "crm_account_name_trgm" in plan


def test_no_evidence_no_match():
    AccountFactory(name="Something Else AG")
    assert account_match() is None
    assert account_match(business_id="  ", email="nobody@nowhere.example", company_name="Unknown Ltd") is None


@on_postgresql
def test_the_name_lookup_gives_the_callers_transaction_its_trigram_threshold_back():
    AccountFactory(name="Globex Corporation", country="US")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)")
        assert account_match(company_name="Globex Corp").on == "name"
        cursor.execute("SELECT current_setting('pg_trgm.similarity_threshold')")
        assert cursor.fetchone()[0] == "0.2"
