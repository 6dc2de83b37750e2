"""The staff side of cases: the queue per team, the case page, and what staff do there.

Every case is looked up in ``cases_for_staff`` (a portal user gets the staff-only 404 from
``staff_required`` before that); every write is one ``cases.services`` call.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cases import services
from cases.forms import AssignForm, MergeForm, StaffCaseForm, StaffReplyForm
from cases.models import Case, CaseAttachment
from cases.selectors import cases_for_staff, with_category_name
from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from core.listing import Sort, keyset_page
from crm.models import Contact
from history.selectors import record_history_page
from iam.permissions import can_merge_cases
from knowledge import selectors as kb
from savedviews.selectors import list_views

SORTS = [
    Sort("-created", "Newest", "created_at", descending=True),
    Sort("created", "Oldest", "created_at"),
]
STATUS_FILTERS = {
    "": ("Open", Case.OPEN_STATUSES),
    "new": ("New", (Case.Status.NEW,)),
    "open": ("Being worked", (Case.Status.OPEN,)),
    "waiting": ("Waiting on customer", (Case.Status.WAITING,)),
    "resolved": ("Resolved", (Case.Status.RESOLVED,)),
    "closed": ("Closed", (Case.Status.CLOSED,)),
    "all": ("Any status", tuple(Case.Status.values)),
}


def _queue(request: AuthenticatedHttpRequest) -> tuple[Any, dict[str, str]]:
    """The staff queue filtered as asked: team, status, severity, assignee, SLA state, account."""
    g = request.GET
    chosen = {
        key: g.get(key, "")
        for key in ("team", "status", "severity", "assignee", "sla", "account", "sort")
        if g.get(key, "")
    }
    qs = with_category_name(cases_for_staff(user=request.user).select_related("account", "assignee"))
    qs = qs.filter(status__in=STATUS_FILTERS.get(chosen.get("status", ""), STATUS_FILTERS[""])[1])
    if chosen.get("team") in Case.Team.values:
        qs = qs.filter(team=chosen["team"])
    if chosen.get("severity") in Case.Severity.values:
        qs = qs.filter(severity=chosen["severity"])
    if chosen.get("sla") in ("amber", "red"):
        qs = qs.filter(sla_state=chosen["sla"])
    assignee = chosen.get("assignee")
    if assignee == "me":
        qs = qs.filter(assignee=request.user)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    if (account := chosen.get("account", "")).isdecimal():
        qs = qs.filter(account_id=int(account))
    return qs, chosen


@staff_required
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    saved = list_views(user=request.user, list_key="cases", active_id=request.GET.get("view"))
    if not request.GET and saved.default is not None and not request.headers.get("HX-Request"):
        # The person's default view of the queue; "?view=" opens it without one.
        query = f"{saved.default.query}&" if saved.default.query else ""
        return redirect(f"{request.path}?{query}view={saved.default.pk}")
    qs, chosen = _queue(request)
    sort = next((s for s in SORTS if s.key == chosen.get("sort")), SORTS[0])
    page = keyset_page(
        qs, sort=sort, cursor=request.GET.get("cursor"), page_size=settings.CASES_QUEUE_PAGE_SIZE, count=False
    )
    # A queue needs "how many, roughly": counted up to a bound in an index-only scan of the
    # open cases' partial indexes, then "1,000+".
    limit = settings.CASES_QUEUE_COUNT_LIMIT
    page.count = qs.order_by().values("pk")[: limit + 1].count()
    if page.count > limit:
        page.count, page.count_is_lower_bound = limit, True
    context = {
        "page": page,
        "chosen": chosen,
        "sorts": SORTS,
        "sort": sort,
        "status_filters": [(key, label) for key, (label, _s) in STATUS_FILTERS.items()],
        "teams": Case.Team.choices,
        "severities": Case.Severity.choices,
        "base_query": urlencode(chosen),
        "filtered": bool(set(chosen) - {"sort"}),
        "saved_views": saved,
        "list_key": "cases",
        "nav_section": "cases",
    }
    template = "cases/_queue_rows.html" if request.headers.get("HX-Request") else "cases/queue.html"
    return render(request, template, context)


def _new_case_initial(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """What the page opens with: the account (and contact) it was opened from."""
    initial: dict[str, Any] = {"draft": secrets.token_urlsafe(16), "team": Case.Team.SERVICE_DESK}
    contact_id, account_id = request.GET.get("contact", ""), request.GET.get("account", "")
    if contact_id.isdecimal():
        contact = Contact.objects.visible_to(request.user).filter(pk=int(contact_id)).first()
        if contact is not None:
            initial.update(contact=contact.pk, account=contact.account_id, requester_email=contact.email)
    elif account_id.isdecimal():
        initial["account"] = int(account_id)
    return initial


@staff_required
def case_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Staff open a case for a customer (from the queue, an account or a contact)."""
    form = StaffCaseForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method != "POST":
        form = StaffCaseForm(initial=_new_case_initial(request), user=request.user)
    elif form.is_valid():
        data = form.cleaned_data
        account = data["account"]
        contact = None
        if data.get("contact"):
            contact = Contact.objects.visible_to(request.user).filter(pk=data["contact"], account=account).first()
            if contact is None:
                form.add_error(None, "That contact is not a person at the chosen account.")
        if not form.errors:
            try:
                case = services.case_create(
                    actor=request.user,
                    account=account,
                    contact=contact,
                    requester_email=data["requester_email"],
                    subject=data["subject"],
                    description=data["description"],
                    category=data["category"],
                    severity=data["severity"],
                    team=data["team"],
                    assignee=data["assignee"],
                    channel=Case.Channel.STAFF,
                    uploads=[services.Upload.from_uploaded(f) for f in data["attachments"]],
                    draft_token=data["draft"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Case {case.reference} is open.")
                return redirect(case)
    contact_id = form["contact"].value()
    contact = (
        Contact.objects.visible_to(request.user).filter(pk=int(contact_id)).first()
        if str(contact_id or "").isdecimal()
        else None
    )
    context = {"form": form, "contact": contact, "nav_section": "cases"}
    return render(request, "cases/new.html", context, status=400 if form.errors else 200)


@staff_required
def suggest(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Articles (internal ones too) that may answer the case being typed: send the customer one."""
    text = f"{request.GET.get('subject', '')} {request.GET.get('description', '')}".strip()
    articles = list(kb.search(kb.articles_for_staff(user=request.user).filter(status="published"), text)[:5])
    if len(text) < 4:
        articles = []
    return render(request, "cases/_staff_suggestions.html", {"articles": articles})


def _case(request: AuthenticatedHttpRequest, pk: int) -> Case:
    return get_object_or_404(
        with_category_name(cases_for_staff(user=request.user)).select_related(
            "account", "assignee", "raised_by", "contact", "service_level", "merged_into"
        ),
        pk=pk,
    )


def _detail(request: AuthenticatedHttpRequest, case: Case, **forms: Any) -> HttpResponse:
    conversation = list(case.messages.select_related("author").prefetch_related("attachments"))
    context = {
        "case": case,
        "conversation": conversation,
        "loose_attachments": [a for a in case.attachments.all() if a.message_id is None],
        "reply_form": forms.get("reply_form") or StaffReplyForm(),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"assignee": case.assignee_id, "team": case.team}),
        "merge_form": forms.get("merge_form") or MergeForm(),
        "can_merge": can_merge_cases(request.user),
        "statuses": Case.Status.choices,
        "history": record_history_page(record=case, cursor=request.GET.get("cursor"), page_size=10),
        "nav_section": "cases",
    }
    return render(request, "cases/detail.html", context, status=400 if forms else 200)


@staff_required
def detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if request.headers.get("HX-Request") and request.GET.get("cursor"):
        page = record_history_page(record=case, cursor=request.GET["cursor"], page_size=10)
        return render(request, "history/_changes.html", {"history": page, "history_url": ""})
    return _detail(request, case)


@staff_required
@require_POST
def reply(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = StaffReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.case_reply(
                actor=request.user,
                case=case,
                body=form.cleaned_data["body"],
                kind=form.cleaned_data["kind"],
                status=form.cleaned_data["status"] or None,
                uploads=[services.Upload.from_uploaded(f) for f in form.cleaned_data["attachments"]],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except BusinessRuleViolation as exc:
            form.add_error(None, str(exc))
        else:
            sent = form.cleaned_data["kind"] == "reply"
            messages.success(request, "Reply sent to the customer." if sent else "Internal note added.")
            return redirect(case)
    return _detail(request, case, reply_form=form)


@staff_required
@require_POST
def assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.case_assign(
                actor=request.user, case=case, assignee=form.cleaned_data["assignee"], team=form.cleaned_data["team"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Assignment saved.")
            return redirect(case)
    return _detail(request, case, assign_form=form)


@staff_required
@require_POST
def set_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    try:
        services.case_set_status(actor=request.user, case=case, status=request.POST.get("status", ""))
    except (ValidationError, BusinessRuleViolation) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, "Status changed.")
    return redirect(case)


@staff_required
@require_POST
def merge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    duplicate = _case(request, pk)
    form = MergeForm(request.POST)
    if form.is_valid():
        survivor = cases_for_staff(user=request.user).filter(pk=form.cleaned_data["survivor"]).first()
        if survivor is None:
            form.add_error("survivor", "There is no case with that number.")
        else:
            try:
                services.case_merge(actor=request.user, duplicate=duplicate, survivor=survivor)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            except (ValidationError, BusinessRuleViolation) as exc:
                form.add_error("survivor", " ".join(getattr(exc, "messages", [str(exc)])))
            else:
                messages.success(request, f"Case #{duplicate.pk} was merged into this one.")
                return redirect(survivor)
    return _detail(request, duplicate, merge_form=form)


def serve_attachment(attachment: CaseAttachment) -> FileResponse:
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is gone.") from exc
    response = FileResponse(handle, as_attachment=True, filename=attachment.filename)
    response["Content-Type"] = attachment.content_type
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_required
def attachment(request: AuthenticatedHttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    case = _case(request, pk)
    return serve_attachment(get_object_or_404(case.attachments.all(), pk=attachment_pk))
