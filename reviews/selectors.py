"""Reads of access reviews, scoped to who may see them: staff see every account's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from iam.permissions import can_see_review_completion
from reviews.models import AccessReview

if TYPE_CHECKING:
    from iam.models import User


def access_reviews_visible_to(*, user: User) -> QuerySet[AccessReview]:
    if not can_see_review_completion(user):
        return AccessReview.objects.none()
    return AccessReview.objects.select_related("account", "completed_by")
