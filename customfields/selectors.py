"""Reading custom field definitions: the active ones of a record type, in form order.

A page reads the definitions of one record type many times (form, detail, list columns, the
API serializer): ``fields_for`` takes them from the shared cache, at most once per request
(``customfields.middleware``) and model.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

from django.core.cache import caches

from customfields.models import CustomField

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from iam.permissions import MaybeUser

_request_cache: contextvars.ContextVar[dict[tuple[str, bool | None], list[CustomField]] | None] = (
    contextvars.ContextVar("customfields_request_cache", default=None)
)

# The definitions are also kept in the shared cache (Redis in production): a list page or API
# call then costs no query for them. Every change forgets them (``forget_cached_fields``); the
# timeout bounds how long a change made behind the services' back (a raw UPDATE) goes unseen.
CACHE_SECONDS = 300

MODEL_LABELS = tuple(value for value, _label in CustomField.RecordType.choices)


def start_request_cache() -> contextvars.Token:
    return _request_cache.set({})


def end_request_cache(token: contextvars.Token) -> None:
    _request_cache.reset(token)


class _SharedCache:
    """The ``customfields`` cache alias when configured (it is, in config/settings), else the default one."""

    def __getattr__(self, name: str):
        from django.conf import settings

        return getattr(caches["customfields" if "customfields" in settings.CACHES else "default"], name)


shared_cache = _SharedCache()


def _cache_key(model_label: str) -> str:
    return f"customfields:definitions:v1:{model_label}"


def forget_cached_fields() -> None:
    """A definition changed: every process reads them again (now, and once the change commits)."""
    from django.db import transaction

    cache = _request_cache.get()
    if cache is not None:
        cache.clear()
    keys = [_cache_key(label) for label in MODEL_LABELS]
    shared_cache.delete_many(keys)
    # A request may read the old rows between now and the commit: forget again then.
    transaction.on_commit(lambda: shared_cache.delete_many(keys))


def _definitions(model_label: str) -> list[CustomField]:
    """Every definition of the record type (archived too): from this request's copy, else the shared cache."""
    cache = _request_cache.get()
    if cache is not None and (model_label, None) in cache:
        return cache[(model_label, None)]
    key = _cache_key(model_label)
    fields = shared_cache.get(key)
    if fields is None:
        fields = list(CustomField.objects.filter(model=model_label).order_by("position", "id"))
        shared_cache.set(key, fields, CACHE_SECONDS)
    return fields


def preload_definitions() -> None:
    """At the start of a request: every record type's definitions in one cache round trip (and at
    most one query, when the cache lost them), so a page costs the same queries whatever it shows."""
    cache = _request_cache.get()
    if cache is None:
        return
    keys = {label: _cache_key(label) for label in MODEL_LABELS}
    found = shared_cache.get_many(list(keys.values()))
    if len(found) < len(keys):
        by_model: dict[str, list[CustomField]] = {label: [] for label in MODEL_LABELS}
        for field in CustomField.objects.order_by("position", "id"):
            by_model.setdefault(field.model, []).append(field)
        found = {keys[label]: fields for label, fields in by_model.items() if label in keys}
        shared_cache.set_many(found, CACHE_SECONDS)
    for label, key in keys.items():
        cache[(label, None)] = found[key]


def fields_for(model_label: str, *, include_archived: bool = False) -> list[CustomField]:
    """Active definitions of ``model_label`` ("crm.contact") in position order (archived ones too if asked)."""
    cache = _request_cache.get()
    cache_key = (model_label, include_archived)
    if cache is not None and cache_key in cache:
        return cache[cache_key]
    fields = _definitions(model_label)
    if not include_archived:
        fields = [f for f in fields if f.archived_at is None]
    if cache is not None:
        cache[cache_key] = fields
    return fields


def field_for(model_label: str, key: str) -> CustomField | None:
    return next((f for f in fields_for(model_label) if f.key == key), None)


def custom_field_list(*, user: MaybeUser, model_label: str | None = None) -> QuerySet[CustomField]:
    """Every definition (archived too) for the definitions page; staff only."""
    from iam.permissions import is_crm_user

    if not is_crm_user(user):
        return CustomField.objects.none()
    qs = CustomField.objects.select_related("created_by")
    if model_label:
        qs = qs.filter(model=model_label)
    return qs.order_by("model", "archived_at", "position", "id")


def portal_fields(model_label: str, *, editable_only: bool = False) -> list[CustomField]:
    """What a customer may see of a record in the portal (only what ops marked visible or editable)."""
    wanted = (
        {CustomField.PortalVisibility.EDITABLE}
        if editable_only
        else {CustomField.PortalVisibility.VISIBLE, CustomField.PortalVisibility.EDITABLE}
    )
    return [f for f in fields_for(model_label) if f.portal_visibility in wanted]
