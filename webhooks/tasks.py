"""Thin tasks: ids in, one service call. Each is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.delivery_send")
def delivery_send_task(delivery_id: int) -> str | None:
    return services.delivery_send(delivery_id=delivery_id)


@shared_task(name="webhooks.deliveries_enqueue_range")
def deliveries_enqueue_range_task(first_id: int, last_id: int) -> int:
    return services.deliveries_enqueue_range(first_id=first_id, last_id=last_id)


@shared_task(name="webhooks.deliveries_dispatch_due")
def deliveries_dispatch_due_task() -> int:
    return services.deliveries_dispatch_due()


@shared_task(name="webhooks.endpoint_disabled_notify")
def endpoint_disabled_notify_task(endpoint_id: int) -> int:
    return services.endpoint_disabled_notify(endpoint_id=endpoint_id)


@shared_task(name="webhooks.events_prune")
def events_prune_task() -> int:
    return services.events_prune()
