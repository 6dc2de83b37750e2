"""The sales-rep UI. Views parse, authorize, call one selector or service, and render."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from crm import selectors
from crm.access import staff_required
from crm.filters import (
    AccountFilter,
    ActivityFilter,
    ContactFilter,
    ContractFilter,
    LeadFilter,
    OpportunityFilter,
    SearchFilterSet,
)
from crm.listing import Sort, keyset_page
from iam.permissions import is_crm_user


def home(request: HttpRequest) -> HttpResponse:
    """`/`: staff get their work, external users the portal, visitors the sign-in page."""
    if not request.user.is_authenticated:
        return redirect(reverse("account_login"))
    if not is_crm_user(request.user):
        return redirect(reverse("portal:home"))
    return _my_work(request)


@staff_required
def _my_work(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/home.html", selectors.my_work(user=request.user))


# --- Lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSpec:
    title: str
    template: str
    filterset: type[SearchFilterSet]
    sorts: tuple[Sort, ...]
    new_url_name: str | None = None


def _render_list(request: HttpRequest, spec: ListSpec, queryset) -> HttpResponse:
    filterset = spec.filterset(request.GET or None, queryset=queryset)
    sorts = {sort.key: sort for sort in spec.sorts}
    sort = sorts.get(request.GET.get("sort", ""), spec.sorts[0])
    rows_qs = queryset.none() if filterset.is_bound and not filterset.is_valid() else filterset.qs
    filtered = bool(filterset.is_bound and filterset.form.is_valid() and filterset.is_filtered)
    page = keyset_page(rows_qs, sort=sort, cursor=request.GET.get("cursor"), filtered=filtered)
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "title": spec.title,
        "filter": filterset,
        "page": page,
        "sorts": spec.sorts,
        "sort": sort,
        "base_query": params.urlencode(),
        "filtered": filtered,
        "new_url": reverse(spec.new_url_name) if spec.new_url_name else None,
    }
    template = spec.template
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "list-results":
        template = spec.template.replace(".html", "_rows.html")
    return render(request, template, context)


CONTACT_LIST = ListSpec(
    title="Contacts",
    template="crm/contact_list.html",
    filterset=ContactFilter,
    sorts=(
        Sort("name", "Name A–Z", "last_name"),
        Sort("-name", "Name Z–A", "last_name", descending=True),
        Sort("-updated", "Recently updated", "updated_at", descending=True),
        Sort("-created", "Newest", "created_at", descending=True),
    ),
    new_url_name="crm:contact_create",
)
ACCOUNT_LIST = ListSpec(
    title="Accounts",
    template="crm/account_list.html",
    filterset=AccountFilter,
    sorts=(
        Sort("name", "Name A–Z", "name"),
        Sort("-name", "Name Z–A", "name", descending=True),
        Sort("-created", "Newest", "created_at", descending=True),
    ),
    new_url_name="crm:account_create",
)
LEAD_LIST = ListSpec(
    title="Leads",
    template="crm/lead_list.html",
    filterset=LeadFilter,
    sorts=(
        Sort("-created", "Newest", "created_at", descending=True),
        Sort("-score", "Highest score", "score", descending=True),
        Sort("name", "Name A–Z", "last_name"),
    ),
    new_url_name="crm:lead_create",
)
OPPORTUNITY_LIST = ListSpec(
    title="Opportunities",
    template="crm/opportunity_list.html",
    filterset=OpportunityFilter,
    sorts=(
        Sort("close", "Closing soonest", "expected_close_date"),
        Sort("-close", "Closing latest", "expected_close_date", descending=True),
        Sort("-amount", "Largest amount", "amount", descending=True),
    ),
    new_url_name="crm:opportunity_create",
)
CONTRACT_LIST = ListSpec(
    title="Contracts",
    template="crm/contract_list.html",
    filterset=ContractFilter,
    sorts=(
        Sort("end", "Ending soonest", "end_date"),
        Sort("-end", "Ending latest", "end_date", descending=True),
        Sort("number", "Number", "number"),
    ),
    new_url_name="crm:contract_create",
)
ACTIVITY_LIST = ListSpec(
    title="Activities",
    template="crm/activity_list.html",
    filterset=ActivityFilter,
    sorts=(
        Sort("-occurred", "Most recent", "occurred_at", descending=True),
        Sort("occurred", "Oldest", "occurred_at"),
    ),
)


@staff_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, CONTACT_LIST, selectors.contact_list(user=request.user))


@staff_required
def account_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, ACCOUNT_LIST, selectors.account_list(user=request.user))


@staff_required
def lead_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, LEAD_LIST, selectors.lead_list(user=request.user))


@staff_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, OPPORTUNITY_LIST, selectors.opportunity_list(user=request.user))


@staff_required
def contract_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, CONTRACT_LIST, selectors.contract_list(user=request.user))


@staff_required
def activity_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, ACTIVITY_LIST, selectors.activity_list(user=request.user))


# --- Placeholders until the record pages land ----------------------------------------------
def _todo(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return HttpResponse("Not yet", status=501)


account_create = account_detail = account_edit = account_timeline = staff_required(_todo)
contact_create = contact_detail = contact_edit = contact_verify = staff_required(_todo)
lead_create = lead_detail = lead_edit = lead_convert = staff_required(_todo)
opportunity_create = opportunity_detail = opportunity_edit = staff_required(_todo)
contract_create = contract_detail = contract_edit = staff_required(_todo)
activity_create = activity_toggle_done = staff_required(_todo)
