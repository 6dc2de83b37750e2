"""Where the rest of the product tells workflows that something happened: the hooks.

``history.services`` (every record create/change), ``iam.audit`` (product events) and the SLA scan
(cases breaching) call these inside their transaction. Nothing is read or queued then: the hook
registers a ``transaction.on_commit`` callback, which — only if some enabled rule listens to that
kind of event (a cached index, no query) — queues the ``workflows.dispatch`` Celery task with the
rows' ids and the workflow depth of the change. A change that rolls back triggers nothing, and a
broker that is down never fails the user's change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction

from core.context import current_workflow_depth
from workflows.events import AUDIT_ACTIONS

logger = logging.getLogger(__name__)

INDEX_KEY = "workflows:listening:v1"
INDEX_SECONDS = 60
WATCHED = frozenset({"crm.account", "crm.contact", "crm.lead", "crm.opportunity", "crm.contract", "cases.case"})


def listening() -> dict[str, set[str]]:
    """{"history": record types with enabled record rules, "event": product events with enabled rules}."""
    index = cache.get(INDEX_KEY)
    if index is None:
        from workflows.models import Rule, Trigger

        index = {"history": set(), "event": set()}
        for record_type, trigger, event in Rule.objects.filter(enabled=True).values_list(
            "record_type", "trigger", "event"
        ):
            if trigger in (Trigger.CREATED, Trigger.CHANGED, Trigger.SAVED):
                index["history"].add(record_type)
            elif trigger == Trigger.EVENT:
                index["event"].add(event)
        cache.set(INDEX_KEY, index, INDEX_SECONDS)
    return index


def forget_index() -> None:
    cache.delete(INDEX_KEY)
    transaction.on_commit(lambda: cache.delete(INDEX_KEY))


def _enqueue(source: str, items: list[tuple[int, str]], depth: int) -> None:
    try:
        index = listening()
        wanted = index["history"] if source == "history" else index["event"]
        ids = [pk for pk, key in items if key in wanted]
        if not ids:
            return
        from workflows.tasks import workflows_dispatch

        workflows_dispatch.delay(source, ids, depth)
    except Exception:
        logger.exception("Could not queue workflow rules for %s %s", source, items[:5])


def history_written(rows: Iterable[Any]) -> None:
    items = [(r.pk, r.record_type) for r in rows if r is not None and r.record_type in WATCHED and r.kind != "deleted"]
    if items:
        transaction.on_commit(partial(_enqueue, "history", items, current_workflow_depth()))


def audit_written(events: Iterable[Any]) -> None:
    items = [(e.pk, AUDIT_ACTIONS[e.action]) for e in events if e.action in AUDIT_ACTIONS]
    if items:
        transaction.on_commit(partial(_enqueue, "audit", items, current_workflow_depth()))


def cases_breached(case_ids: Iterable[int]) -> None:
    items = [(pk, "case.breached") for pk in case_ids]
    if items:
        transaction.on_commit(partial(_enqueue, "breach", items, current_workflow_depth()))
