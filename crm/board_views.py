"""The opportunity board's pages: the board, a column's next cards, and moving a card."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.http import AuthenticatedHttpRequest, safe_next
from crm import selectors, services
from crm.board import BoardFilterForm, board, board_column_page, board_queryset, column_totals
from crm.models import Opportunity


def _filter_form(request: AuthenticatedHttpRequest) -> BoardFilterForm:
    data = {k: v for k, v in request.GET.items() if k in BoardFilterForm.base_fields and v}
    return BoardFilterForm(data or None)


def _card_context(request: AuthenticatedHttpRequest) -> dict[str, object]:
    """What every card needs, worked out once per page rather than once per card."""
    from django.utils import timezone

    return {
        "stages": Opportunity.Stage.choices,
        "open_stages": [str(s) for s in Opportunity.OPEN_STAGES],
        "today": timezone.localdate(),
        # "/opportunities/": a card's page is <prefix><pk>/, its move <prefix><pk>/stage/.
        "move_prefix": reverse("crm:opportunity_list"),
        "board_path": request.get_full_path(),
    }


def _filter_query(request: AuthenticatedHttpRequest) -> str:
    params = request.GET.copy()
    for key in list(params):
        if key not in BoardFilterForm.base_fields:
            params.pop(key)
    return params.urlencode()


@staff_required
def opportunity_board(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = _filter_form(request)
    context = {
        "columns": board(user=request.user, form=form),
        "form": form,
        "filter_query": _filter_query(request),
        "filtered": form.is_bound,
        **_card_context(request),
    }
    return render(request, "crm/opportunity_board.html", context)


@staff_required
def opportunity_board_column(request: AuthenticatedHttpRequest, stage: str) -> HttpResponse:
    """A column's next cards (htmx "Load more")."""
    if stage not in Opportunity.Stage.values:
        raise Http404("No such stage.")
    form = _filter_form(request)
    page = board_column_page(user=request.user, stage=stage, form=form, cursor=request.GET.get("cursor"))
    context = {
        "cards": page.items,
        "stage": stage,
        "next_cursor": page.next_cursor,
        "filter_query": _filter_query(request),
        **_card_context(request),
        "board_path": reverse("crm:opportunity_board"),
    }
    return render(request, "crm/_board_cards.html", context)


@staff_required
@require_POST
def opportunity_move(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """Move a deal to another stage (a drop on the board, or its stage menu) through the service."""
    opportunity = get_object_or_404(selectors.opportunity_list(user=request.user), pk=pk)
    stage = request.POST.get("stage", "")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        opportunity = services.opportunity_set_stage(actor=request.user, opportunity=opportunity, stage=stage)
    except (ValidationError, BusinessRuleViolation) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        if wants_json:
            return JsonResponse({"error": message}, status=400)
        messages.error(request, f"“{opportunity}” was not moved: {message}")
        return redirect(safe_next(request, reverse("crm:opportunity_board")))
    if wants_json:
        form = _filter_form(request)
        totals = column_totals(board_queryset(user=request.user, form=form))
        return JsonResponse(
            {
                "id": opportunity.pk,
                "stage": opportunity.stage,
                "stage_label": opportunity.get_stage_display(),
                "probability": opportunity.probability,
                "columns": {
                    stage: {
                        "count": row["count"],
                        "total": f"{row['total']:,.0f}",
                        "weighted": f"{row['weighted']:,.0f}",
                    }
                    for stage, row in totals.items()
                },
            }
        )
    messages.success(request, f"“{opportunity}” moved to {opportunity.get_stage_display()}.")
    return redirect(safe_next(request, reverse("crm:opportunity_board")))
