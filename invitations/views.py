"""Invitation pages: accepting a link (anyone), inviting and managing invitations (staff, org admins).

Views parse, authorize through scoped lookups, call one service, and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.account.utils import perform_login
from csp.constants import SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest, PortalHttpRequest, safe_next
from core.listing import Sort, keyset_page
from crm import selectors as crm_selectors
from crm.filters import ContactFilter, LeadFilter
from crm.models import Account
from iam.middleware import SESSION_ACCOUNT_KEY
from iam.models import BusinessRole, User
from iam.permissions import grantable_roles
from iam.views import org_admin_required
from invitations import selectors, services
from invitations.email_domains import qualify_business_email
from invitations.forms import AcceptNewUserForm, BatchForm, InviteForm
from invitations.models import BatchRecipient, Invitation
from invitations.permissions import can_cancel_batch, can_invite_lead, can_invite_to_account
from invitations.services import InvitationUnusable

_UNUSABLE_STATUS = {"invalid": 404, "expired": 410, "revoked": 410, "used": 410}


def _unusable(request: HttpRequest, exc: InvitationUnusable) -> HttpResponse:
    invitation = exc.invitation
    contact_person = None
    if invitation is not None:
        contact_person = invitation.invited_by
    response = render(
        request,
        "invitations/accept_unusable.html",
        {"code": exc.code, "message": exc.message, "invitation": invitation, "contact_person": contact_person},
        status=_UNUSABLE_STATUS.get(exc.code, 400),
    )
    return response


def _organisation(invitation) -> str:
    if invitation.account_id:
        return invitation.account.name
    return invitation.lead.company_name or settings.INVITATIONS_COMPANY_NAME


@never_cache
@csrf_protect
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the email. GET shows who invited whom to what and never consumes the link."""
    try:
        invitation = services.invitation_for_token(token)
    except InvitationUnusable as exc:
        return _unusable(request, exc)

    user = request.user if request.user.is_authenticated else None
    context = {
        "invitation": invitation,
        "organisation": _organisation(invitation),
        "inviter": invitation.invited_by,
        "roles": list(invitation.roles.all()),
        "company_name": settings.INVITATIONS_COMPANY_NAME,
    }
    if user is not None and user.email.lower() != invitation.email:
        return render(request, "invitations/accept_wrong_user.html", context, status=403)
    if user is None and User.objects.filter(email__iexact=invitation.email).exists():
        login_url = f"{reverse('account_login')}?next={request.path}"
        return render(request, "invitations/accept_sign_in.html", {**context, "login_url": login_url})

    form = AcceptNewUserForm(request.POST or None) if user is None else None
    if request.method == "POST":
        if form is not None and not form.is_valid():
            return render(request, "invitations/accept.html", {**context, "form": form})
        try:
            with transaction.atomic():
                result = services.invitation_accept(
                    actor=user,
                    token=token,
                    password=form.cleaned_data["password1"] if form else None,
                    first_name=form.cleaned_data["first_name"] if form else "",
                    last_name=form.cleaned_data["last_name"] if form else "",
                )
                if user is None:
                    # The link proved the person reads this mailbox: allauth's verified-email
                    # stash, once the acceptance went through (a refused one leaves none behind).
                    get_adapter(request).stash_verified_email(request, invitation.email)
        except InvitationUnusable as exc:
            return _unusable(request, exc)
        except ValidationError as exc:
            if form is None:
                raise
            for message in exc.messages:
                form.add_error("password1", message)
            return render(request, "invitations/accept.html", {**context, "form": form})
        except (BusinessRuleViolation, PermissionDenied) as exc:
            return _unusable(request, InvitationUnusable("refused", str(exc), invitation))
        request.session[SESSION_ACCOUNT_KEY] = result.membership.account_id
        messages.success(request, f"Welcome to {result.membership.account.name}.")
        if result.user_created:
            response = perform_login(
                request,
                result.user,
                email_verification=settings.ACCOUNT_EMAIL_VERIFICATION,
                redirect_url=reverse("portal:home"),
                email=invitation.email,
            )
            request.session[SESSION_ACCOUNT_KEY] = result.membership.account_id
            return response
        return redirect("portal:home")
    return render(request, "invitations/accept.html", {**context, "form": form})


@csrf_protect
def accept_sign_out(request: HttpRequest, token: str) -> HttpResponse:
    """Signed in as someone else: sign out and come back to the link."""
    if request.method == "POST":
        logout(request)
    return redirect("invitations:accept", token=token)


# --- Staff: the Invite buttons, resend and revoke --------------------------------------------


def _account_tab_url(account) -> str:
    return f"{reverse('crm:account_detail', args=[account.pk])}?tab=portal-users#portal-users"


