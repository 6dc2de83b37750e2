"""The demo seed gives the service desk service levels and holidays, so demo cases have SLA clocks."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cases.models import Case, Holiday, ServiceLevel

pytestmark = pytest.mark.django_db


def test_seed_demo_sets_up_service_levels_and_cases_with_clocks_once(capsys):
    call_command("seed_demo")
    default = ServiceLevel.objects.get(is_default=True)
    assert default.holidays.exists()
    cases = list(Case.objects.filter(account__name="Acme Corporation"))
    assert len(cases) == 2
    assert all(c.service_level_id and c.first_response_due_at and c.sla_state == "ok" for c in cases)
    counts = (ServiceLevel.objects.count(), Holiday.objects.count(), Case.objects.count())
    call_command("seed_demo")
    assert (ServiceLevel.objects.count(), Holiday.objects.count(), Case.objects.count()) == counts
