"""The data-health report for sales, and "send reconfirmation to these". Views parse, call, render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics import selectors, services
from core.access import staff_required
from core.http import AuthenticatedHttpRequest
from crm import selectors as crm_selectors
from iam.models import User
from iam.permissions import manages_owners
from reviews import selectors as review_selectors


def _trend_chart(trend: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    def share(row: Mapping[str, Any], key: str) -> float:
        total = row["fresh"] + row["ageing"] + row["stale"]
        return round(100 * row[key] / total, 1) if total else 0.0

    return {
        "labels": [row["day"].isoformat() for row in trend],
        "fresh": [share(row, "fresh") for row in trend],
        "ageing": [share(row, "ageing") for row in trend],
        "stale": [share(row, "stale") for row in trend],
    }


@staff_required
def data_health(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    health = selectors.data_health(user=user)
    context = {
        "health": health,
        "snapshot": health.snapshot,
        "trend_chart": _trend_chart(health.trend),
        "can_send_mine": services.can_request_reconfirmation(user, owner=user),
        # (row, may this user send for it): pure checks on already-loaded rows, no queries.
        "top_accounts": [
            (row, services.can_request_reconfirmation(user, account=row.account)) for row in health.top_accounts
        ],
        "owners": [(row, services.can_request_reconfirmation(user, owner=row.owner)) for row in health.owners],
        "interval_days": settings.DECAY_RECONFIRMATION_INTERVAL_DAYS,
        "loops": selectors.data_health_loops(user=user, total=health.snapshot.total if health.snapshot else 0),
        # Issue 19: who reaches the contacts no automatic loop reaches.
        "coverage": review_selectors.org_admin_coverage(user=user),
        "team_needs_org_admin": review_selectors.accounts_needing_org_admin(user=user, mine=not manages_owners(user)),
        "verification_completion": review_selectors.verification_completion(user=user),
        "verification_size": settings.DECAY_VERIFICATION_QUEUE_SIZE,
    }
    return render(request, "analytics/data_health.html", context)


def _posted_id(request: HttpRequest, name: str) -> int:
    """A posted id; not a number is the same 404 as an unknown id (not a 500)."""
    value = request.POST.get(name, "")
    if not value.isdecimal():
        raise Http404("No such record.")
    return int(value)


@staff_required
@require_POST
def reconfirmation_run_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    account = owner = None
    if request.POST.get("account"):
        account = get_object_or_404(crm_selectors.account_list(user=request.user), pk=_posted_id(request, "account"))
    elif request.POST.get("owner"):
        owner = get_object_or_404(User.objects.staff(), pk=_posted_id(request, "owner"))
    else:
        raise Http404("Say whose contacts.")
    try:
        run = services.reconfirmation_run_start(actor=request.user, account=account, owner=owner)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("analytics:data_health")
    return redirect(f"{reverse('analytics:data_health')}?run={run.pk}#runs")


@staff_required
def reconfirmation_run_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = selectors.reconfirmation_run_for(user=request.user, run_id=pk)
    if run is None:
        raise Http404("No such run.")
    return render(request, "analytics/_run_row.html", {"run": run})
