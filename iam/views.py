"""The self-service portal of external users: home, profile, security, and their organisation.

``PortalAccessMiddleware`` has already put the usable membership in use on the request. Every
member looked up by id comes from ``members_of`` for that membership's account, so another
account's member is the same 404 as one that does not exist. Every write is an ``iam.services``
call; views parse, authorize, call and render.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cases.portal_home import portal_home_data
from core.errors import BusinessRuleViolation
from core.http import AuthenticatedHttpRequest, PortalHttpRequest
from core.listing import Sort, keyset_page
from core.plain_words import audit_details, audit_sentence
from customfields.selectors import portal_fields
from iam import services
from iam.forms import PORTAL_AUDIT_ACTIONS, AuditFilterForm, MemberRolesForm, ProfileForm
from iam.middleware import SESSION_ACCOUNT_KEY
from iam.models import ApplicationRole, BusinessRole, Membership
from iam.permissions import grantable_roles
from iam.roles import effective_application_roles
from iam.selectors import audit_events_visible_to, members_of, user_memberships

MEMBERS_SHOWN = 200
AUDIT_SORT = Sort("-occurred", "Newest", "occurred_at", descending=True)
AUDIT_PAGE_SIZE = 50

P = ParamSpec("P")

# --- Who may open a portal page -----------------------------------------------------------------


def portal_user_required(
    view: Callable[Concatenate[PortalHttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """External users with a usable membership (the middleware checked it); staff get a 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.is_staff:
            raise Http404("The portal is for customers' users.")
        if getattr(request, "membership", None) is None:
            return redirect("portal:no_access")
        return view(cast(PortalHttpRequest, request), *args, **kwargs)

    return wrapper


