"""The staff half of IAM: an account's portal users on its page, the audit trail, the admin."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.forms import AccountForm
from iam import services
from iam.models import AuditEvent, BusinessRole, Membership, User
from tests.factories import (
    ContactFactory,
    ContractFactory,
    ExternalUserFactory,
    MembershipFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


def _role_keys(membership) -> set[str]:
    return set(Membership.objects.get(pk=membership.pk).roles.values_list("key", flat=True))


def _member_urls(account, membership) -> dict[str, str]:
    args = [account.pk, membership.pk]
    return {
        "roles": reverse("staff_iam:portal_user_roles", args=args),
        "suspend": reverse("staff_iam:portal_user_suspend", args=args),
        "reactivate": reverse("staff_iam:portal_user_reactivate", args=args),
        "remove": reverse("staff_iam:portal_user_remove", args=args),
    }


@pytest.fixture
def acme(sales_rep):
    """A customer owned by the ``sales_rep`` fixture (the owning rep)."""
    return ContractFactory(account__owner=sales_rep, account__name="Acme GmbH").account


@pytest.fixture
def acme_admin(acme):
    return MembershipFactory(account=acme, roles=["org_admin", "buyer"])


@pytest.fixture
def acme_buyer(acme):
    return MembershipFactory(account=acme, roles=["buyer"])


@pytest.fixture
def manager():
    return StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)


# --- The Portal users tab -----------------------------------------------------------------------


def test_account_page_lists_portal_users_with_status_roles_and_mfa(rep_client, acme, acme_admin, acme_buyer):
    services.membership_suspend(actor=acme.owner, membership=acme_buyer)
    response = rep_client.get(reverse("crm:account_detail", args=[acme.pk]) + "?tab=portal-users")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="portal-users"' in html
    assert acme_admin.user.email in html
    assert acme_buyer.user.email in html
    assert "Organisation admin" in html
    assert "By an administrator" in html  # why suspended
    assert "Never signed in" in html
    assert reverse("staff_iam:portal_user_add", args=[acme.pk]) in html
    assert _member_urls(acme, acme_admin)["roles"] in html
    assert f"{reverse('staff_iam:audit_list')}?account={acme.pk}" in html
    assert "iam.membership.suspended" in html  # the account's latest audit events
    assert " style=" not in html


def test_unrelated_rep_sees_the_tab_without_actions(other_rep, acme, acme_admin):
    response = _client(other_rep).get(reverse("crm:account_detail", args=[acme.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert acme_admin.user.email in html
    assert reverse("staff_iam:portal_user_add", args=[acme.pk]) not in html
    assert _member_urls(acme, acme_admin)["suspend"] not in html


def test_mfa_requirement_is_set_on_the_account_form_and_shown_in_the_header(rep_client, acme):
    assert "require_mfa" in AccountForm.Meta.fields
    assert "MFA required" not in rep_client.get(acme.get_absolute_url()).content.decode()
    acme.require_mfa = True
    acme.save(update_fields=["require_mfa"])
    assert "MFA required" in rep_client.get(acme.get_absolute_url()).content.decode()


def test_account_page_costs_the_same_with_2_or_30_portal_users(rep_client, acme):
    MembershipFactory.create_batch(2, account=acme, roles=["buyer", "technical_contact"])
    url = reverse("crm:account_detail", args=[acme.pk])
    with CaptureQueriesContext(connection) as few:
        assert rep_client.get(url).status_code == 200
    MembershipFactory.create_batch(28, account=acme, roles=["buyer", "billing_contact"])
    for membership in Membership.objects.filter(account=acme)[:5]:
        services.membership_suspend(actor=acme.owner, membership=membership)
    with CaptureQueriesContext(connection) as many:
        response = rep_client.get(url)
    assert response.content.decode().count('id="portal-user-') == 30
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- Who may act ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owning_rep", "manager"])
def test_staff_who_manage_the_account_make_someone_org_admin(who, acme, acme_admin, acme_buyer, manager):
    actor = acme.owner if who == "owning_rep" else manager
    url = _member_urls(acme, acme_buyer)["roles"]
    client = _client(actor)
    assert client.get(url).status_code == 200
    org_admin, buyer = BusinessRole.objects.get(key="org_admin"), BusinessRole.objects.get(key="buyer")
    response = client.post(url, {"roles": [org_admin.pk, buyer.pk]})
    assert response.status_code == 302
    assert "tab=portal-users" in response.url
    acme_buyer.refresh_from_db()
    assert acme_buyer.is_org_admin
    assert _role_keys(acme_buyer) == {"org_admin", "buyer"}
    event = AuditEvent.objects.get(action="iam.membership.roles_changed")
    assert event.actor == actor
    assert event.data == {"added": ["org_admin"], "removed": []}


def test_unrelated_rep_may_not_act_and_nothing_changes(other_rep, acme, acme_admin, acme_buyer):
    client = _client(other_rep)
    urls = _member_urls(acme, acme_buyer)
    buyer = BusinessRole.objects.get(key="org_admin")
    assert client.get(urls["roles"]).status_code == 403
    assert client.post(urls["roles"], {"roles": [buyer.pk]}).status_code == 403
    for action in ("suspend", "remove", "reactivate"):
        assert client.post(urls[action]).status_code == 403
    add_url = reverse("staff_iam:portal_user_add", args=[acme.pk])
    contact = ContactFactory(account=acme)
    assert client.post(add_url, {"contact": contact.pk, "roles": [buyer.pk]}).status_code == 403
    acme_buyer.refresh_from_db()
    assert acme_buyer.status == Membership.Status.ACTIVE
    assert _role_keys(acme_buyer) == {"buyer"}
    assert not User.objects.filter(email=contact.email).exists()
    assert not AuditEvent.objects.filter(actor=other_rep).exists()


def test_external_users_get_404_on_every_staff_url(acme, acme_admin, acme_buyer):
    """Even the account's own org admin: the staff pages are not the portal."""
    client = _client(acme_admin.user)
    urls = [
        *_member_urls(acme, acme_buyer).values(),
        reverse("staff_iam:portal_user_add", args=[acme.pk]),
        reverse("staff_iam:audit_list"),
        reverse("staff_iam:audit_export"),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert Membership.objects.get(pk=acme_buyer.pk).status == Membership.Status.ACTIVE


def test_anonymous_visitors_are_sent_to_sign_in(client, acme, acme_buyer):
    urls = [
        *_member_urls(acme, acme_buyer).values(),
        reverse("staff_iam:portal_user_add", args=[acme.pk]),
        reverse("staff_iam:audit_list"),
        reverse("staff_iam:audit_export"),
    ]
    for url in urls:
        response = client.post(url) if url.endswith(("/suspend/", "/remove/", "/reactivate/")) else client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login")), url


def test_another_accounts_membership_under_this_accounts_url_is_404(rep_client, acme, acme_buyer):
    elsewhere = MembershipFactory(roles=["buyer"])
    for url in _member_urls(acme, elsewhere).values():
        assert rep_client.post(url).status_code == 404, url
    assert rep_client.get(_member_urls(acme, elsewhere)["roles"]).status_code == 404
    missing_account = reverse("staff_iam:portal_user_suspend", args=[999_999, acme_buyer.pk])
    assert rep_client.post(missing_account).status_code == 404
    assert Membership.objects.get(pk=elsewhere.pk).status == Membership.Status.ACTIVE


def test_removing_the_last_org_admin_is_refused_and_nothing_changes(rep_client, acme, acme_admin, acme_buyer):
    urls = _member_urls(acme, acme_admin)
    before = AuditEvent.objects.count()
    response = rep_client.post(urls["remove"], follow=True)
    assert "last active admin" in response.content.decode()
    response = rep_client.post(urls["suspend"], HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "last active admin" in response.content.decode()
    buyer = BusinessRole.objects.get(key="buyer")
    response = rep_client.post(urls["roles"], {"roles": [buyer.pk]})
    assert response.status_code == 200
    assert "last active admin" in response.content.decode()
    acme_admin.refresh_from_db()
    assert acme_admin.status == Membership.Status.ACTIVE
    assert acme_admin.is_org_admin
    assert _role_keys(acme_admin) == {"org_admin", "buyer"}
    assert AuditEvent.objects.count() == before


def test_suspend_reactivate_and_remove_in_place_with_htmx(rep_client, acme, acme_admin, acme_buyer):
    urls = _member_urls(acme, acme_buyer)
    response = rep_client.post(urls["suspend"], HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="portal-user-{acme_buyer.pk}"' in response.content.decode()
    assert Membership.objects.get(pk=acme_buyer.pk).suspended_by == Membership.SuspendedBy.ADMIN
    response = rep_client.post(urls["reactivate"])  # without JS: back to the tab
    assert response.status_code == 302
    assert Membership.objects.get(pk=acme_buyer.pk).status == Membership.Status.ACTIVE
    rep_client.post(urls["remove"], HTTP_HX_REQUEST="true")
    assert Membership.objects.get(pk=acme_buyer.pk).status == Membership.Status.DEACTIVATED
    actions = AuditEvent.objects.filter(target_id=str(acme_buyer.pk), actor=acme.owner).values_list("action", flat=True)
    assert sorted(actions) == ["iam.membership.reactivated", "iam.membership.removed", "iam.membership.suspended"]


def test_staff_add_an_existing_contact_as_portal_user(rep_client, acme, acme_admin):
    contact = ContactFactory(account=acme, email="Dana.New@Acme.example", first_name="Dana", last_name="New")
    buyer = BusinessRole.objects.get(key="buyer")
    url = reverse("staff_iam:portal_user_add", args=[acme.pk])
    assert contact.email in rep_client.get(url).content.decode()
    response = rep_client.post(url, {"contact": contact.pk, "roles": [buyer.pk]})
    assert response.status_code == 302
    user = User.objects.get(email="dana.new@acme.example")
    assert not user.has_usable_password()
    assert not user.is_staff
    membership = Membership.objects.get(user=user, account=acme)
    assert membership.contact == contact
    assert membership.status == Membership.Status.ACTIVE
    assert _role_keys(membership) == {"buyer"}
    assert {"iam.user.created", "iam.membership.created"} <= set(
        AuditEvent.objects.filter(account=acme).values_list("action", flat=True)
    )
    # The same contact again: refused with a message, no second user or membership.
    response = rep_client.post(url, {"contact": contact.pk, "roles": [buyer.pk]})
    assert response.status_code == 200
    assert User.objects.filter(email__iexact=contact.email).count() == 1
    assert Membership.objects.filter(account=acme, user=user).count() == 1


def test_adding_finds_an_existing_external_user_by_email(acme, acme_admin):
    existing = ExternalUserFactory(email="eve@acme.example")
    other = MembershipFactory(user=existing, roles=["buyer"])  # already a user elsewhere
    contact = ContactFactory(account=acme, email="EVE@acme.example")
    membership = services.portal_user_add(
        actor=acme.owner, account=acme, contact=contact, roles=BusinessRole.objects.filter(key="buyer")
    )
    assert membership.user == existing
    assert existing.has_usable_password()
    assert Membership.objects.filter(user=existing).count() == 2
    assert other.account != acme


def test_a_contact_of_another_account_cannot_be_added(rep_client, acme):
    stranger = ContactFactory()
    buyer = BusinessRole.objects.get(key="buyer")
    response = rep_client.post(
        reverse("staff_iam:portal_user_add", args=[acme.pk]), {"contact": stranger.pk, "roles": [buyer.pk]}
    )
    assert response.status_code == 200
    assert not Membership.objects.filter(account=acme).exists()
    assert not User.objects.filter(email=stranger.email).exists()


# --- The audit trail ----------------------------------------------------------------------------


@pytest.fixture
def audit_trail(acme, acme_admin, acme_buyer, manager):
    other = MembershipFactory(roles=["org_admin", "buyer"])
    other_buyer = MembershipFactory(account=other.account, roles=["buyer"])
    services.membership_suspend(actor=acme.owner, membership=acme_buyer)
    services.membership_suspend(actor=manager, membership=other_buyer)
    services.membership_reactivate(actor=acme.owner, membership=acme_buyer)
    return {"acme": acme, "other": other.account, "manager": manager}


def test_audit_page_lists_every_event_in_the_staff_nav(rep_client, audit_trail):
    response = rep_client.get(reverse("staff_iam:audit_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Audit trail" in html
    assert "Identity" in html
    assert html.count("iam.membership.suspended") == 2
    assert audit_trail["other"].name in html
    assert " style=" not in html


def _actions(response) -> list[str]:
    assert response.status_code == 200
    return [event.action for event in response.context["page"].items]


def test_audit_page_filters_by_account_action_actor_and_date(rep_client, audit_trail):
    url = reverse("staff_iam:audit_list")
    actions = _actions(rep_client.get(url, {"account": audit_trail["acme"].pk}))
    assert actions.count("iam.membership.suspended") == 1
    assert "iam.membership.reactivated" in actions
    assert set(_actions(rep_client.get(url, {"action": "iam.membership.susp"}))) == {"iam.membership.suspended"}
    actions = _actions(rep_client.get(url, {"actor": audit_trail["manager"].email.upper()}))
    assert actions == ["iam.membership.suspended"]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert _actions(rep_client.get(url, {"since": tomorrow.isoformat()})) == []
    assert len(_actions(rep_client.get(url, {"until": timezone.localdate().isoformat()}))) == AuditEvent.objects.count()
    response = rep_client.get(url, {"since": tomorrow.isoformat(), "until": timezone.localdate().isoformat()})
    assert _actions(response) == []
    assert "The end date is before the start date." in response.content.decode()


def test_audit_page_is_keyset_paginated(rep_client, audit_trail, settings):
    settings.CRM_PAGE_SIZE = 2
    url = reverse("staff_iam:audit_list")
    first = rep_client.get(url)
    assert first.context["page"].next_cursor
    second = rep_client.get(url, {"cursor": first.context["page"].next_cursor})
    first_ids = {e.pk for e in first.context["page"].items}
    second_ids = {e.pk for e in second.context["page"].items}
    assert len(first_ids) == 2
    assert not first_ids & second_ids
    assert first_ids | second_ids == set(AuditEvent.objects.values_list("pk", flat=True)[:4])


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_audit_export_streams_the_filtered_events_as_csv(rep_client, audit_trail):
    url = reverse("staff_iam:audit_export")
    response = rep_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert list(rows[0]) == ["occurred_at", "action", "actor", "account", "target", "data", "ip", "user_agent"]
    assert len(rows) == AuditEvent.objects.count()
    rows = _csv(rep_client.get(url, {"account": audit_trail["acme"].pk, "action": "iam.membership.suspended"}))
    assert len(rows) == 1
    assert rows[0]["account"] == audit_trail["acme"].name
    assert rows[0]["actor"] == audit_trail["acme"].owner.email
    assert '"reason": "admin"' in rows[0]["data"]


def test_audit_export_neutralises_spreadsheet_formulas(rep_client, acme):
    from iam.audit import audit_record

    audit_record(actor=None, action="iam.test", account=acme, data={"x": 1})
    acme.name = "=HYPERLINK(1)"
    acme.save(update_fields=["name"])
    rows = _csv(rep_client.get(reverse("staff_iam:audit_export"), {"action": "iam.test"}))
    assert rows[0]["account"] == "'=HYPERLINK(1)"


# --- Django admin ---------------------------------------------------------------------------------


@pytest.fixture
def ops_client():
    ops = User.objects.create_superuser(email="ops@clientele.example", password="x-very-long-password-1")
    return _client(ops), ops


def test_admin_pages_of_the_iam_models_render(ops_client, audit_trail, acme_buyer):
    client, _ops = ops_client
    for name in ("businessrole", "application", "membership", "auditevent"):
        assert client.get(reverse(f"admin:iam_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:iam_membership_change", args=[acme_buyer.pk])).status_code == 200
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:iam_auditevent_change", args=[event.pk])).status_code == 200
    assert client.get(reverse("admin:iam_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:iam_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.get(reverse("admin:iam_membership_add")).status_code == 403


def test_admin_membership_changes_go_through_the_services(ops_client, acme, acme_admin, acme_buyer):
    client, ops = ops_client
    url = reverse("admin:iam_membership_changelist")
    client.post(url, {"action": "suspend", "_selected_action": [acme_buyer.pk, acme_admin.pk]})
    acme_buyer.refresh_from_db()
    acme_admin.refresh_from_db()
    assert acme_buyer.suspended_by == Membership.SuspendedBy.ADMIN
    assert acme_admin.status == Membership.Status.ACTIVE  # the last admin stays
    assert AuditEvent.objects.get(action="iam.membership.suspended").actor == ops
    # Posting the change form cannot edit status or roles: they are read-only.
    client.post(reverse("admin:iam_membership_change", args=[acme_buyer.pk]), {"status": "active"})
    assert Membership.objects.get(pk=acme_buyer.pk).status == Membership.Status.SUSPENDED
