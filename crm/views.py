"""The sales-rep UI. Views parse, authorize, call one selector or service, and render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest, safe_next
from core.listing import Page, Sort, keyset_page
from crm import selectors, services
from crm.filters import (
    AccountFilter,
    ActivityFilter,
    ContactFilter,
    ContractFilter,
    LeadFilter,
    OpportunityFilter,
    SearchFilterSet,
)
from crm.forms import (
    AccountForm,
    ActivityForm,
    ContactForm,
    ContractForm,
    LeadConvertForm,
    LeadForm,
    OpportunityForm,
    RecordForm,
)
from customfields.listing import add_custom_filters, custom_columns, custom_sorts
from customfields.selectors import MODEL_LABELS as CUSTOM_FIELD_MODELS
from dedup.redirects import follow_merges
from dedup.selectors import likely_duplicates
from history.selectors import record_history_page
from iam.permissions import is_crm_user, lands_on_team_dashboard
from invitations.selectors import account_invitations, invite_button
from reviews.selectors import accounts_needing_org_admin, verification_queue


def home(request: HttpRequest) -> HttpResponseBase:
    """`/`: staff get their work, external users the portal, visitors the sign-in page."""
    if not request.user.is_authenticated:
        return redirect(reverse("account_login"))
    if not is_crm_user(request.user):
        return redirect(reverse("portal:home"))
    if lands_on_team_dashboard(request.user) and request.GET.get("view") != "mine":
        from analytics.report_views import team_dashboard  # analytics reads crm: import it late

        return team_dashboard(request)
    return _my_work(request)


# --- Lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSpec:
    title: str
    template: str
    filterset: type[SearchFilterSet]
    sorts: tuple[Sort, ...]
    new_url_name: str | None = None
    bulk_resource: str | None = None  # crm.bulk.RESOURCES key: the list's bulk actions


def _render_list(request: AuthenticatedHttpRequest, spec: ListSpec, queryset) -> HttpResponseBase:
    from savedviews.selectors import list_views

    saved = list_views(user=request.user, list_key=spec.bulk_resource or "", active_id=request.GET.get("view"))
    if not request.GET and saved.default is not None and not _is_htmx(request):
        # The person's default view; "?view=" opens the list without one.
        query = f"{saved.default.query}&" if saved.default.query else ""
        return redirect(f"{request.path}?{query}view={saved.default.pk}")
    filterset = spec.filterset(request.GET or None, queryset=queryset)
    model_label = queryset.model._meta.label_lower
    all_sorts, custom_filters, columns = spec.sorts, [], None
    if model_label in CUSTOM_FIELD_MODELS:
        # The record type's custom fields: filters and sorts by index, and the columns chosen.
        custom_filters = add_custom_filters(filterset, model_label)
        all_sorts = (*spec.sorts, *custom_sorts(model_label))
        columns = custom_columns(model_label, request.GET)
    sorts = {sort.key: sort for sort in all_sorts}
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
        "sorts": all_sorts,
        "sort": sort,
        "custom_filters": [filterset.form[name] for name in custom_filters],
        "custom_columns": columns.shown if columns else [],
        "column_choices": columns.available if columns else [],
        "base_query": params.urlencode(),
        "filtered": filtered,
        "new_url": reverse(spec.new_url_name) if spec.new_url_name else None,
        **_bulk_context(spec),
        "saved_views": saved,
        "list_key": spec.bulk_resource,
    }
    template = spec.template
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "list-results":
        template = spec.template.replace(".html", "_rows.html")
    return render(request, template, context)


def _bulk_context(spec: ListSpec) -> dict[str, Any]:
    from crm.bulk import RESOURCES
    from iam.models import User

    resource = RESOURCES.get(spec.bulk_resource or "")
    if resource is None:
        return {}
    return {
        "bulk_actions": resource.actions,
        "bulk_statuses": resource.status_choices,
        "bulk_owners": User.objects.staff().filter(is_active=True).order_by("first_name", "last_name"),
    }


CONTACT_LIST = ListSpec(
    title="Contacts",
    bulk_resource="contacts",
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
    bulk_resource="accounts",
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
    bulk_resource="leads",
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
    bulk_resource="opportunities",
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
    bulk_resource="contracts",
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
    bulk_resource="activities",
    template="crm/activity_list.html",
    filterset=ActivityFilter,
    sorts=(
        Sort("-occurred", "Most recent", "occurred_at", descending=True),
        Sort("occurred", "Oldest", "occurred_at"),
    ),
)


@staff_required
def contact_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _render_list(request, CONTACT_LIST, selectors.contact_list(user=request.user))


@staff_required
def account_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _render_list(request, ACCOUNT_LIST, selectors.account_list(user=request.user))


@staff_required
def lead_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _render_list(request, LEAD_LIST, selectors.lead_list(user=request.user))


@staff_required
def opportunity_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _render_list(request, OPPORTUNITY_LIST, selectors.opportunity_list(user=request.user))


@staff_required
def contract_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _render_list(request, CONTRACT_LIST, selectors.contract_list(user=request.user))


@staff_required
def activity_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _render_list(request, ACTIVITY_LIST, selectors.activity_list(user=request.user))


# --- Shared helpers for record pages ----------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# The records an activity can be logged on, each found through the user's visible records.
TIMELINE_TARGETS: dict[str, tuple[Callable[..., QuerySet], str]] = {
    "account": (selectors.account_list, "crm:account_timeline"),
    "contact": (selectors.contact_list, "crm:contact_timeline"),
    "lead": (selectors.lead_list, "crm:lead_timeline"),
    "opportunity": (selectors.opportunity_list, "crm:opportunity_timeline"),
}


def _timeline_target(request: HttpRequest, target_type: str, pk: Any):
    if target_type not in TIMELINE_TARGETS:
        raise Http404("No such record.")
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such record.") from None
    selector, _ = TIMELINE_TARGETS[target_type]
    return get_object_or_404(selector(user=request.user), pk=pk)


def _timeline_context(
    request: HttpRequest,
    *,
    target_type: str,
    target: Any,
    page: Page,
    form: ActivityForm | None = None,
    next_url: str | None = None,
) -> dict[str, Any]:
    if form is None:
        form = ActivityForm(
            initial={"target_type": target_type, "target_id": target.pk, "next": next_url or request.path}
        )
    return {
        "timeline": page,
        "timeline_url": reverse(TIMELINE_TARGETS[target_type][1], args=[target.pk]),
        "timeline_target_type": target_type,
        "timeline_target": target,  # cases join an account's or contact's timeline (cases.templatetags)
        "activity_form": form,
    }


def _timeline_view(request: AuthenticatedHttpRequest, target_type: str, pk: int) -> HttpResponse:
    """The next page of a record's timeline: a fragment for htmx, else the record page at that page."""
    target = _timeline_target(request, target_type, pk)
    cursor = request.GET.get("cursor")
    if not _is_htmx(request):
        url = target.get_absolute_url()
        return redirect(f"{url}?{urlencode({'cursor': cursor})}#timeline" if cursor else url)
    page = selectors.activity_timeline(user=request.user, cursor=cursor, **{target_type: target})
    context = {
        "timeline": page,
        "timeline_url": reverse(TIMELINE_TARGETS[target_type][1], args=[target.pk]),
        "timeline_target_type": target_type,
        "timeline_target": target,
    }
    return render(request, "crm/_timeline_items.html", context)


