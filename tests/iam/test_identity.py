"""Identity defaults: password hashing, MFA requirements, audit of sign-ins."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from django.urls import reverse

from config.settings import base
from iam.models import AuditEvent
from tests.factories import MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_production_hashes_passwords_with_argon2id_above_the_asvs_minimum():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("correct horse battery staple", hasher.salt())
    assert encoded.startswith("argon2$argon2id$")
    params = hasher.params()
    assert params.memory_cost >= 19 * 1024  # KiB
    assert params.time_cost >= 2


def test_common_and_short_passwords_are_refused_offline():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password123456", "short1"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("plum-ferry-quartz-47")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_member_of_an_account_that_requires_mfa_must_set_it_up_first():
    membership = MembershipFactory()
    membership.account.require_mfa = True
    membership.account.save()
    client = _signed_in(membership.user)

    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    assert client.get(reverse("mfa_index")).status_code == 200

    Authenticator.objects.create(
        user=membership.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    assert client.get(reverse("portal:home")).status_code == 200


def test_staff_mfa_requirement_follows_the_setting(settings):
    rep = StaffFactory()
    client = _signed_in(rep)
    assert client.get(reverse("crm:contact_list")).status_code == 200

    settings.IAM_REQUIRE_MFA_FOR_STAFF = True
    response = client.get(reverse("crm:contact_list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


def test_sign_in_and_failed_sign_in_are_audited_with_origin():
    membership = MembershipFactory()
    client = Client(HTTP_USER_AGENT="AuditTest/1.0", REMOTE_ADDR="203.0.113.7")
    client.post(reverse("account_login"), {"login": membership.user.email, "password": "wrong password"})
    client.post(reverse("account_login"), {"login": membership.user.email, "password": "correct horse battery staple"})

    failed = AuditEvent.objects.get(action="iam.user.sign_in_failed")
    assert failed.target_id == str(membership.user.pk)
    assert failed.actor is None
    signed_in = AuditEvent.objects.get(action="iam.user.signed_in")
    assert signed_in.actor == membership.user
    assert signed_in.ip_address == "203.0.113.7"
    assert signed_in.user_agent == "AuditTest/1.0"


def test_external_user_without_membership_is_told_why():
    from tests.factories import ExternalUserFactory

    client = _signed_in(ExternalUserFactory())
    response = client.get(reverse("portal:home"))
    assert response["Location"] == reverse("portal:no_access")
    page = client.get(reverse("portal:no_access"))
    assert page.status_code == 403
    assert b"not linked to any organisation" in page.content


def test_suspended_member_sees_why_and_whom_to_contact():
    membership = MembershipFactory()
    owner = membership.account.owner
    membership.account.contracts.update(status="terminated")
    from iam.services import access_sync

    access_sync(account_ids=[membership.account_id])
    client = _signed_in(membership.user)
    assert client.get(reverse("portal:home"))["Location"] == reverse("portal:no_access")
    page = client.get(reverse("portal:no_access")).content.decode()
    assert "no active contract" in page
    assert owner.email in page
