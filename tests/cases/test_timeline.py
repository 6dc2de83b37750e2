"""Cases on the account's (and contact's) activity timeline, in time order with the activities."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import Case
from crm.services import activity_log
from iam.models import User
from tests.factories import AccountFactory, ContactFactory, StaffFactory, make_case

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


def _log(actor, account, subject, when):
    return activity_log(actor=actor, kind="call", subject=subject, account=account, occurred_at=when)


def test_the_account_timeline_shows_its_cases_between_its_activities():
    agent = StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)
    contact = ContactFactory()
    account = contact.account
    now = timezone.now()
    client = _client(agent)
    _log(agent, account, "Older call", now - dt.timedelta(days=2))
    case = make_case(account=account, contact=contact, subject="Export is broken")
    Case.objects.filter(pk=case.pk).update(created_at=now - dt.timedelta(days=1))
    _log(agent, account, "Newer call", now)
    make_case(account=AccountFactory(), subject="Someone else's case")
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "Export is broken" in timeline
    assert "Someone else&#x27;s case" not in timeline
    assert timeline.index("Newer call") < timeline.index("Export is broken") < timeline.index("Older call")
    contact_page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Export is broken" in contact_page[contact_page.index('id="timeline"') :]


def test_each_case_is_on_one_timeline_page_and_the_page_costs_the_same(django_assert_max_num_queries):
    agent = StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)
    account = AccountFactory()
    client = _client(agent)
    now = timezone.now()
    for day in range(45):  # three pages of 20 activities
        _log(agent, account, f"Call {day}", now - dt.timedelta(days=day))
    old = make_case(account=account, subject="Old case")
    Case.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=30, hours=12))
    with django_assert_max_num_queries(80) as few:
        first = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Old case" not in first[first.index('id="timeline"') :]
    for _ in range(5):
        make_case(account=account)
    with django_assert_max_num_queries(80) as many:
        client.get(f"/accounts/{account.pk}/")
    assert len(few.captured_queries) == len(many.captured_queries)
    import re

    cursor = re.search(r'hx-get="[^"]*\?cursor=([^"&]+)"', first[first.index('id="timeline"') :]).group(1)
    second = client.get(f"/accounts/{account.pk}/timeline/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert "Old case" in second


def test_a_lead_timeline_is_not_touched():
    from tests.factories import LeadFactory

    agent = StaffFactory(staff_role=User.StaffRole.SALES_REP)
    lead = LeadFactory(owner=agent)
    activity_log(actor=agent, kind="call", subject="Intro call", lead=lead)
    page = _client(agent).get(f"/leads/{lead.pk}/").content.decode()
    assert "Intro call" in page
