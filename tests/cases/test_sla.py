"""SLA clock arithmetic: business hours, weekends, holidays, time zones, and pauses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.models import Case
from cases.services import case_reply, case_set_status
from cases.sla import ALWAYS, BusinessCalendar, add_business_time, business_time_between
from tests.factories import ContractFactory, ServiceLevelFactory, StaffFactory, make_case

HEL = ZoneInfo("Europe/Helsinki")
NY = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar.build(time_zone="Europe/Helsinki", opens=dt.time(8), closes=dt.time(17), weekdays=range(5))


def at(*args, tz=HEL) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def test_within_one_working_day():
    assert add_business_time(at(2026, 12, 1, 9), dt.timedelta(hours=4), OFFICE) == at(2026, 12, 1, 13)


def test_friday_afternoon_rolls_over_the_weekend():
    # Friday 4 Dec 16:00 + 4 business hours: 1 hour on Friday, 3 on Monday from 8:00.
    assert add_business_time(at(2026, 12, 4, 16), dt.timedelta(hours=4), OFFICE) == at(2026, 12, 7, 11)


def test_raised_at_night_starts_counting_when_the_office_opens():
    assert add_business_time(at(2026, 12, 1, 22), dt.timedelta(hours=1), OFFICE) == at(2026, 12, 2, 9)


def test_holidays_are_skipped():
    christmas = BusinessCalendar.build(
        time_zone="Europe/Helsinki",
        opens=dt.time(8),
        closes=dt.time(17),
        weekdays=range(5),
        holidays=[dt.date(2026, 12, 24), dt.date(2026, 12, 25)],
    )
    # Wednesday 23 Dec 16:00 + 2h: 1h on Wednesday, Thursday and Friday are holidays, 1h on Monday 28th.
    assert add_business_time(at(2026, 12, 23, 16), dt.timedelta(hours=2), christmas) == at(2026, 12, 28, 9)


def test_time_zone_of_the_calendar_not_of_the_request():
    # 14:00 in New York is 21:00 in Helsinki: after hours there, so the clock starts next morning.
    due = add_business_time(at(2026, 12, 1, 14, tz=NY), dt.timedelta(hours=1), OFFICE)
    assert due == at(2026, 12, 2, 9)
    assert due.tzinfo == NY  # answered in the zone it was asked in


def test_daylight_saving_change_counts_real_hours():
    # Clocks in Helsinki go forward on Sunday 29 March 2026 at 03:00; a 24/7 local-time calendar
    # with a time zone counts the 23-hour day as 23 hours.
    round_clock = BusinessCalendar.build(
        time_zone="Europe/Helsinki",
        opens=dt.time(0),
        closes=dt.time(0),
        weekdays=range(7),
        holidays=[dt.date(2000, 1, 1)],
    )
    start = at(2026, 3, 29, 0)
    assert add_business_time(start, dt.timedelta(hours=24), round_clock) == at(2026, 3, 30, 1)


def test_business_time_between_is_the_inverse():
    start = at(2026, 12, 4, 15, 30)
    for hours in (0.5, 3, 9, 20, 45):
        end = add_business_time(start, dt.timedelta(hours=hours), OFFICE)
        assert business_time_between(start, end, OFFICE) == dt.timedelta(hours=hours)


def test_always_open_calendar_is_plain_arithmetic():
    start = at(2026, 12, 5, 23)
    assert add_business_time(start, dt.timedelta(hours=2), ALWAYS) == start + dt.timedelta(hours=2)


@pytest.mark.django_db
def test_case_clocks_come_from_the_contracts_service_level():
    contract = ContractFactory()
    ServiceLevelFactory(contract=contract)
    with time_machine.travel(at(2026, 12, 4, 16), tick=False):  # Friday 16:00 Helsinki
        case = make_case(account=contract.account, actor=StaffFactory())
    assert case.first_response_due_at == at(2026, 12, 7, 11)  # 4 business hours
    assert case.resolution_due_at == at(2026, 12, 8, 16)  # 18 business hours
    assert case.sla_state == Case.SlaState.OK


@pytest.mark.django_db
def test_urgent_cases_get_a_quarter_of_the_time():
    contract = ContractFactory()
    ServiceLevelFactory(contract=contract)
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):
        case = make_case(account=contract.account, actor=StaffFactory(), severity="urgent")
    assert case.first_response_due_at == at(2026, 12, 1, 10)


@pytest.mark.django_db
def test_waiting_on_the_customer_pauses_the_resolution_clock():
    contract = ContractFactory()
    ServiceLevelFactory(contract=contract)
    staff = StaffFactory()
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):  # Tuesday
        case = make_case(account=contract.account, actor=staff)
    assert case.resolution_due_at == at(2026, 12, 3, 9)
    with time_machine.travel(at(2026, 12, 1, 11), tick=False):
        case_reply(actor=staff, case=case, body="Which browser?", status=Case.Status.WAITING)
    # The customer answers two business days later: the clock resumes with its 16 hours left.
    with time_machine.travel(at(2026, 12, 3, 11), tick=False):
        case_reply(actor=None, case=case, body="Firefox", author_email="x@customer.example")
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert case.first_responded_at == at(2026, 12, 1, 11)
    assert case.resolution_due_at == at(2026, 12, 7, 9)  # Thu 11-17 (6h) + Fri (9h) + Monday 8-9
    assert case.paused_at is None


@pytest.mark.django_db
def test_resolving_and_reopening_keeps_what_was_left():
    contract = ContractFactory()
    ServiceLevelFactory(contract=contract)
    staff = StaffFactory()
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):
        case = make_case(account=contract.account, actor=staff)
    with time_machine.travel(at(2026, 12, 1, 10), tick=False):
        case = case_set_status(actor=staff, case=case, status=Case.Status.RESOLVED)
    assert case.resolved_at == at(2026, 12, 1, 10)
    with time_machine.travel(at(2026, 12, 8, 8), tick=False):
        case = case_set_status(actor=staff, case=case, status=Case.Status.OPEN)
    assert case.resolved_at is None
    assert case.resolution_due_at == at(2026, 12, 9, 16)  # 17 business hours from Tuesday 8:00
