"""Operations set up service levels, holidays and case categories in the UI and the admin.

Personas: operations (may), a sales manager (403), a portal org admin (the staff-only 404).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from cases.models import Case, CaseCategory, Holiday, ServiceLevel
from iam.models import AuditEvent, User
from tests.factories import ContractFactory, MembershipFactory, StaffFactory, make_case

pytestmark = pytest.mark.django_db

LEVEL = {
    "name": "Standard support",
    "applies_to": "default",
    "tier": "",
    "contract_number": "",
    "first_response_minutes": "240",
    "resolution_minutes": "2400",
    "warn_percent": "75",
    "time_zone": "Europe/Berlin",
    "opens": "08:00",
    "closes": "17:00",
    "working_days": ["0", "1", "2", "3", "4"],
    "includes": "Email and portal support on working days.",
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def ops():
    return StaffFactory(staff_role=User.StaffRole.OPERATIONS)


def test_ops_set_up_the_default_level_and_new_cases_get_clocks(ops):
    client = _client(ops)
    assert client.get("/cases/setup/").status_code == 200
    response = client.post("/cases/setup/levels/new/", LEVEL)
    level = ServiceLevel.objects.get()
    assert response.status_code == 302
    assert (level.is_default, level.time_zone, level.weekdays, level.first_response_minutes) == (
        True,
        "Europe/Berlin",
        "01234",
        240,
    )
    assert AuditEvent.objects.filter(action="cases.service_level.created", actor=ops).exists()
    case = make_case(membership=MembershipFactory(roles=["buyer"]))
    assert case.service_level == level
    assert case.first_response_due_at is not None
    assert case.sla_state == Case.SlaState.OK


def test_holidays_are_added_and_removed_with_audit(ops):
    client = _client(ops)
    client.post("/cases/setup/levels/new/", LEVEL)
    level = ServiceLevel.objects.get()
    response = client.post(f"/cases/setup/levels/{level.pk}/holidays/", {"date": "2026-12-24", "name": "Christmas Eve"})
    assert response.status_code == 302
    holiday = level.holidays.get()
    assert (holiday.date, holiday.name) == (dt.date(2026, 12, 24), "Christmas Eve")
    again = client.post(f"/cases/setup/levels/{level.pk}/holidays/", {"date": "2026-12-24"})
    assert again.status_code == 400
    assert "already a holiday" in again.content.decode()
    assert dt.date(2026, 12, 24) in level.calendar().holidays
    assert client.post(f"/cases/setup/holidays/{holiday.pk}/remove/").status_code == 302
    assert not Holiday.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"cases.service_level.holiday_added", "cases.service_level.holiday_removed"} <= actions


def test_a_contract_level_wins_over_the_default(ops):
    client = _client(ops)
    client.post("/cases/setup/levels/new/", LEVEL)
    contract = ContractFactory()
    gold = {**LEVEL, "name": "Gold", "applies_to": "contract", "contract_number": contract.number}
    assert client.post("/cases/setup/levels/new/", gold).status_code == 302
    level = ServiceLevel.objects.get(name="Gold")
    assert (level.contract, level.is_default) == (contract, False)
    case = make_case(account=contract.account)
    assert case.service_level == level
    unknown = client.post("/cases/setup/levels/new/", {**gold, "name": "X", "contract_number": "NOPE"})
    assert unknown.status_code == 400
    assert "no contract with that number" in unknown.content.decode()
    assert ServiceLevel.objects.count() == 2


def test_a_new_default_takes_over_from_the_old_one(ops):
    client = _client(ops)
    client.post("/cases/setup/levels/new/", LEVEL)
    client.post("/cases/setup/levels/new/", {**LEVEL, "name": "New default"})
    assert list(ServiceLevel.objects.filter(is_default=True).values_list("name", flat=True)) == ["New default"]


def test_bad_input_changes_nothing(ops):
    client = _client(ops)
    bad = {**LEVEL, "time_zone": "Mars/Olympus", "working_days": []}
    response = client.post("/cases/setup/levels/new/", bad)
    assert response.status_code == 400
    assert "time zone name" in response.content.decode()
    assert not ServiceLevel.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="cases.service_level").exists()


def test_ops_edit_a_level_and_the_audit_says_what_changed(ops):
    client = _client(ops)
    client.post("/cases/setup/levels/new/", LEVEL)
    level = ServiceLevel.objects.get()
    assert client.get(f"/cases/setup/levels/{level.pk}/").status_code == 200
    client.post(f"/cases/setup/levels/{level.pk}/", {**LEVEL, "first_response_minutes": "60"})
    event = AuditEvent.objects.get(action="cases.service_level.updated")
    assert event.data == {"first_response_minutes": {"old": 240, "new": 60}}
    assert client.post(f"/cases/setup/levels/{level.pk}/delete/").status_code == 302
    assert not ServiceLevel.objects.exists()


def test_categories_are_added_retired_and_offered_accordingly(ops):
    client = _client(ops)
    response = client.post(
        "/cases/setup/categories/new/", {"key": "security", "name": "Security concern", "sort_order": 5, "active": "on"}
    )
    assert response.status_code == 302
    member = MembershipFactory(roles=["buyer"])
    form = _client(member.user).get("/portal/cases/new/").content.decode()
    assert "Security concern" in form
    billing, _ = CaseCategory.objects.get_or_create(key="billing", defaults={"name": "Billing", "sort_order": 40})
    case = make_case(membership=member, category="billing")
    client.post(f"/cases/setup/categories/{billing.pk}/", {"name": "Invoices", "sort_order": 40})  # unticked: retired
    billing.refresh_from_db()
    assert (billing.name, billing.active) == ("Invoices", False)
    assert "Invoices" not in _client(member.user).get("/portal/cases/new/").content.decode()
    assert "Invoices" in _client(member.user).get(f"/portal/cases/{case.pk}/").content.decode()  # kept, renamed
    refused = _client(member.user).post(
        "/portal/cases/new/", {"subject": "Bill", "description": "Wrong", "category": "billing", "severity": "normal"}
    )
    assert refused.status_code == 400
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.category.updated").exists()


def test_the_default_category_stays_active(ops):
    question, _ = CaseCategory.objects.get_or_create(key="question", defaults={"name": "Question"})
    response = _client(ops).post(f"/cases/setup/categories/{question.pk}/", {"name": "Question", "sort_order": 0})
    assert response.status_code == 400
    question.refresh_from_db()
    assert question.active


@pytest.mark.parametrize(
    "path",
    ["/cases/setup/", "/cases/setup/levels/new/", "/cases/setup/categories/new/"],
)
def test_other_staff_get_403_and_portal_users_404(path):
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    assert _client(manager).get(path).status_code == 403
    assert _client(manager).post(path, LEVEL).status_code == 403
    admin = MembershipFactory(roles=["org_admin"])
    assert _client(admin.user).get(path).status_code == 404
    assert _client(admin.user).post(path, LEVEL).status_code == 404
    assert not ServiceLevel.objects.exists()


def test_the_admin_saves_a_level_and_its_holidays_through_the_services():
    ops = StaffFactory(is_superuser=True, staff_role=User.StaffRole.OPERATIONS)
    client = _client(ops)
    data = {
        "name": "Admin level",
        "tier": "",
        "is_default": "on",
        "first_response_minutes": "120",
        "resolution_minutes": "960",
        "time_zone": "UTC",
        "opens": "08:00:00",
        "closes": "17:00:00",
        "weekdays": "01234",
        "warn_percent": "80",
        "includes": "",
        "holidays-TOTAL_FORMS": "1",
        "holidays-INITIAL_FORMS": "0",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
        "holidays-0-date": "2027-01-01",
        "holidays-0-name": "New Year",
    }
    response = client.post("/admin/cases/servicelevel/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    level = ServiceLevel.objects.get()
    assert list(level.holidays.values_list("name", flat=True)) == ["New Year"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"cases.service_level.created", "cases.service_level.holiday_added"} <= actions


def test_the_setup_page_costs_the_same_with_many_levels(ops, django_assert_max_num_queries):
    client = _client(ops)
    client.post("/cases/setup/levels/new/", LEVEL)
    with django_assert_max_num_queries(30) as few:
        client.get("/cases/setup/")
    for n in range(5):
        contract = ContractFactory()
        client.post(
            "/cases/setup/levels/new/",
            {**LEVEL, "name": f"Gold {n}", "applies_to": "contract", "contract_number": contract.number},
        )
    assert ServiceLevel.objects.count() == 6
    with django_assert_max_num_queries(30) as many:
        page = client.get("/cases/setup/").content.decode()
    assert "Gold 4" in page
    assert len(few.captured_queries) == len(many.captured_queries)


def test_the_portal_home_names_the_level_a_contract_is_served_at(ops):
    _client(ops).post("/cases/setup/levels/new/", {**LEVEL, "name": "Everyday support"})
    member = MembershipFactory(roles=["buyer"])
    assert "Everyday support" in _client(member.user).get("/portal/").content.decode()
