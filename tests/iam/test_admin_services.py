"""The admin's user, role and application pages change identity and access only through iam.services."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.idp.oidc.models import Token
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from iam import services
from iam.models import ApplicationRole, AuditEvent, BusinessRole, Membership, User
from iam.oidc.services import application_create
from tests.admin_forms import admin_form_data, inline_prefix
from tests.factories import ExternalUserFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(db):
    return StaffFactory(email="root@clientele.example", is_superuser=True, staff_role="operations")


@pytest.fixture
def operator(db):
    """Operations staff without superuser rights."""
    return StaffFactory(email="operator@clientele.example", staff_role="operations")


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def _post_change(client, url: str, **changes):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, {**admin_form_data(page), **changes})


def _form_errors(response) -> str:
    return str(response.context["adminform"].form.errors)


def test_making_someone_a_sales_manager_is_an_audited_access_change(ops_client, ops):
    user = ExternalUserFactory(email="new.manager@clientele.example")

    response = _post_change(
        ops_client, reverse("admin:iam_user_change", args=[user.pk]), is_staff="on", staff_role="sales_manager"
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_staff, user.staff_role) == (True, "sales_manager")
    event = AuditEvent.objects.get(action="iam.user.access_changed")
    assert event.actor == ops
    assert event.data["before"] == {"is_staff": False, "staff_role": ""}
    assert event.data["after"] == {"is_staff": True, "staff_role": "sales_manager"}


def test_nobody_changes_their_own_access_in_the_admin(ops_client, ops):
    data = {"is_superuser": "", "staff_role": "sales_rep"}
    response = _post_change(ops_client, reverse("admin:iam_user_change", args=[ops.pk]), **data)

    assert response.status_code == 200
    assert "You cannot change your own access" in _form_errors(response)
    ops.refresh_from_db()
    assert (ops.is_superuser, ops.staff_role) == (True, "operations")
    assert not AuditEvent.objects.exists()


def test_an_external_user_with_memberships_is_not_made_staff(ops_client):
    member = MembershipFactory()

    response = _post_change(
        ops_client, reverse("admin:iam_user_change", args=[member.user.pk]), is_staff="on", staff_role="sales_rep"
    )

    assert response.status_code == 200
    assert "portal memberships" in _form_errors(response)
    member.user.refresh_from_db()
    assert not member.user.is_staff


def test_deactivating_a_user_ends_their_sessions_and_tokens(ops_client, django_capture_on_commit_callbacks):
    member = MembershipFactory()
    Token.objects.create(type=Token.Type.REFRESH_TOKEN, hash="h", user=member.user)
    theirs = Client()
    theirs.force_login(member.user)
    theirs.get("/portal/")
    assert UserSession.objects.filter(user=member.user).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = _post_change(ops_client, reverse("admin:iam_user_change", args=[member.user.pk]), is_active="")

    assert response.status_code == 302
    member.user.refresh_from_db()
    assert not member.user.is_active
    assert not Token.objects.filter(user=member.user).exists()
    assert not UserSession.objects.filter(user=member.user).exists()
    assert AuditEvent.objects.get(action="iam.user.access_changed").data["after"] == {"is_active": False}


def test_operations_staff_cannot_grant_superuser_rights_or_touch_a_superuser(operator, ops):
    colleague = StaffFactory(staff_role="sales_rep")

    with pytest.raises(PermissionDenied):
        services.user_update(actor=operator, user=colleague, changes={"is_superuser": True})
    with pytest.raises(PermissionDenied):
        services.user_update(actor=operator, user=ops, changes={"is_active": False})
    with pytest.raises(PermissionDenied):
        services.user_password_set(actor=operator, user=ops, password="a new long passphrase")

    colleague.refresh_from_db()
    ops.refresh_from_db()
    assert not colleague.is_superuser
    assert ops.is_active
    assert not AuditEvent.objects.exists()


def test_a_user_added_in_the_admin_starts_without_access_and_is_audited(ops_client, ops):
    page = ops_client.get(reverse("admin:iam_user_add"))
    data = {
        **admin_form_data(page),
        "email": "New.Person@Customer.example",
        "password1": "a long enough passphrase 42",
        "password2": "a long enough passphrase 42",
    }

    response = ops_client.post(page.wsgi_request.path, data)

    assert response.status_code == 302
    user = User.objects.get(email="new.person@customer.example")
    assert not user.is_staff
    assert not user.is_superuser
    assert user.check_password("a long enough passphrase 42")
    assert AuditEvent.objects.get(action="iam.user.created").actor == ops


def test_a_password_set_in_the_admin_is_audited_without_the_password(ops_client, ops):
    user = ExternalUserFactory()
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = ops_client.post(
        url,
        {"password1": "another long passphrase 7", "password2": "another long passphrase 7", "usable_password": "true"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another long passphrase 7")
    event = AuditEvent.objects.get(action="iam.user.password_set")
    assert (event.actor, event.data) == (ops, {"user": user.email, "usable": True})


def test_users_are_deactivated_not_deleted(ops_client):
    user = ExternalUserFactory()

    response = ops_client.post(reverse("admin:iam_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


def test_a_business_roles_meaning_per_application_is_an_audited_change(ops_client, ops):
    application = application_create(
        actor=ops, key="orders", name="Orders", redirect_uris=["https://orders.example/cb"]
    ).application
    write = ApplicationRole.objects.create(application=application, key="orders:write")
    buyer = BusinessRole.objects.get(key="buyer")

    response = _post_change(
        ops_client,
        reverse("admin:iam_businessrole_change", args=[buyer.pk]),
        application_roles=[str(write.pk)],
        description="Places orders for their organisation.",
    )

    assert response.status_code == 302
    assert list(buyer.application_roles.all()) == [write]
    event = AuditEvent.objects.get(action="iam.business_role.updated")
    assert event.actor == ops
    assert event.data["application_roles_added"] == ["orders:orders:write"]
    assert event.data["after"] == {"description": "Places orders for their organisation."}


def test_the_role_list_edits_sort_order_through_the_service(ops_client):
    page = ops_client.get(reverse("admin:iam_businessrole_changelist"))
    formset = page.context["cl"].formset
    data = {
        "form-TOTAL_FORMS": str(len(formset.forms)),
        "form-INITIAL_FORMS": str(len(formset.forms)),
        "_save": "Save",
    }
    for index, form in enumerate(formset.forms):
        data[f"form-{index}-id"] = str(form.instance.pk)
        data[f"form-{index}-sort_order"] = str(form.instance.sort_order)
    changed = formset.forms[0].instance
    data["form-0-sort_order"] = "7"

    response = ops_client.post(page.wsgi_request.path, data)

    assert response.status_code == 302
    changed.refresh_from_db()
    assert changed.sort_order == 7
    event = AuditEvent.objects.get(action="iam.business_role.updated")
    assert event.data["after"] == {"sort_order": 7}


def test_application_roles_edited_in_the_admin_are_audited(ops_client, ops):
    application = application_create(
        actor=ops, key="orders", name="Orders", redirect_uris=["https://orders.example/cb"]
    ).application
    url = reverse("admin:iam_application_change", args=[application.pk])
    page = ops_client.get(url)
    data = admin_form_data(page)
    prefix = inline_prefix(page, ApplicationRole)
    data.update({f"{prefix}-0-key": "orders:read", f"{prefix}-0-name": "Read orders", "name": "Orders portal"})

    response = ops_client.post(url, data)

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.name == "Orders portal"
    assert list(application.roles.values_list("key", flat=True)) == ["orders:read"]
    assert AuditEvent.objects.get(action="iam.application.roles_changed").data["added"] == ["orders:read"]
    assert AuditEvent.objects.get(action="iam.application.updated").data["changed"] == ["name"]
    assert ops_client.get(reverse("admin:iam_application_add")).status_code == 403


def test_membership_status_changes_only_through_the_actions(ops_client, ops):
    member = MembershipFactory()
    url = reverse("admin:iam_membership_changelist")

    response = ops_client.post(url, {"action": "suspend", "_selected_action": [member.pk]})

    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.status, member.suspended_by) == (Membership.Status.SUSPENDED, "admin")
    assert AuditEvent.objects.get(action="iam.membership.suspended").actor == ops
    page = ops_client.get(reverse("admin:iam_membership_change", args=[member.pk]))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False


def test_the_action_refusal_is_a_message_and_nothing_changes(ops_client):
    member = MembershipFactory(roles=["org_admin"])  # the organisation's only admin

    response = ops_client.post(
        reverse("admin:iam_membership_changelist"), {"action": "remove", "_selected_action": [member.pk]}
    )

    assert response.status_code == 302
    assert "last active admin" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    member.refresh_from_db()
    assert member.status == Membership.Status.ACTIVE


def test_a_users_verified_addresses_cannot_be_changed_in_the_admin(ops_client):
    user = ExternalUserFactory()
    address = EmailAddress.objects.get(user=user)

    response = ops_client.post(
        reverse("admin:account_emailaddress_change", args=[address.pk]),
        {"email": "attacker@acme.example", "verified": "on", "primary": "on", "user": user.pk},
    )

    assert response.status_code == 403
    address.refresh_from_db()
    assert address.email == user.email


def test_ops_reset_a_lost_second_factor_with_the_users_action(ops_client, ops):
    user = ExternalUserFactory()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "y"})
    without = ExternalUserFactory()
    url = reverse("admin:iam_user_changelist")

    refused = ops_client.post(url, {"action": "reset_mfa", "_selected_action": [user.pk, without.pk]})

    assert refused.status_code == 302
    assert "has no second factor" in " ".join(str(m) for m in get_messages(refused.wsgi_request))
    assert Authenticator.objects.filter(user=user).count() == 2

    response = ops_client.post(url, {"action": "reset_mfa", "_selected_action": [user.pk]})

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action="iam.user.mfa_reset")
    assert (event.actor, event.data["removed"]) == (ops, ["recovery_codes", "totp"])
    again = Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "z"})
    page = reverse("admin:mfa_authenticator_delete", args=[again.pk])
    assert ops_client.post(page, {"post": "yes"}).status_code == 403  # only the audited action resets
