"""Invitation pages: accepting a link (anyone), inviting and managing invitations (staff, org admins).

Views parse, authorize through scoped lookups, call one service, and render.
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from allauth.account.utils import perform_login
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from crm.errors import BusinessRuleViolation
from iam.middleware import SESSION_ACCOUNT_KEY
from iam.models import User
from invitations import services
from invitations.forms import AcceptNewUserForm
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
                if user is None:
                    # The link proved the person reads this mailbox: allauth's verified-email stash.
                    get_adapter(request).stash_verified_email(request, invitation.email)
                result = services.invitation_accept(
                    actor=user,
                    token=token,
                    password=form.cleaned_data["password1"] if form else None,
                    first_name=form.cleaned_data["first_name"] if form else "",
                    last_name=form.cleaned_data["last_name"] if form else "",
                )
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