# --- My work ----------------------------------------------------------------------------------


def _greeting(now: dt.datetime) -> str:
    if now.hour < 12:
        return "Good morning"
    if now.hour < 18:
        return "Good afternoon"
    return "Good evening"


@staff_required
def _my_work(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = selectors.my_work(user=request.user)
    pipeline = selectors.pipeline_by_stage(user=request.user)
    # Issue 19: the contacts no automatic loop reaches, and the customers without an org admin.
    context.update(
        verification=verification_queue(user=request.user),
        needs_org_admin=accounts_needing_org_admin(user=request.user),
    )
    context.update(
        greeting=_greeting(timezone.localtime()),
        pipeline=pipeline,
        pipeline_total=sum(row["total"] for row in pipeline),
        pipeline_count=sum(row["count"] for row in pipeline),
        pipeline_chart={
            "labels": [row["label"] for row in pipeline],
            "totals": [row["total"] for row in pipeline],
            "counts": [row["count"] for row in pipeline],
        },
    )
    return render(request, "crm/home.html", context)


# --- Create and edit --------------------------------------------------------------------------


@dataclass(frozen=True)
class FormSpec:
    noun: str
    plural: str
    form_class: type[RecordForm]
    save: Callable[..., Any]  # (actor, record, form) -> saved record, through a service
    list_url_name: str
    icon: str


def _save_account(*, actor, record, form):
    return services.account_save(actor=actor, account=record, domains=form.cleaned_data["email_domains"])


ACCOUNT_FORM = FormSpec("account", "Accounts", AccountForm, _save_account, "crm:account_list", "building")
CONTACT_FORM = FormSpec(
    "contact",
    "Contacts",
    ContactForm,
    lambda *, actor, record, form: services.contact_save(actor=actor, contact=record),
    "crm:contact_list",
    "person-lines-fill",
)
LEAD_FORM = FormSpec(
    "lead",
    "Leads",
    LeadForm,
    lambda *, actor, record, form: services.lead_save(actor=actor, lead=record),
    "crm:lead_list",
    "funnel",
)
OPPORTUNITY_FORM = FormSpec(
    "opportunity",
    "Opportunities",
    OpportunityForm,
    lambda *, actor, record, form: services.opportunity_save(actor=actor, opportunity=record),
    "crm:opportunity_list",
    "graph-up-arrow",
)
CONTRACT_FORM = FormSpec(
    "contract",
    "Contracts",
    ContractForm,
    lambda *, actor, record, form: services.contract_save(actor=actor, contract=record),
    "crm:contract_list",
    "file-earmark-text",
)


def _record_form(
    request: AuthenticatedHttpRequest, spec: FormSpec, instance: Any = None, initial: dict[str, Any] | None = None
) -> HttpResponse:
    # Taken before binding: an invalid form mutates its instance, the header must not show that.
    record_label = str(instance) if instance is not None else ""
    if request.method == "POST":
        form = spec.form_class(request.POST, instance=instance, user=request.user)
        if form.is_valid():
            record = form.save(commit=False)
            duplicates = [] if request.POST.get("save_anyway") else likely_duplicates(record, user=request.user)
            if duplicates:
                # Likely the same person or company: say so before saving (issue 14), with links.
                context = {
                    "form": form,
                    "spec": spec,
                    "record": instance,
                    "record_label": record_label,
                    "cancel_url": instance.get_absolute_url() if instance is not None else reverse(spec.list_url_name),
                    "duplicates": duplicates,
                }
                return render(request, "crm/record_form.html", context, status=409)
            try:
                record = spec.save(actor=request.user, record=record, form=form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except BusinessRuleViolation as exc:
                form.add_error(None, str(exc))
            else:
                verb = "saved" if instance is not None else "created"
                messages.success(request, f"{spec.noun.capitalize()} “{record}” {verb}.")
                return redirect(record)
    else:
        form = spec.form_class(instance=instance, initial=initial, user=request.user)
    context = {
        "form": form,
        "spec": spec,
        "record": instance,
        "record_label": record_label,
        "cancel_url": instance.get_absolute_url() if instance is not None else reverse(spec.list_url_name),
    }
    return render(request, "crm/record_form.html", context, status=200)


def _initial_account(request: HttpRequest) -> dict[str, Any]:
    """``?account=<id>`` from an account page preselects it in a new contact/deal/contract."""
    account = request.GET.get("account", "")
    return {"account": int(account)} if account.isdecimal() else {}


@staff_required
def account_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _record_form(request, ACCOUNT_FORM)


@staff_required
def account_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _record_form(request, ACCOUNT_FORM, get_object_or_404(selectors.account_list(user=request.user), pk=pk))


@staff_required
def contact_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _record_form(request, CONTACT_FORM, initial=_initial_account(request))


@staff_required
def contact_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _record_form(request, CONTACT_FORM, get_object_or_404(selectors.contact_list(user=request.user), pk=pk))


@staff_required
def lead_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _record_form(request, LEAD_FORM)


@staff_required
def lead_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _record_form(request, LEAD_FORM, get_object_or_404(selectors.lead_list(user=request.user), pk=pk))


@staff_required
def opportunity_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _record_form(request, OPPORTUNITY_FORM, initial=_initial_account(request))


@staff_required
def opportunity_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(selectors.opportunity_list(user=request.user), pk=pk)
    return _record_form(request, OPPORTUNITY_FORM, opportunity)


@staff_required
def contract_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _record_form(request, CONTRACT_FORM, initial=_initial_account(request))


@staff_required
def contract_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _record_form(request, CONTRACT_FORM, get_object_or_404(selectors.contract_list(user=request.user), pk=pk))


@staff_required
def account_options(request: AuthenticatedHttpRequest) -> HttpResponse:
    """`<option>`s for the account picker's search box."""
    accounts = selectors.account_options(user=request.user, q=request.GET.get("q", ""))
    return render(request, "crm/_account_options.html", {"accounts": accounts})


# --- Record pages -----------------------------------------------------------------------------


@staff_required
@follow_merges("crm.account", "crm:account_detail")
def account_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    data = selectors.account_360(user=request.user, pk=pk, cursor=request.GET.get("cursor"))
    context = {
        "account": data.account,
        "data": data,
        "invitations": account_invitations(user=request.user, account=data.account),
        **_timeline_context(request, target_type="account", target=data.account, page=data.timeline),
    }
    return render(request, "crm/account_detail.html", context)


@staff_required
def account_timeline(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _timeline_view(request, "account", pk)


@staff_required
@follow_merges("crm.contact", "crm:contact_detail")
def contact_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(selectors.contact_list(user=request.user).select_related("verified_by"), pk=pk)
    page = selectors.activity_timeline(user=request.user, contact=contact, cursor=request.GET.get("cursor"))
    context = {
        "contact": contact,
        "invite": invite_button(user=request.user, contact=contact),
        **_timeline_context(request, target_type="contact", target=contact, page=page),
    }
    return render(request, "crm/contact_detail.html", context)


@staff_required
def contact_timeline(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _timeline_view(request, "contact", pk)


@staff_required
@require_POST
def contact_verify(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(selectors.contact_list(user=request.user), pk=pk)
    services.contact_verify(actor=request.user, contact=contact)
    messages.success(request, f"{contact.full_name}’s details are confirmed as current.")
    return redirect(safe_next(request, contact.get_absolute_url()))


@staff_required
@follow_merges("crm.lead", "crm:lead_detail")
def lead_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(
        selectors.lead_list(user=request.user).select_related(
            "converted_account", "converted_contact", "converted_opportunity"
        ),
        pk=pk,
    )
    page = selectors.activity_timeline(user=request.user, lead=lead, cursor=request.GET.get("cursor"))
    context = {
        "lead": lead,
        "invite": invite_button(user=request.user, lead=lead),
        **_timeline_context(request, target_type="lead", target=lead, page=page),
    }
    return render(request, "crm/lead_detail.html", context)


@staff_required
def lead_timeline(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _timeline_view(request, "lead", pk)


@staff_required
def lead_convert(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(selectors.lead_list(user=request.user), pk=pk)
    match = selectors.account_matching_lead(user=request.user, lead=lead) if lead.is_convertible else None
    if request.method == "POST":
        form = LeadConvertForm(request.POST, user=request.user, lead=lead, match=match)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.lead_convert(
                    actor=request.user,
                    lead=lead,
                    account=data["account"],
                    create_account=data["create_account"],
                    opportunity_name=data["opportunity_name"],
                    opportunity_amount=data["opportunity_amount"],
                    opportunity_close_date=data["opportunity_close_date"],
                )
            except BusinessRuleViolation as exc:
                messages.error(request, str(exc))
                return redirect(lead)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                how = "a new account" if result.account_created else "the existing account"
                messages.success(request, f"{lead.full_name} converted into {how} “{result.account}”.")
                return redirect(result.account)
    else:
        if not lead.is_convertible:
            messages.info(request, f"This lead is {lead.get_status_display().lower()}; it cannot be converted.")
            return redirect(lead)
        has_company = bool((lead.company_name or "").strip())
        if match is not None:
            mode = LeadConvertForm.MODE_MATCHED  # preselected: the company we already know
        else:
            mode = LeadConvertForm.MODE_NEW if has_company else LeadConvertForm.MODE_EXISTING
        form = LeadConvertForm(initial={"mode": mode}, user=request.user, lead=lead, match=match)
    return render(request, "crm/lead_convert.html", {"lead": lead, "form": form, "match": match})


@staff_required
def opportunity_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    opportunity = get_object_or_404(selectors.opportunity_list(user=request.user), pk=pk)
    page = selectors.activity_timeline(user=request.user, opportunity=opportunity, cursor=request.GET.get("cursor"))
    context = {
        "opportunity": opportunity,
        **_timeline_context(request, target_type="opportunity", target=opportunity, page=page),
    }
    return render(request, "crm/opportunity_detail.html", context)


@staff_required
def opportunity_timeline(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _timeline_view(request, "opportunity", pk)


@staff_required
def contract_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(selectors.contract_list(user=request.user), pk=pk)
    # Activities are not linked to contracts: the page shows its account's timeline.
    page = selectors.activity_timeline(user=request.user, account=contract.account, cursor=request.GET.get("cursor"))
    context = {
        "contract": contract,
        **_timeline_context(request, target_type="account", target=contract.account, page=page, next_url=request.path),
    }
    return render(request, "crm/contract_detail.html", context)


# --- History ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistorySpec:
    selector: Callable[..., QuerySet]  # the user's visible records of this type
    url_name: str
    plural: str
    list_url_name: str


HISTORY_RECORDS: dict[str, HistorySpec] = {
    "account": HistorySpec(selectors.account_list, "crm:account_history", "Accounts", "crm:account_list"),
    "contact": HistorySpec(selectors.contact_list, "crm:contact_history", "Contacts", "crm:contact_list"),
    "lead": HistorySpec(selectors.lead_list, "crm:lead_history", "Leads", "crm:lead_list"),
    "opportunity": HistorySpec(
        selectors.opportunity_list, "crm:opportunity_history", "Opportunities", "crm:opportunity_list"
    ),
    "contract": HistorySpec(selectors.contract_list, "crm:contract_history", "Contracts", "crm:contract_list"),
}


def _history_view(request: HttpRequest, record_type: str, pk: int) -> HttpResponse:
    """A record's history, newest first: the History tab's panel (htmx), its next page, or a page of its own."""
    spec = HISTORY_RECORDS[record_type]
    record = get_object_or_404(spec.selector(user=request.user), pk=pk)  # out of scope: the same 404
    cursor = request.GET.get("cursor") or None
    context = {
        "record": record,
        "history": record_history_page(record=record, cursor=cursor),
        "history_url": reverse(spec.url_name, args=[record.pk]),
        "spec": spec,
    }
    if _is_htmx(request):
        template = "history/_changes.html" if cursor else "history/_panel.html"
    else:
        template = "crm/record_history.html"
    return render(request, template, context)


@staff_required
def account_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history_view(request, "account", pk)


@staff_required
def contact_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history_view(request, "contact", pk)


@staff_required
def lead_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history_view(request, "lead", pk)


@staff_required
def opportunity_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history_view(request, "opportunity", pk)


@staff_required
def contract_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history_view(request, "contract", pk)


# --- Activities -------------------------------------------------------------------------------


@staff_required
@require_POST
def activity_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    target_type = request.POST.get("target_type", "")
    target = _timeline_target(request, target_type, request.POST.get("target_id"))
    next_url = safe_next(request, target.get_absolute_url())
    form: ActivityForm | None  # None after a save: the page gets a fresh form
    form = ActivityForm(request.POST)
    logged = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            logged = services.activity_log(
                actor=request.user,
                kind=data["kind"],
                subject=data["subject"],
                body=data["body"],
                due_at=data["due_at"],
                **{target_type: target},
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    if not _is_htmx(request):
        if logged is not None:
            messages.success(request, f"{logged.get_kind_display()} logged.")
        else:
            errors = "; ".join(f"{e}" for errs in form.errors.values() for e in errs)
            messages.error(request, f"Nothing was logged: {errors}")
        return redirect(next_url)
    if logged is not None:
        form = None  # a fresh form for the next entry
    page = selectors.activity_timeline(user=request.user, **{target_type: target})
    context = _timeline_context(
        request, target_type=target_type, target=target, page=page, form=form, next_url=next_url
    )
    context["just_logged"] = logged.pk if logged else None
    # The account page's "Last activity" card sits outside the panel: refresh it too (#15).
    context["oob_last_activity"] = logged is not None and target_type == "account"
    return render(request, "crm/_timeline_panel.html", context)


@staff_required
@require_POST
def activity_toggle_done(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    activity = get_object_or_404(selectors.activity_list(user=request.user), pk=pk)
    done = request.POST.get("done", "1").lower() in ("1", "true", "on", "yes")
    services.activity_set_done(actor=request.user, activity=activity, done=done)
    if not _is_htmx(request):
        messages.success(request, f"“{activity.subject}” marked {'done' if done else 'open'}.")
        return redirect(safe_next(request, reverse("home")))
    activity = selectors.activity_list(user=request.user).get(pk=pk)
    template = "crm/_task_row.html" if request.POST.get("variant") == "task" else "crm/_timeline_item.html"
    return render(request, template, {"activity": activity, "task": activity, "today": timezone.localdate()})


# --- Deleting records (issue 14): through the services, with their refusals -------------------


@dataclass(frozen=True)
class DeleteSpec:
    selector: Callable[..., QuerySet]
    delete: Callable[..., None]
    list_url_name: str


DELETABLE: dict[str, DeleteSpec] = {
    "account": DeleteSpec(
        selectors.account_list,
        lambda *, actor, record: services.account_delete(actor=actor, account=record),
        "crm:account_list",
    ),
    "contact": DeleteSpec(
        selectors.contact_list,
        lambda *, actor, record: services.contact_delete(actor=actor, contact=record),
        "crm:contact_list",
    ),
    "lead": DeleteSpec(
        selectors.lead_list, lambda *, actor, record: services.lead_delete(actor=actor, lead=record), "crm:lead_list"
    ),
    "opportunity": DeleteSpec(
        selectors.opportunity_list,
        lambda *, actor, record: services.opportunity_delete(actor=actor, opportunity=record),
        "crm:opportunity_list",
    ),
    "contract": DeleteSpec(
        selectors.contract_list,
        lambda *, actor, record: services.contract_delete(actor=actor, contract=record),
        "crm:contract_list",
    ),
}


@staff_required
@require_POST
def record_delete(request: AuthenticatedHttpRequest, record_type: str, pk: int) -> HttpResponse:
    spec = DELETABLE.get(record_type)
    if spec is None:
        raise Http404("No such record.")
    record = get_object_or_404(spec.selector(user=request.user), pk=pk)
    label = str(record)
    try:
        spec.delete(actor=request.user, record=record)
    except (BusinessRuleViolation, PermissionDenied) as exc:
        messages.error(request, f"“{label}” was not deleted: {exc}")
        return redirect(record)
    messages.success(request, f"“{label}” deleted.")
    return redirect(spec.list_url_name)
