"""Every page of the operations console writes through a service, or not at all.

Walks every registered ModelAdmin as a superuser sees it. One that can add, change, delete or
run an action must be a ``core.admin.ServiceModelAdmin`` whose writes are our code, and be
listed below with the services it calls; anything else must be look-only. A model registered
later without either fails here.
"""

from __future__ import annotations

import inspect

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.test import RequestFactory
from django.utils.module_loading import import_string

from core.admin import ServiceModelAdmin
from crm.models import Contract
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

# model label → the services its admin saves and deletes through.
SERVICE_WRITES: dict[str, set[str]] = {
    "crm.account": {"crm.services.account_save", "crm.services.account_delete"},
    "crm.contact": {"crm.services.contact_save", "crm.services.contact_delete"},
    "crm.lead": {"crm.services.lead_save", "crm.services.lead_delete"},
    "crm.opportunity": {"crm.services.opportunity_save", "crm.services.opportunity_delete"},
    "crm.contract": {"crm.services.contract_save", "crm.services.contract_delete"},
    "crm.activity": {
        "crm.services.activity_log",
        "crm.services.activity_update",
        "crm.services.activity_delete",
    },
    "iam.user": {"iam.services.user_create", "iam.services.user_update", "iam.services.user_password_set"},
    "iam.businessrole": {"iam.services.business_role_save"},
    "iam.application": {"iam.oidc.services.application_update", "iam.oidc.services.application_roles_set"},
    "territories.team": {"territories.services.team_save", "territories.services.team_delete"},
    "territories.teammembership": {
        "territories.services.team_member_save",
        "territories.services.team_member_remove",
    },
    "territories.territory": {"territories.services.territory_save", "territories.services.territory_delete"},
    "territories.assignmentrule": {"territories.services.rule_save", "territories.services.rule_delete"},
    "cases.servicelevel": {
        "cases.setup.service_level_save",
        "cases.setup.service_level_delete",
        "cases.setup.holiday_add",
        "cases.setup.holiday_remove",
    },
    "cases.casecategory": {"cases.setup.category_save"},
}

# model label → {action name: the service it calls}.
SERVICE_ACTIONS: dict[str, dict[str, str]] = {
    "iam.user": {"reset_mfa": "iam.services.user_mfa_reset"},
    "iam.membership": {
        "suspend": "iam.services.membership_suspend",
        "reactivate": "iam.services.membership_reactivate",
        "remove": "iam.services.membership_remove",
    },
}

WRITES = ("save_model", "save_related", "delete_model", "delete_queryset")


@pytest.fixture
def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = StaffFactory(is_superuser=True, staff_role="operations")
    return request


def _registry() -> list[tuple[str, ModelAdmin]]:
    return sorted((model._meta.label_lower, model_admin) for model, model_admin in admin.site._registry.items())


def _can(model_admin: ModelAdmin, request) -> dict[str, bool]:
    return {
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_change_permission(request),
        "delete": model_admin.has_delete_permission(request),
    }


def _calls(model_admin: ModelAdmin, dotted: str) -> bool:
    """The admin's own module names the service (``services.contract_save``)."""
    import_string(dotted)  # a renamed or removed service fails here
    return dotted.rsplit(".", 1)[1] in inspect.getsource(inspect.getmodule(type(model_admin)))


@pytest.mark.parametrize(("label", "model_admin"), _registry(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_admin_writes_through_services_or_not_at_all(label, model_admin, superuser_request):
    can = _can(model_admin, superuser_request)
    actions = set(model_admin.get_actions(superuser_request))

    if any(can.values()):
        assert label in SERVICE_WRITES, (
            f"{label} can be written in the admin without a service: make its admin look-only, or a "
            "ServiceModelAdmin calling its services, and list them in SERVICE_WRITES"
        )
        assert isinstance(model_admin, ServiceModelAdmin)
        cls = type(model_admin)
        for name in WRITES:
            defined_in = getattr(cls, name).__module__
            assert not defined_in.startswith(("django.", "allauth.")), f"{label}: {name} is {defined_in}'s"
        assert cls.service_save is not ServiceModelAdmin.service_save
        if can["delete"]:
            assert cls.service_delete is not ServiceModelAdmin.service_delete
        for dotted in SERVICE_WRITES[label]:
            assert _calls(model_admin, dotted), f"{label}'s admin does not call {dotted}"
    else:
        assert label not in SERVICE_WRITES, f"{label} is look-only now: take it out of SERVICE_WRITES"

    service_actions = SERVICE_ACTIONS.get(label, {})
    for action in actions - {"delete_selected"}:
        assert action in service_actions, f"{label}: the action {action!r} is not a listed service action"
        assert _calls(model_admin, service_actions[action])
    if "delete_selected" in actions:
        assert can["delete"]
        assert isinstance(model_admin, ServiceModelAdmin)


def test_the_lists_name_only_registered_models():
    registered = {label for label, _ in _registry()}
    assert set(SERVICE_WRITES) <= registered
    assert set(SERVICE_ACTIONS) <= registered


def test_a_service_admin_writes_nothing_itself(superuser_request):
    """Its save_model is empty: what an admin page saves, the service saves."""
    contract_admin = admin.site._registry[Contract]
    contract = Contract(number="C-UNSAVED")

    contract_admin.save_model(superuser_request, contract, form=None, change=False)

    assert contract.pk is None
    assert not Contract.objects.exists()
