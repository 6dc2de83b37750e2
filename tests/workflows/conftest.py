from __future__ import annotations

import pytest

from iam.models import User
from tests.factories import StaffFactory
from workflows import services
from workflows.models import Rule


@pytest.fixture
def manager(db):
    return StaffFactory(staff_role=User.StaffRole.SALES_MANAGER, email="boss@clientele.example")


@pytest.fixture
def make_rule(manager):
    def make(*, enabled: bool = True, owner=None, **fields) -> Rule:
        fields.setdefault("name", "Rule")
        fields.setdefault("record_type", "crm.contact")
        fields.setdefault("trigger", "saved")
        rule = services.rule_create(actor=owner or manager, rule=Rule(**fields))
        if enabled:
            rule = services.rule_set_enabled(actor=owner or manager, rule=rule, enabled=True)
        return rule

    return make


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run a change the way a request does: its on-commit work (the rules) happens after it."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def ops(db):
    from tests.api.factories import ops_user

    return ops_user(email="olga.ops@clientele.example")


@pytest.fixture
def ops_api(ops):
    from tests.api.factories import Api

    return Api(user=ops)


@pytest.fixture
def rep_api(sales_rep):
    from tests.api.factories import Api

    return Api(user=sales_rep)
