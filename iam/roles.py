"""Effective application roles: the one place business roles become application roles.

Used by the portal, the API and OpenID Connect claims.
"""

from __future__ import annotations

from collections import defaultdict

from iam.models import ApplicationRole, Membership


def effective_application_roles(membership: Membership) -> dict[str, list[str]]:
    """``{application key: [role keys]}`` for a membership that may be used now, else ``{}``."""
    if not Membership.objects.usable().filter(pk=membership.pk).exists():
        return {}
    rows = (
        ApplicationRole.objects.filter(business_roles__memberships=membership, application__is_active=True)
        .values_list("application__key", "key")
        .distinct()
    )
    result: dict[str, set[str]] = defaultdict(set)
    for app_key, role_key in rows:
        result[app_key].add(role_key)
    return {app: sorted(keys) for app, keys in sorted(result.items())}
