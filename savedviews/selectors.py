from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef

from savedviews.models import DefaultView, SavedView

if TYPE_CHECKING:
    from iam.models import User


@dataclass(frozen=True)
class ListViews:
    views: list[SavedView]  # mine and the team's shared ones, each with .is_default
    default: SavedView | None
    active: SavedView | None


def list_views(*, user: User, list_key: str, active_id: str | None = None) -> ListViews:
    """The views menu of one list, in one query."""
    is_default = Exists(DefaultView.objects.filter(user=user, list_key=list_key, view=OuterRef("pk")))
    views = list(
        SavedView.objects.visible_to(user)
        .filter(list_key=list_key)
        .select_related("owner")
        .annotate(is_default=is_default)
        .order_by("name", "id")[:100]
    )
    default = next((v for v in views if getattr(v, "is_default", False)), None)
    active = next((v for v in views if str(v.pk) == (active_id or "")), None)
    return ListViews(views=views, default=default, active=active)
