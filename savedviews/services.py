"""Saving, sharing, removing and choosing the default of a list's views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import QueryDict

from iam.permissions import is_crm_user
from savedviews.models import DefaultView, SavedView

if TYPE_CHECKING:
    from iam.models import User

LIST_KEYS = ("accounts", "contacts", "leads", "opportunities", "contracts", "activities", "cases")
# Not part of a view: where a page of it starts, and which view it came from.
_NOT_SAVED = ("cursor", "view")


def _clean_query(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for key in _NOT_SAVED:
        params.pop(key, None)
    for key in [k for k, v in params.lists() if not any(v)]:
        params.pop(key)
    return params.urlencode()


def saved_view_save(
    *,
    actor: User,
    list_key: str,
    name: str,
    query: str,
    hidden_columns: list[str],
    shared: bool = False,
    make_default: bool = False,
) -> SavedView:
    """Save the list as it is shown under ``name``; the same name again replaces that view."""
    if not is_crm_user(actor):
        raise PermissionDenied("Only staff users save views of the CRM lists.")
    name = " ".join(name.split())
    if list_key not in LIST_KEYS:
        raise ValidationError({"list_key": "No such list."})
    if not name:
        raise ValidationError({"name": "Give the view a name."})
    with transaction.atomic():
        view, _created = SavedView.objects.update_or_create(
            owner=actor,
            list_key=list_key,
            name=name[:80],
            defaults={
                "query": _clean_query(query)[:2000],
                "hidden_columns": [str(c)[:60] for c in hidden_columns][:30],
                "shared": shared,
            },
        )
        if make_default:
            saved_view_make_default(actor=actor, view=view)
    return view


def saved_view_make_default(*, actor: User, view: SavedView | None, list_key: str = "") -> None:
    """Open ``list_key`` (or the view's list) with ``view`` from now on; None: with no filters."""
    if view is not None and not SavedView.objects.visible_to(actor).filter(pk=view.pk).exists():
        raise PermissionDenied("This view is not yours or shared with you.")
    key = view.list_key if view is not None else list_key
    if view is None:
        DefaultView.objects.filter(user=actor, list_key=key).delete()
        return
    DefaultView.objects.update_or_create(user=actor, list_key=key, defaults={"view": view})


def saved_view_delete(*, actor: User, view: SavedView) -> None:
    if view.owner_id != actor.pk:
        raise PermissionDenied("Only the person who saved a view removes it.")
    view.delete()
