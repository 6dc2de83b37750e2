"""The SLA beat job: amber near a target, red past it, escalation once, paused cases left alone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.breach import cases_sla_scan
from cases.models import Case
from cases.services import case_assign, case_reply
from iam.models import User
from notifications.models import Notification
from tests.factories import ContractFactory, ServiceLevelFactory, StaffFactory, make_case

HEL = ZoneInfo("Europe/Helsinki")
pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=HEL)


@pytest.fixture
def setup():
    contract = ContractFactory()
    ServiceLevelFactory(contract=contract)
    agent = StaffFactory(staff_role=User.StaffRole.SERVICE_DESK)
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):  # Tuesday: first response due 13:00
        case = make_case(account=contract.account, actor=agent)
        case_assign(actor=manager, case=case, assignee=agent)
    return case, agent, manager


def test_near_breach_turns_amber_and_tells_the_assignee(setup):
    case, agent, _manager = setup
    result = cases_sla_scan(now=at(2026, 12, 1, 12, 5))  # 75 % of 4 hours is 12:00
    case.refresh_from_db()
    assert case.sla_state == Case.SlaState.AMBER
    assert (result.amber, result.red) == (1, 0)
    assert list(Notification.objects.filter(kind="case.breached").values_list("recipient", flat=True)) == [agent.pk]


def test_breach_turns_red_and_escalates_to_the_manager_once(setup):
    case, agent, manager = setup
    now = at(2026, 12, 1, 13, 30)
    first = cases_sla_scan(now=now)
    second = cases_sla_scan(now=now)  # a re-run changes and notifies nothing
    case.refresh_from_db()
    assert case.sla_state == Case.SlaState.RED
    assert (first.red, second.red, second.amber, second.notified) == (1, 0, 0, 0)
    breached = Notification.objects.filter(kind="case.breached", dedupe_key=f"case-breach:{case.pk}:red")
    assert set(breached.values_list("recipient", flat=True)) == {agent.pk, manager.pk}
    assert breached.get(recipient=manager).url == case.get_absolute_url()


def test_a_first_response_in_time_stops_that_clock(setup):
    case, agent, _manager = setup
    with time_machine.travel(at(2026, 12, 1, 10), tick=False):
        case_reply(actor=agent, case=case, body="Looking into it.")
    assert cases_sla_scan(now=at(2026, 12, 1, 14)).red == 0


def test_cases_waiting_on_the_customer_do_not_breach(setup):
    case, agent, _manager = setup
    with time_machine.travel(at(2026, 12, 1, 10), tick=False):
        case_reply(actor=agent, case=case, body="Which browser?", status=Case.Status.WAITING)
    assert cases_sla_scan(now=at(2026, 12, 20, 10)).red == 0
    case.refresh_from_db()
    assert case.sla_state == Case.SlaState.OK


def test_the_beat_task_runs_the_scan(setup):
    from cases.tasks import cases_sla_scan_task

    _case, _agent, _manager = setup
    with time_machine.travel(at(2026, 12, 9, 10), tick=False):
        assert cases_sla_scan_task.delay().get()["red"] == 1
        assert cases_sla_scan_task.delay().get()["red"] == 0
