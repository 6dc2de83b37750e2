"""Who may hold tokens for an application, and for which account: read at every token and userinfo call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from iam.models import Application, ApplicationAccountChoice, Membership
from iam.roles import effective_application_roles

if TYPE_CHECKING:
    from allauth.idp.oidc.models import Client

    from iam.models import User


@dataclass(frozen=True)
class SignIn:
    """A user signed in to an application, acting for one account with that application's roles."""

    application: Application
    membership: Membership

    @property
    def roles(self) -> list[str]:
        return effective_application_roles(self.membership).get(self.application.key, [])


def application_for_client(client: Client | None) -> Application | None:
    if client is None:
        return None
    return Application.objects.filter(oidc_client_id=client.pk).first()


def usable_memberships(user: User):
    """The memberships a user may sign in with right now, in the order the chooser lists them."""
    return Membership.objects.usable().filter(user=user).select_related("account").order_by("account__name", "pk")


def current_sign_in(*, user: User, client: Client) -> SignIn | None:
    """The account ``user`` chose for ``client``'s application, if that membership is usable now.

    None for staff, an inactive application, a client that is no application, no choice yet,
    or a membership that is suspended, removed or without an active contract.
    """
    if user.is_staff or not user.is_active:
        return None
    application = application_for_client(client)
    if application is None or not application.is_active:
        return None
    account_id = (
        ApplicationAccountChoice.objects.filter(user=user, application=application)
        .values_list("account_id", flat=True)
        .first()
    )
    if account_id is None:
        return None
    membership = usable_memberships(user).filter(account_id=account_id).first()
    if membership is None:
        return None
    return SignIn(application=application, membership=membership)