def _invite_errors(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        add_service_errors(form, exc)
    else:
        form.add_error(None, str(exc))


def _invite_page(request, *, form, title, subject, back_url, target, qualification=None, invitation=None):
    return render(
        request,
        "invitations/invite_form.html",
        {
            "form": form,
            "title": title,
            "subject": subject,
            "back_url": back_url,
            "target": target,
            "qualification": qualification,
            "latest": invitation,
            "nav_section": target,
        },
    )


def _report(request, outcome) -> None:
    level = messages.info if outcome.status in ("unchanged", "already_member") else messages.success
    level(request, outcome.message)


def _submit_invite(request: AuthenticatedHttpRequest, form, *, success_url: str, **target) -> HttpResponse | None:
    """Invite from a valid POST (one service for every Invite button); a refusal goes on the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    if "roles" in form.fields:  # lead invitations have none to choose: they get the Lead role
        target["roles"] = list(form.cleaned_data["roles"])
    try:
        outcome = services.invitation_create(
            actor=request.user,
            email=form.cleaned_data["email"],
            note=form.cleaned_data["note"],
            expires_in_days=form.cleaned_data["expires_in_days"],
            **target,
        )
    except (ValidationError, BusinessRuleViolation, PermissionDenied) as exc:
        _invite_errors(form, exc)
        return None
    _report(request, outcome)
    return redirect(success_url)


@staff_required
def invite_contact(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The contact page's Invite button: this person, into their account, with chosen roles."""
    contact = get_object_or_404(crm_selectors.contact_list(user=request.user), pk=pk)
    if not can_invite_to_account(request.user, contact.account):
        raise PermissionDenied("Only the account's owner, sales managers, the service desk and operations invite.")
    form = InviteForm(request.POST or None, initial={"email": contact.email})
    if done := _submit_invite(request, form, success_url=contact.get_absolute_url(), contact=contact):
        return done
    return _invite_page(
        request,
        form=form,
        title=f"Invite {contact.full_name}",
        subject=contact,
        back_url=contact.get_absolute_url(),
        target="contact",
        invitation=selectors.latest_invitation(contact=contact),
    )


@staff_required
def invite_account(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The account page's Invite button: anyone by email (their contact is matched or created on acceptance)."""
    account = get_object_or_404(Account.objects.visible_to(request.user), pk=pk)
    if not can_invite_to_account(request.user, account):
        raise PermissionDenied("Only the account's owner, sales managers, the service desk and operations invite.")
    form = InviteForm(request.POST or None)
    if done := _submit_invite(request, form, success_url=_account_tab_url(account), account=account):
        return done
    return _invite_page(
        request,
        form=form,
        title=f"Invite someone to {account.name}",
        subject=account,
        back_url=_account_tab_url(account),
        target="account",
    )


@staff_required
def invite_lead(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The lead page's Invite button: lead access, only for a qualified business address."""
    lead = get_object_or_404(crm_selectors.lead_list(user=request.user), pk=pk)
    if not can_invite_lead(request.user, lead):
        raise PermissionDenied("Only the lead's owner, sales managers, the service desk and operations invite it.")
    form = InviteForm(request.POST or None, lead=True, initial={"email": lead.email})
    email = form.data.get("email", lead.email) if form.is_bound else lead.email
    qualification = qualify_business_email(email or "")
    if done := _submit_invite(request, form, success_url=lead.get_absolute_url(), lead=lead):
        return done
    return _invite_page(
        request,
        form=form,
        title=f"Invite {lead.full_name} to the portal",
        subject=lead,
        back_url=lead.get_absolute_url(),
        target="lead",
        qualification=qualification,
        invitation=selectors.latest_invitation(lead=lead),
    )


def _back(request: HttpRequest, invitation) -> str:
    fallback = _account_tab_url(invitation.account) if invitation.account_id else invitation.lead.get_absolute_url()
    return safe_next(request, fallback)


def _invitation_action(request: AuthenticatedHttpRequest, pk: int, action) -> HttpResponse:
    invitation = selectors.invitation_for_manager(user=request.user, pk=pk)
    try:
        invitation = action(actor=request.user, invitation=invitation)
    except (BusinessRuleViolation, ValidationError, PermissionDenied) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
    else:
        done = "A new link was sent to" if action is services.invitation_resend else "Revoked the invitation of"
        messages.success(request, f"{done} {invitation.email}.")
    if request.headers.get("HX-Request") == "true" and invitation.account is not None:
        row = selectors.account_invitations(user=request.user, account=invitation.account)
        current = next((i for i in row.invitations if i.pk == invitation.pk), invitation)
        return render(
            request,
            "invitations/_invitation_row.html",
            {"inv": current, "can_manage": row.can_manage, "next": request.POST.get("next", ""), "flash": True},
        )
    return redirect(_back(request, invitation))


@staff_required
@require_POST
def invitation_resend(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _invitation_action(request, pk, services.invitation_resend)


@staff_required
@require_POST
def invitation_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _invitation_action(request, pk, services.invitation_revoke)


# --- Portal: org admins invite colleagues ------------------------------------------------------


def _portal_invitation(request: PortalHttpRequest, pk: int):
    """One of the account-in-use's invitations; any other id is the same 404 as a missing one."""
    return get_object_or_404(
        Invitation.objects.filter(account=request.membership.account, lead__isnull=True).select_related("account"),
        pk=pk,
    )


def _grantable(request: PortalHttpRequest):
    account = request.membership.account
    every_role = list(BusinessRole.objects.exclude(key=BusinessRole.LEAD).order_by("sort_order", "name"))
    allowed = grantable_roles(request.user, account, every_role)
    return BusinessRole.objects.filter(pk__in=allowed).order_by("sort_order", "name")


@org_admin_required
def portal_invitations(request: PortalHttpRequest) -> HttpResponse:
    """Invite colleagues by email with the roles you may grant; see, resend and revoke invitations."""
    account = request.membership.account
    form = InviteForm(request.POST or None, roles=_grantable(request))
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.invitation_create(
                actor=request.user,
                email=form.cleaned_data["email"],
                account=account,
                roles=list(form.cleaned_data["roles"]),
                note=form.cleaned_data["note"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except (ValidationError, BusinessRuleViolation, PermissionDenied) as exc:
            _invite_errors(form, exc)
        else:
            _report(request, outcome)
            return redirect("invitations:portal_invitations")
    context = {
        "form": form,
        "account": account,
        "invitations": selectors.account_invitations(user=request.user, account=account),
        "nav_section": "organisation",
    }
    return render(request, "invitations/portal_invitations.html", context)


def _portal_action(request: PortalHttpRequest, pk: int, action, done: str) -> HttpResponse:
    invitation = _portal_invitation(request, pk)
    try:
        invitation = action(actor=request.user, invitation=invitation)
    except (BusinessRuleViolation, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{done} {invitation.email}.")
    return redirect("invitations:portal_invitations")


@org_admin_required
@require_POST
def portal_invitation_resend(request: PortalHttpRequest, pk: int) -> HttpResponse:
    return _portal_action(request, pk, services.invitation_resend, "A new link was sent to")


@org_admin_required
@require_POST
def portal_invitation_revoke(request: PortalHttpRequest, pk: int) -> HttpResponse:
    return _portal_action(request, pk, services.invitation_revoke, "Revoked the invitation of")


# --- Staff: batch invitations ----------------------------------------------------------------

BATCH_SOURCES = {
    "contacts": (ContactFilter, crm_selectors.contact_list, "crm:contact_list"),
    "leads": (LeadFilter, crm_selectors.lead_list, "crm:lead_list"),
}
RECIPIENT_SORT = Sort("id", "In order", "id")


@dataclass(frozen=True)
class _Selection:
    source: str
    scope: str  # "filter" or "selected"
    filters: str  # the list page's query string
    ids: list[int]
    queryset: Any
    list_url: str

    @property
    def as_record(self) -> dict:
        if self.scope == "selected":
            return {"scope": "selected", "ids": self.ids[:10_000]}
        return {"scope": "filter", "filters": self.filters}

    @property
    def hidden_fields(self) -> list[tuple[str, str]]:
        fields = [("source", self.source), ("scope", self.scope), ("filters", self.filters)]
        return fields + [("ids", str(pk)) for pk in self.ids]


def _selection(request: AuthenticatedHttpRequest) -> _Selection:
    params = request.POST if request.method == "POST" else request.GET
    source = params.get("source", "contacts")
    if source not in BATCH_SOURCES:
        raise Http404("No such list.")
    filterset_class, base, list_name = BATCH_SOURCES[source]
    queryset = base(user=request.user).order_by()
    scope = "selected" if params.get("scope") == "selected" else "filter"
    filters = params.get("filters", "")
    ids = [int(v) for v in params.getlist("ids") if v.isdecimal()]
    if scope == "selected":
        queryset = queryset.filter(pk__in=ids)
    else:
        query = QueryDict(filters)
        filterset = filterset_class(query or None, queryset=queryset)
        queryset = filterset.qs if (not filterset.is_bound or filterset.is_valid()) else queryset.none()
    list_url = reverse(list_name) + (f"?{filters}" if filters else "")
    return _Selection(source, scope, filters, ids, queryset, list_url)


def _batch_form_values(form) -> dict:
    data = form.cleaned_data if form.is_valid() else {}
    return {
        "roles": list(data.get("roles") or []),
        "note": data.get("note", ""),
        "expires_in_days": data.get("expires_in_days") or settings.INVITATIONS_EXPIRY_DAYS,
    }


@staff_required
def batch_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Preview (how many, and a sample email) and start a batch from a list's filter or ticked rows."""
    selection = _selection(request)
    initial: dict[str, Any] = {"name": f"{selection.source.title()} — {timezone.localdate():%d %b %Y}"}
    if selection.source == "contacts":
        initial["roles"] = list(BusinessRole.objects.filter(key__in=settings.INVITATIONS_DEFAULT_ROLES))
    form = BatchForm(request.POST if request.method == "POST" else None, initial=initial)
    values = _batch_form_values(form) if form.is_bound else {"roles": initial.get("roles", []), "note": ""}
    if request.method == "POST" and request.POST.get("action") == "start" and form.is_valid():
        try:
            batch = services.invitation_batch_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                source=selection.source,
                queryset=selection.queryset,
                selection=selection.as_record,
                roles=values["roles"] if selection.source == "contacts" else None,
                note=values["note"],
                expires_in_days=values["expires_in_days"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _invite_errors(form, exc)
        else:
            messages.success(request, f"Batch started: {batch.total:,} recipients.")
            return redirect("invitations:batch_detail", pk=batch.pk)
    preview = services.invitation_batch_preview(
        actor=request.user,
        source=selection.source,
        queryset=selection.queryset,
        roles=values["roles"],
        note=values.get("note", ""),
        expires_in_days=values.get("expires_in_days"),
    )
    sample_query = urlencode(
        [*selection.hidden_fields, ("note", values.get("note", ""))] + [("roles", r.pk) for r in values["roles"]]
    )
    context = {
        "form": form,
        "selection": selection,
        "preview": preview,
        "sample_url": f"{reverse('invitations:batch_sample')}?{sample_query}",
        "nav_section": selection.source[:-1],
    }
    return render(request, "invitations/batch_new.html", context)


@staff_required
@xframe_options_sameorigin
# django-csp types its decorators for views of a plain HttpRequest only.
@csp_replace({"style-src": [SELF, "'unsafe-inline'"], "frame-ancestors": [SELF]})  # type: ignore[arg-type]
def batch_sample(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The sample email's HTML, framed by the preview page (email HTML carries inline styles)."""
    selection = _selection(request)
    role_ids = [int(v) for v in request.GET.getlist("roles") if v.isdecimal()]
    preview = services.invitation_batch_preview(
        actor=request.user,
        source=selection.source,
        queryset=selection.queryset,
        roles=list(BusinessRole.objects.filter(pk__in=role_ids).order_by("sort_order", "name")),
        note=request.GET.get("note", "")[:1000],
    )
    if preview.sample is None:
        return HttpResponse("<p>Nobody to invite.</p>")
    return HttpResponse(preview.sample_html)


@staff_required
def batch_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = keyset_page(
        selectors.batches_with_progress(user=request.user),
        sort=Sort("-created", "Newest", "created_at", descending=True),
        cursor=request.GET.get("cursor"),
        page_size=25,
    )
    rows = [(batch, selectors.progress_of(batch)) for batch in page.items]
    return render(request, "invitations/batch_list.html", {"page": page, "rows": rows, "nav_section": "batches"})


def _batch_context(request: HttpRequest, batch) -> dict:
    state = request.GET.get("state", "")
    if state not in BatchRecipient.State.values:
        state = ""
    page = keyset_page(
        selectors.batch_recipient_rows(batch=batch, state=state),
        sort=RECIPIENT_SORT,
        cursor=request.GET.get("cursor"),
        page_size=50,
        count=False,
    )
    params = request.GET.copy()
    params.pop("cursor", None)
    return {
        "batch": batch,
        "can_cancel": can_cancel_batch(request.user, batch),
        "progress": selectors.batch_progress(batch=batch),
        "page": page,
        "state": state,
        "states": BatchRecipient.State.choices,
        "base_query": params.urlencode(),
        "polling": batch.is_running and not request.GET.get("cursor"),
        "nav_section": "batches",
    }


@staff_required
def batch_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Live progress: a bar of sent/skipped/failed, counts, each recipient's outcome, and Cancel."""
    batch = selectors.batch_for(user=request.user, pk=pk)
    template = "invitations/batch_detail.html"
    if request.headers.get("HX-Request") == "true":
        template = "invitations/_batch_progress.html"
    return render(request, template, _batch_context(request, batch))


@staff_required
@require_POST
def batch_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_for(user=request.user, pk=pk)
    cancelled = services.invitation_batch_cancel(actor=request.user, batch=batch)
    if cancelled:
        messages.success(request, f"Batch cancelled: {cancelled:,} recipients will not be invited.")
    else:
        messages.info(request, "The batch had already stopped.")
    return redirect("invitations:batch_detail", pk=batch.pk)
