"""The customer's side: their cases in the portal, and the help centre.

Every case comes from ``cases_for_member`` for the membership in use: another organisation's
case, or a colleague's that was not shared, is the same 404 as one that does not exist.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cases import services
from cases.forms import PortalCaseForm, ReplyForm
from cases.models import Case, CaseMessage
from cases.selectors import cases_for_member, with_category_name
from cases.views import serve_attachment
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import PortalHttpRequest
from core.listing import Sort, keyset_page
from iam.models import Membership
from iam.permissions import can_raise_cases, can_share_case, sees_organisation_cases
from iam.views import portal_user_required
from knowledge import selectors as kb
from knowledge.models import ArticleCategory
from knowledge.services import suggestion_opened, suggestions_record

NEWEST = Sort("-created", "Newest", "created_at", descending=True)


@portal_user_required
def case_list(request: PortalHttpRequest) -> HttpResponse:
    qs = cases_for_member(membership=request.membership).select_related("assignee")
    show = request.GET.get("show", "open")
    if show != "all":
        qs = qs.filter(status__in=Case.OPEN_STATUSES)
    page = keyset_page(qs, sort=NEWEST, cursor=request.GET.get("cursor"), page_size=25)
    context = {
        "page": page,
        "show": show,
        "base_query": f"show={show}",
        "whole_organisation": sees_organisation_cases(request.membership),
        "can_raise": can_raise_cases(request.membership),
        "nav_section": "cases",
    }
    return render(request, "cases/portal/list.html", context)


@portal_user_required
def case_new(request: PortalHttpRequest) -> HttpResponse:
    if not can_raise_cases(request.membership):
        return render(request, "portal/forbidden.html", {"nav_section": "cases"}, status=403)
    if request.method == "POST":
        form = PortalCaseForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_create(
                    actor=request.user,
                    account=request.membership.account,
                    contact=request.membership.contact,
                    raised_by=request.user,
                    subject=data["subject"],
                    description=data["description"],
                    category=data["category"],
                    severity=data["severity"],
                    channel=Case.Channel.PORTAL,
                    uploads=[services.Upload.from_uploaded(f) for f in data["attachments"]],
                    draft_token=data["draft"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Case {case.reference} is raised. We will answer here and by email.")
                return redirect(case.get_portal_url())
    else:
        form = PortalCaseForm(initial={"draft": secrets.token_urlsafe(16)})
    return render(
        request, "cases/portal/new.html", {"form": form, "nav_section": "cases"}, status=400 if form.errors else 200
    )


@portal_user_required
def suggest(request: PortalHttpRequest) -> HttpResponse:
    """Articles that may answer what the customer is typing (htmx, as they type)."""
    text = f"{request.GET.get('subject', '')} {request.GET.get('description', '')}".strip()
    draft = request.GET.get("draft", "")[:64]
    articles = kb.suggestions(text=text)
    suggestions_record(user=request.user, account=request.membership.account, draft=draft, articles=articles)
    return render(request, "cases/portal/_suggestions.html", {"articles": articles, "draft": draft})


def _case(request: PortalHttpRequest, pk: int) -> Case:
    return get_object_or_404(
        with_category_name(cases_for_member(membership=request.membership)).select_related("assignee"), pk=pk
    )


COLLEAGUES_OFFERED = 200


def _sharing(request: PortalHttpRequest, case: Case) -> dict[str, Any] | None:
    """Who the case is shared with, and the colleagues it may be shared with: two queries."""
    if not can_share_case(request.membership, case):
        return None
    shared = list(case.shared_with.order_by("first_name", "last_name", "email"))
    colleagues = (
        Membership.objects.usable()
        .filter(account_id=case.account_id)
        .exclude(user_id__in=[request.user.pk, case.raised_by_id or 0, *[u.pk for u in shared]])
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__email")
    )
    return {"shared": shared, "colleagues": [m.user for m in colleagues[:COLLEAGUES_OFFERED]]}


def _detail(request: PortalHttpRequest, case: Case, form: ReplyForm | None = None) -> HttpResponse:
    conversation = list(
        case.messages.filter(kind=CaseMessage.Kind.REPLY).select_related("author").prefetch_related("attachments")
    )
    context = {
        "case": case,
        "conversation": conversation,
        "form": form or ReplyForm(),
        "sharing": _sharing(request, case),
        "nav_section": "cases",
    }
    return render(request, "cases/portal/detail.html", context, status=400 if form is not None else 200)


@portal_user_required
def case_detail(request: PortalHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _case(request, pk))


@portal_user_required
@require_POST
def case_reply(request: PortalHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.case_reply(
                actor=request.user,
                case=case,
                body=form.cleaned_data["body"],
                channel=Case.Channel.PORTAL,
                uploads=[services.Upload.from_uploaded(f) for f in form.cleaned_data["attachments"]],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except BusinessRuleViolation as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Your reply is on the case.")
            return redirect(case.get_portal_url())
    return _detail(request, case, form)


@portal_user_required
@require_POST
def case_resolve(request: PortalHttpRequest, pk: int) -> HttpResponse:
    """The customer says it is solved."""
    case = _case(request, pk)
    if case.is_open:
        services.case_set_status(actor=request.user, case=case, status=Case.Status.RESOLVED)
        messages.success(request, "Thank you. The case is resolved; reply if it comes back.")
    return redirect(case.get_portal_url())


@portal_user_required
@require_POST
def case_share(request: PortalHttpRequest, pk: int) -> HttpResponse:
    """Share the case with a colleague at the same organisation, who then follows it here."""
    case = _case(request, pk)
    user_id = request.POST.get("user", "")
    colleague = (
        Membership.objects.usable()
        .filter(account_id=case.account_id, user_id=int(user_id))
        .select_related("user")
        .first()
        if user_id.isdecimal()
        else None
    )
    try:
        if colleague is None:
            raise ValidationError("Choose a colleague at your organisation.")
        services.case_share(actor=request.user, case=case, users=[colleague.user])
    except PermissionDenied as exc:
        return render(request, "portal/forbidden.html", {"reason": str(exc), "nav_section": "cases"}, status=403)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        who = colleague.user.get_full_name() or colleague.user.email
        messages.success(request, f"{who} now follows this case.")
    return redirect(case.get_portal_url())


@portal_user_required
@require_POST
def case_unshare(request: PortalHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    user = (
        case.shared_with.filter(pk=request.POST.get("user") or 0).first()
        if request.POST.get("user", "").isdecimal()
        else None
    )
    if user is not None:
        try:
            services.case_unshare(actor=request.user, case=case, user=user)
        except PermissionDenied as exc:
            return render(request, "portal/forbidden.html", {"reason": str(exc), "nav_section": "cases"}, status=403)
        messages.success(request, f"{user.get_full_name() or user.email} no longer follows this case.")
    return redirect(case.get_portal_url())


@portal_user_required
def case_attachment(request: PortalHttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    case = _case(request, pk)
    attachment = get_object_or_404(case.attachments.filter(internal=False), pk=attachment_pk)
    return serve_attachment(attachment)


# --- Help centre ------------------------------------------------------------------------------


@portal_user_required
def help_home(request: PortalHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    category = request.GET.get("category", "")
    qs = kb.articles_for_customers()
    if category:
        qs = qs.filter(category__slug=category)
    articles = list(kb.search(qs, query)[:50]) if query else list(qs.order_by("title", "id")[:50])
    context = {
        "articles": articles,
        "query": query,
        "category": category,
        "categories": list(ArticleCategory.objects.all()),
        "nav_section": "help",
    }
    return render(request, "knowledge/portal/home.html", context)


@portal_user_required
def help_article(request: PortalHttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(kb.articles_for_customers(), slug=slug)
    if draft := request.GET.get("draft", ""):
        suggestion_opened(user=request.user, draft=draft, article=article)
    return render(request, "knowledge/portal/article.html", {"article": article, "nav_section": "help"})
