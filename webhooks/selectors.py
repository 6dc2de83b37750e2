"""Reads for the staff pages: endpoints with their health, and an endpoint's delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import Delivery, Endpoint


def endpoints_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.select_related("created_by").order_by("-created_at", "-id")


def endpoint_deliveries(endpoint: Endpoint, *, state: str = "") -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if state:
        qs = qs.filter(state=state)
    return qs


def endpoint_delivery(endpoint: Endpoint, delivery_pk: int) -> QuerySet[Delivery]:
    """This endpoint's delivery (another endpoint's id finds nothing), with its attempts."""
    return (
        Delivery.objects.filter(endpoint=endpoint, pk=delivery_pk)
        .select_related("event", "endpoint")
        .prefetch_related("attempts")
    )


def endpoint_queue_size(endpoint: Endpoint, *, limit: int = 1000) -> int:
    """Deliveries waiting to be sent, counted up to ``limit``."""
    return len(
        Delivery.objects.filter(
            endpoint=endpoint, state__in=[Delivery.State.PENDING, Delivery.State.SENDING]
        ).values_list("pk", flat=True)[:limit]
    )
