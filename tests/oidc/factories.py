"""Applications with roles, built the way staff build them: through the services."""

from __future__ import annotations

from dataclasses import dataclass

from iam.models import Application, ApplicationRole, BusinessRole, User
from iam.oidc import services
from tests.factories import StaffFactory


def operations_user(**kwargs) -> User:
    kwargs.setdefault("email", "ops.oidc@clientele.example")
    return StaffFactory(is_superuser=True, staff_role=User.StaffRole.OPERATIONS, **kwargs)


@dataclass
class RegisteredApplication:
    application: Application
    client_id: str
    client_secret: str | None


def register_application(
    *,
    actor: User,
    key: str,
    redirect_uri: str,
    roles: dict[str, list[str]],
    post_logout_redirect_uri: str = "",
    client_type: str = "confidential",
) -> RegisteredApplication:
    """``roles``: application role key → the business role keys that grant it."""
    outcome = services.application_create(
        actor=actor,
        key=key,
        name=key.title(),
        redirect_uris=[redirect_uri],
        post_logout_redirect_uris=[post_logout_redirect_uri] if post_logout_redirect_uri else [],
        client_type=client_type,
    )
    for role_key, business_keys in roles.items():
        role = ApplicationRole.objects.create(application=outcome.application, key=role_key, name=role_key)
        for business_role in BusinessRole.objects.filter(key__in=business_keys):
            business_role.application_roles.add(role)
    return RegisteredApplication(
        application=outcome.application,
        client_id=outcome.application.oidc_client_id,
        client_secret=outcome.client_secret,
    )