def org_admin_required(
    view: Callable[Concatenate[PortalHttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Only the organisation admins of the account in use; other members get a page that says so."""

    @portal_user_required
    @wraps(view)
    def wrapper(request: PortalHttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.membership.is_org_admin:
            return render(request, "portal/forbidden.html", {"nav_section": "organisation"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _member(request: PortalHttpRequest, membership_pk: int) -> Membership:
    """A member of the account in use, as its admin sees it; any other id is a 404."""
    return get_object_or_404(_members(request), pk=membership_pk)


def _members(request: PortalHttpRequest, query: str = "") -> QuerySet[Membership]:
    second_factor = Authenticator.objects.filter(
        user=OuterRef("user_id"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )
    return members_of(actor=request.user, account=request.membership.account, query=query).annotate(
        has_mfa=Exists(second_factor)
    )


def _who(membership: Membership) -> str:
    return membership.user.get_full_name() or membership.user.email


# --- Home ---------------------------------------------------------------------------------------


@login_required
def portal_home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where you are, what you may do, and in which of our online services."""
    if request.user.is_staff:
        return redirect("home")
    membership = request.membership
    if membership is None:
        return redirect("portal:no_access")
    effective = effective_application_roles(membership)
    app_roles = ApplicationRole.objects.filter(application__key__in=list(effective)).select_related("application")
    applications: dict[str, dict[str, Any]] = {}
    for role in app_roles:
        if role.key in effective.get(role.application.key, ()):
            entry = applications.setdefault(role.application.key, {"application": role.application, "roles": []})
            entry["roles"].append(role)
    context = {
        "membership": membership,
        "roles": list(membership.roles.order_by("sort_order", "name")),
        "applications": sorted(applications.values(), key=lambda e: e["application"].name.lower()),
        "has_mfa": _has_second_factor(request.user),
        "nav_section": "home",
        # Contracts, open cases and the account manager (#17).
        "relationship": portal_home_data(membership=membership),
    }
    return render(request, "portal/home.html", context)


@login_required
def no_access(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Why a signed-in external user cannot get in, and whom to ask."""
    from crm.models import Contract

    memberships = list(user_memberships(user=request.user))
    # A prospect (never a contract) waits for access to start; a former customer's access is paused.
    had_contract = set(
        Contract.objects.filter(account_id__in=[m.account_id for m in memberships])
        .exclude(status=Contract.Status.DRAFT)
        .values_list("account_id", flat=True)
    )
    context = {"memberships": memberships, "had_contract": had_contract}
    return render(request, "portal/no_access.html", context, status=403)


@login_required
@require_POST
def switch_account(request: AuthenticatedHttpRequest) -> HttpResponse:
    account_id = request.POST.get("account")
    if (
        account_id
        and str(account_id).isdecimal()
        and Membership.objects.usable().filter(user=request.user, account_id=int(account_id)).exists()
    ):
        request.session[SESSION_ACCOUNT_KEY] = int(account_id)
        messages.info(request, "You switched organisation.")
    return redirect("portal:home")


# --- My profile ---------------------------------------------------------------------------------


@portal_user_required
def profile(request: PortalHttpRequest) -> HttpResponse:
    """Your own contact data, as our sales team sees it. Saving confirms it is current."""
    membership = request.membership
    contact = membership.contact
    if request.method == "POST":
        form = ProfileForm(request.POST, contact_values=getattr(contact, "custom_fields", None))
        if form.is_valid():
            try:
                services.profile_update(actor=request.user, membership=membership, data=form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, "Your profile is saved. Thank you for keeping it current.")
                return redirect("portal:profile")
    else:
        source = contact or request.user
        form = ProfileForm(
            initial={
                "first_name": source.first_name or request.user.first_name,
                "last_name": source.last_name or request.user.last_name,
                "job_title": getattr(contact, "job_title", ""),
                "phone": getattr(contact, "phone", ""),
                "consent_to_contact": getattr(contact, "consent_to_contact", False),
            },
            contact_values=getattr(contact, "custom_fields", None),
        )
    context = {
        "form": form,
        "contact": contact,
        "membership": membership,
        "nav_section": "profile",
        # Custom fields the customer may see but not change (ops chose "visible").
        "visible_fields": [f for f in portal_fields("crm.contact") if f.portal_visibility == "visible"],
    }
    return render(request, "portal/profile.html", context)


# --- Security -----------------------------------------------------------------------------------


def _has_second_factor(user: Any) -> bool:
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


@portal_user_required
def security(request: PortalHttpRequest) -> HttpResponse:
    """Password, second factors and sessions in one overview; each links to its allauth page."""
    user = request.user
    authenticators = list(Authenticator.objects.filter(user=user).order_by("created_at"))
    context = {
        "has_password": user.has_usable_password(),
        "totp": next((a for a in authenticators if a.type == Authenticator.Type.TOTP), None),
        "passkeys": [a for a in authenticators if a.type == Authenticator.Type.WEBAUTHN],
        "recovery_codes": next((a for a in authenticators if a.type == Authenticator.Type.RECOVERY_CODES), None),
        "session_count": UserSession.objects.filter(user=user).count(),
        "email": EmailAddress.objects.filter(user=user, primary=True).first(),
        "require_mfa": request.membership.account.require_mfa,
        "nav_section": "security",
    }
    return render(request, "portal/security.html", context)


# --- My organisation ----------------------------------------------------------------------------


@org_admin_required
def org_members(request: PortalHttpRequest) -> HttpResponse:
    """The organisation's users: status, roles, last sign-in and second factor."""
    query = request.GET.get("q", "").strip()[:100]
    members = list(_members(request, query).select_related("user")[: MEMBERS_SHOWN + 1])
    context = {
        "members": members[:MEMBERS_SHOWN],
        "more": len(members) > MEMBERS_SHOWN,
        "query": query,
        "account": request.membership.account,
        "nav_section": "organisation",
    }
    template = "portal/org_members.html"
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "member-results":
        template = "portal/_org_member_rows.html"
    return render(request, template, context)


def _roles_form(request: PortalHttpRequest, member: Membership, data: Any = None) -> MemberRolesForm:
    all_roles = list(BusinessRole.objects.order_by("sort_order", "name"))
    grantable = grantable_roles(request.user, request.membership.account, all_roles)
    return MemberRolesForm(data, current=list(member.roles.all()), grantable_ids=grantable)


@org_admin_required
def org_member(request: PortalHttpRequest, membership_pk: int) -> HttpResponse:
    """One member: their roles (those you may grant are editable) and what you can do."""
    member = _member(request, membership_pk)
    form = _roles_form(request, member)
    return _render_member(request, member, form)


def _render_member(
    request: PortalHttpRequest, member: Membership, form: MemberRolesForm, status: int = 200
) -> HttpResponse:
    context = {
        "member": member,
        "form": form,
        "is_self": member.user_id == request.user.pk,
        "account": request.membership.account,
        "nav_section": "organisation",
    }
    return render(request, "portal/org_member.html", context, status=status)


@org_admin_required
@require_POST
def org_member_roles(request: PortalHttpRequest, membership_pk: int) -> HttpResponse:
    member = _member(request, membership_pk)
    form = _roles_form(request, member, request.POST)
    if form.is_valid():
        try:
            services.membership_set_roles(actor=request.user, membership=member, roles=form.wanted_roles())
        except (BusinessRuleViolation, PermissionDenied) as exc:
            form.add_error(None, str(exc) or "You may not make this change.")
        else:
            messages.success(request, f"Roles of {_who(member)} saved.")
            return redirect("portal:org_members")
    return _render_member(request, _member(request, membership_pk), form, status=400)


def _change_status(request: PortalHttpRequest, membership_pk: int, service: Callable[..., Membership], done: str):
    member = _member(request, membership_pk)
    try:
        service(actor=request.user, membership=member)
    except (BusinessRuleViolation, PermissionDenied) as exc:
        messages.error(request, str(exc) or "You may not make this change.")
    else:
        messages.success(request, done.format(user=_who(member)))
    next_url = request.POST.get("next", "")
    if next_url == "member":
        return redirect("portal:org_member", membership_pk=member.pk)
    return redirect("portal:org_members")


@org_admin_required
@require_POST
def org_member_suspend(request: PortalHttpRequest, membership_pk: int) -> HttpResponse:
    return _change_status(request, membership_pk, services.membership_suspend, "{user} is suspended.")


@org_admin_required
@require_POST
def org_member_reactivate(request: PortalHttpRequest, membership_pk: int) -> HttpResponse:
    return _change_status(request, membership_pk, services.membership_reactivate, "{user} is active again.")


@org_admin_required
@require_POST
def org_member_remove(request: PortalHttpRequest, membership_pk: int) -> HttpResponse:
    return _change_status(request, membership_pk, services.membership_remove, "{user} was removed.")


@org_admin_required
def org_audit(request: PortalHttpRequest) -> HttpResponse:
    """Who changed what in the organisation, newest first, one keyset page at a time."""
    account = request.membership.account
    form = AuditFilterForm(request.GET or None)
    events = audit_events_visible_to(user=request.user, account=account)
    action = ""
    if form.is_bound and form.is_valid():
        action = form.cleaned_data["action"]
        if action:
            events = events.filter(action=action)
    page = keyset_page(
        events, sort=AUDIT_SORT, cursor=request.GET.get("cursor"), page_size=AUDIT_PAGE_SIZE, count=False
    )
    labels = dict(PORTAL_AUDIT_ACTIONS)
    for event in page.items:
        event.label = labels.get(event.action) or audit_sentence(event.action)
        event.details = audit_details(event.data)
    context = {
        "form": form,
        "page": page,
        "filtered": bool(action),
        "base_query": urlencode({"action": action}) if action else "",
        "account": account,
        "nav_section": "audit",
    }
    return render(request, "portal/org_audit.html", context)


def _detail(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else str(value)
