"""Framework boundaries → audit trail: sign-ins, failures, MFA and password changes."""

from __future__ import annotations

from allauth.account.signals import password_changed, password_reset, user_logged_in
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from iam.audit import audit_record
from iam.models import User


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs) -> None:
    audit_record(actor=user, action="iam.user.signed_in", target=user)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    login = str(credentials.get("email") or credentials.get("username") or credentials.get("login") or "")[:254]
    user = User.objects.filter(email__iexact=login).first() if login else None
    audit_record(actor=None, action="iam.user.sign_in_failed", target=user, data={"login": login})


@receiver(authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(actor=user, action="iam.mfa.added", target=user, data={"type": authenticator.type})


@receiver(authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(actor=user, action="iam.mfa.removed", target=user, data={"type": authenticator.type})


@receiver(password_changed)
@receiver(password_reset)
def _password_changed(sender, request, user, **kwargs) -> None:
    audit_record(actor=user, action="iam.user.password_changed", target=user)
