"""Reads the API needs that its apps do not offer as selectors yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from iam.models import BusinessRole
from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User
    from invitations.models import Invitation


def invitations_visible_to(*, user: User) -> QuerySet[Invitation]:
    """Every invitation for staff (as on the accounts' and leads' pages); nothing for anyone else."""
    from invitations.models import Invitation

    if not is_crm_user(user):
        return Invitation.objects.none()
    # django-stubs infers no type arguments for this Prefetch: a limitation of the stubs.
    return Invitation.objects.prefetch_related(
        Prefetch("roles", queryset=BusinessRole.objects.order_by("sort_order", "name"))  # type: ignore[arg-type]
    )
