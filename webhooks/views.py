"""Staff pages of webhook endpoints: operations register, watch and repair them.

Anonymous visitors go to sign-in and external users get a 404 (``staff_required``); staff
other than operations get a 403. Every write goes through ``webhooks.services``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from core.listing import Sort, keyset_page
from webhooks import selectors, services
from webhooks.events import EVENT_TYPES
from webhooks.forms import DELIVERY_STATE_FILTERS, EndpointForm
from webhooks.models import Delivery, Endpoint
from webhooks.permissions import can_manage_webhooks
from webhooks.sealing import seal, unseal

# The new secret travels to the next page in the session, sealed like the stored one (the
# session table must not hold it in clear text either), and is shown there once.
_SESSION_SECRET = "webhooks_new_secret"  # noqa: S105 - a session key name
P = ParamSpec("P")
_LOG_SORT = Sort(key="-created", label="Newest first", field="created_at", descending=True)


def operations_required(
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    @staff_required
    @wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not can_manage_webhooks(request.user):
            raise PermissionDenied("Only operations manage webhook endpoints.")
        return view(request, *args, **kwargs)

    return wrapper


def _endpoint(endpoint_pk: int) -> Endpoint:
    return get_object_or_404(Endpoint.objects.select_related("created_by"), pk=endpoint_pk)


def _show_secret_once(request: HttpRequest, endpoint: Endpoint) -> None:
    request.session[_SESSION_SECRET] = {"endpoint": endpoint.pk, "secret": seal(endpoint.secret)}


@operations_required
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = list(selectors.endpoints_list())
    return render(request, "webhooks/endpoint_list.html", {"endpoints": endpoints, "nav_section": "webhooks"})


@operations_required
def endpoint_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                actor=request.user,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.chosen_event_types,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            _show_secret_once(request, endpoint)
            messages.success(request, "The endpoint is registered. Copy its signing secret now.")
            return redirect(endpoint.get_absolute_url())
    return render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "event_types": EVENT_TYPES, "nav_section": "webhooks", "endpoint": None},
    )


@operations_required
def endpoint_edit(request: AuthenticatedHttpRequest, endpoint_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "all_events": not endpoint.event_types,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(
                actor=request.user,
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.chosen_event_types,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "The endpoint is saved.")
            return redirect(endpoint.get_absolute_url())
    return render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "event_types": EVENT_TYPES, "nav_section": "webhooks", "endpoint": endpoint},
    )


@never_cache  # it may show a new signing secret
@operations_required
def endpoint_detail(request: HttpRequest, endpoint_pk: int) -> HttpResponse:
    """The endpoint, its health, and its delivery log (newest first, filtered by state)."""
    endpoint = _endpoint(endpoint_pk)
    new_secret = None
    shown = request.session.get(_SESSION_SECRET)
    if shown and shown.get("endpoint") == endpoint.pk:
        new_secret = unseal(request.session.pop(_SESSION_SECRET)["secret"])
    state = request.GET.get("state", "")
    if state not in Delivery.State.values:
        state = ""
    page = keyset_page(
        selectors.endpoint_deliveries(endpoint, state=state),
        sort=_LOG_SORT,
        cursor=request.GET.get("cursor"),
        count=False,
    )
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "new_secret": new_secret,
            "page": page,
            "state": state,
            "state_filters": DELIVERY_STATE_FILTERS,
            "base_query": urlencode({"state": state}) if state else "",
            "queue_size": selectors.endpoint_queue_size(endpoint),
            "nav_section": "webhooks",
        },
    )


@operations_required
def delivery_detail(request: HttpRequest, endpoint_pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    delivery = get_object_or_404(selectors.endpoint_delivery(endpoint, delivery_pk))
    try:
        payload = json.dumps(delivery.event.payload, indent=2, ensure_ascii=False)
    except ValueError:
        payload = delivery.event.body
    return render(
        request,
        "webhooks/delivery_detail.html",
        {"endpoint": endpoint, "delivery": delivery, "payload": payload, "nav_section": "webhooks"},
    )


def _act(request: HttpRequest, endpoint: Endpoint, action: Callable[[], object], done: str) -> HttpResponse:
    try:
        action()
    except (BusinessRuleViolation, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, done)
    return redirect(endpoint.get_absolute_url())


@require_POST
@operations_required
def endpoint_disable(request: AuthenticatedHttpRequest, endpoint_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    reason = request.POST.get("reason", "")[:300]
    return _act(
        request,
        endpoint,
        lambda: services.endpoint_disable(actor=request.user, endpoint=endpoint, reason=reason),
        "The endpoint is disabled: nothing more is sent to it.",
    )


@require_POST
@operations_required
def endpoint_enable(request: AuthenticatedHttpRequest, endpoint_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    return _act(
        request,
        endpoint,
        lambda: services.endpoint_enable(actor=request.user, endpoint=endpoint),
        "The endpoint is enabled. New events go to it again.",
    )


@require_POST
@operations_required
def endpoint_rotate_secret(request: AuthenticatedHttpRequest, endpoint_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    rotated = services.endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
    _show_secret_once(request, rotated)
    messages.success(request, "A new signing secret is in use. Copy it now; the old one keeps working for a while.")
    return redirect(endpoint.get_absolute_url())


@require_POST
@operations_required
def endpoint_send_test(request: AuthenticatedHttpRequest, endpoint_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    return _act(
        request,
        endpoint,
        lambda: services.endpoint_send_test(actor=request.user, endpoint=endpoint),
        "A test event is on its way. Its delivery is at the top of the log.",
    )


@require_POST
@operations_required
def delivery_redeliver(request: AuthenticatedHttpRequest, endpoint_pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = _endpoint(endpoint_pk)
    delivery = get_object_or_404(selectors.endpoint_delivery(endpoint, delivery_pk))
    return _act(
        request,
        endpoint,
        lambda: services.delivery_redeliver(actor=request.user, delivery=delivery),
        f"{delivery.event.type} is queued for delivery again.",
    )
