"""The data-health page: personas, reads from the snapshot at a constant query count, and the
one-click "send reconfirmation to these" job with its progress."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import ReconfirmationRun
from analytics.services import data_health_refresh
from crm.decay import Freshness
from crm.models import Contact
from iam.models import AuditEvent, User
from reviews.selectors import COVERAGE_CACHE_KEY
from tests.decay.factories import stale_portal_user, verified
from tests.factories import AccountFactory, ContractFactory, StaffFactory

pytestmark = pytest.mark.django_db

URL = "/data-health/"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def manager():
    return StaffFactory(staff_role=User.StaffRole.SALES_MANAGER, first_name="Mia", last_name="Manager")


def _crm(rep, accounts: int = 2, per_account: int = 3):
    made = []
    for _ in range(accounts):
        account = ContractFactory(account=AccountFactory(owner=rep)).account
        for n in range(per_account):
            verified([10, 250, 500][n % 3], account=account, owner=rep)
        made.append(account)
    return made


def test_route_and_sidebar(sales_rep, rep_client):
    assert reverse("analytics:data_health") == URL
    response = rep_client.get(URL)
    assert response.status_code == 200
    assert b'href="/data-health/"' in response.content
    assert b"nav-link active" in response.content


def test_without_a_snapshot_the_page_says_when_one_comes(rep_client):
    response = rep_client.get(URL)
    assert b"No snapshot yet" in response.content


def test_outsiders_get_404_and_visitors_the_sign_in(external_client):
    assert external_client.get(URL).status_code == 404
    response = Client().get(URL)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert external_client.post(reverse("analytics:reconfirmation_run_create"), {"owner": 1}).status_code == 404
    assert not ReconfirmationRun.objects.exists()


def test_the_page_shows_stale_shares_overall_by_owner_and_account_and_the_trend(manager, sales_rep):
    accounts = _crm(sales_rep)
    data_health_refresh()
    response = _client(manager).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "33.3 %" in html  # 2 stale of 6
    assert accounts[0].name in html
    assert accounts[1].name in html
    assert str(sales_rep) in html
    assert 'id="data-health-data"' not in html  # one snapshot: no trend yet, a sentence instead
    assert "The trend appears after the second daily snapshot" in html


def test_query_count_does_not_grow_with_the_crm(manager, other_rep):
    def page_queries() -> int:
        data_health_refresh()
        cache.delete(COVERAGE_CACHE_KEY)  # counted uncached, both times
        client = _client(manager)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    _crm(other_rep, accounts=2, per_account=3)
    small = page_queries()
    _crm(StaffFactory(), accounts=12, per_account=6)
    _crm(StaffFactory(), accounts=3, per_account=3)
    large = page_queries()
    assert small == large
    # 14, six for the loops (reviews, departures, decay caught), and five for who reaches the rest
    # (org-admin coverage, customers without an org admin, the reps' weekly lists).
    assert large <= 25, large


def test_a_manager_may_send_for_any_account_a_rep_only_for_their_own(manager, sales_rep, other_rep):
    mine = _crm(sales_rep, accounts=1)[0]
    theirs = _crm(other_rep, accounts=1)[0]
    data_health_refresh()
    rep_html = _client(sales_rep).get(URL).content.decode()
    assert f'name="account" value="{mine.pk}"' in rep_html
    assert f'name="account" value="{theirs.pk}"' not in rep_html
    manager_html = _client(manager).get(URL).content.decode()
    assert f'name="account" value="{mine.pk}"' in manager_html
    assert f'name="account" value="{theirs.pk}"' in manager_html


def test_send_reconfirmation_to_an_accounts_stale_contacts_runs_as_a_job(sales_rep, django_capture_on_commit_callbacks):
    membership = stale_portal_user(account=ContractFactory(account=AccountFactory(owner=sales_rep)).account)
    stale_portal_user()  # another account's: not in this run
    data_health_refresh()
    client = _client(sales_rep)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("analytics:reconfirmation_run_create"), {"account": membership.account_id})
    run = ReconfirmationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?run={run.pk}#runs")
    assert (run.status, run.sent, run.requested_by) == (ReconfirmationRun.Status.DONE, 1, sales_rep)
    assert [m.to for m in mail.outbox] == [[membership.contact.email]]
    status = client.get(reverse("analytics:reconfirmation_run_status", args=[run.pk]))
    assert b"1 reconfirmation email sent" in status.content
    assert b"hx-trigger" not in status.content  # finished: polling stops
    page = client.get(URL)
    assert b"1 reconfirmation email sent" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("analytics:reconfirmation_run_create"), {"account": membership.account_id})
    again = ReconfirmationRun.objects.order_by("-pk").first()
    assert (again.status, again.sent, again.skipped) == (ReconfirmationRun.Status.DONE, 0, 1)
    assert len(mail.outbox) == 1  # the interval holds for a person's click too


def test_a_queued_run_shows_progress_and_polls(sales_rep):
    account = AccountFactory(owner=sales_rep)
    run = ReconfirmationRun.objects.create(requested_by=sales_rep, account=account)
    response = _client(sales_rep).get(reverse("analytics:reconfirmation_run_status", args=[run.pk]))
    assert b"Queued" in response.content
    assert b'hx-trigger="every 2s"' in response.content


def test_a_rep_may_not_send_for_another_reps_account_and_nothing_happens(
    sales_rep, other_rep, django_capture_on_commit_callbacks
):
    membership = stale_portal_user(account=ContractFactory(account=AccountFactory(owner=other_rep)).account)
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(sales_rep).post(
            reverse("analytics:reconfirmation_run_create"), {"account": membership.account_id}, follow=True
        )
    assert b"You may not send reconfirmations for these contacts" in response.content
    assert not ReconfirmationRun.objects.exists()
    assert mail.outbox == []
    assert Contact.objects.get(pk=membership.contact_id).last_reconfirmation_sent_at is None
    with django_capture_on_commit_callbacks(execute=True):
        _client(sales_rep).post(reverse("analytics:reconfirmation_run_create"), {"owner": other_rep.pk})
    assert not ReconfirmationRun.objects.exists()


def test_another_users_run_is_a_404(sales_rep, other_rep):
    run = ReconfirmationRun.objects.create(requested_by=other_rep, owner=other_rep)
    assert _client(sales_rep).get(reverse("analytics:reconfirmation_run_status", args=[run.pk])).status_code == 404


def test_mark_verified_on_the_contact_page_makes_it_fresh_and_audits(sales_rep, rep_client):
    contact = verified(600, owner=sales_rep)
    page = rep_client.get(contact.get_absolute_url())
    assert b"Mark verified" in page.content
    assert b"Stale" in page.content
    rep_client.post(reverse("crm:contact_verify", args=[contact.pk]))
    contact.refresh_from_db()
    assert (contact.freshness, contact.verified_by, contact.verification_method) == (
        Freshness.FRESH,
        sales_rep,
        Contact.VerificationMethod.REP,
    )
    assert AuditEvent.objects.filter(action="crm.contact.verified", target_id=str(contact.pk)).exists()


def test_the_contact_list_filters_on_the_stored_state(rep_client):
    fresh, stale = verified(10), verified(600)
    html = rep_client.get("/contacts/?freshness=stale").content.decode()
    assert stale.last_name in html
    assert f"/contacts/{fresh.pk}/" not in html


def test_a_run_for_an_id_that_is_not_a_number_is_a_404(rep_client):
    for field in ("account", "owner"):
        response = rep_client.post(reverse("analytics:reconfirmation_run_create"), {field: "1 OR 1=1"})
        assert response.status_code == 404
    assert not ReconfirmationRun.objects.exists()
