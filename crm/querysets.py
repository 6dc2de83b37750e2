"""Scoping shared by every CRM record: a query starts from what the user may see."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self, TypeVar

from django.db import models
from django.utils import timezone

from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User
    from iam.permissions import MaybeUser


_M = TypeVar("_M", bound=models.Model)


class CRMQuerySet(models.QuerySet[_M]):
    def visible_to(self, user: MaybeUser) -> Self:
        """CRM records are company data: every active staff user sees them, nobody else.

        Default deny: external users and anonymous visitors get an empty queryset.
        """
        if not is_crm_user(user):
            return self.none()
        return self.all()

    def owned_by(self, user: User) -> Self:
        return self.filter(owner=user)

    def freshness_in(self, state: str, *, now: dt.datetime | None = None) -> Self:
        """Contacts whose derived freshness is ``state`` now: a range on ``last_verified_at``."""
        from crm.decay import DecayPolicy

        return self.filter(DecayPolicy.from_settings().state_q(state, now or timezone.now()))
