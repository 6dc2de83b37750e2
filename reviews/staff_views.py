"""Staff actions on the loops that reach everyone: a verification outcome, an org-admin nomination.

Both are one-click POSTs from My work and Data health; they parse, call one service and go back.
A contact or account outside what the user may act on is the same 404 as one that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.http import AuthenticatedHttpRequest, safe_next
from crm.models import Account, Contact
from reviews.services import org_admin_nominate, owner_verification_record


@staff_required
@require_POST
def contact_verify(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.visible_to(request.user).select_related("account"), pk=pk)
    back = safe_next(request, reverse("home"))
    try:
        owner_verification_record(
            actor=request.user,
            contact=contact,
            outcome=request.POST.get("outcome", ""),
            job_title=request.POST.get("job_title", ""),
            phone=request.POST.get("phone", ""),
        )
    except PermissionDenied as exc:
        raise Http404("No such contact.") from exc
    except (ValidationError, BusinessRuleViolation) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, f"{contact.full_name}: {text}")
        return redirect(back)
    outcome = request.POST["outcome"]
    said = {"verified": "verified as still right", "changed": "updated and verified", "left": "marked as left"}
    messages.success(request, f"{contact.full_name} {said[outcome]}.")
    return redirect(back)


@staff_required
@require_POST
def org_admin_nominate_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.visible_to(request.user), pk=pk)
    back = safe_next(request, reverse("home"))
    contact_id = request.POST.get("contact", "")
    if not contact_id.isdecimal():
        raise Http404("No such contact.")
    contact = get_object_or_404(Contact.objects.visible_to(request.user).filter(account=account), pk=int(contact_id))
    try:
        message = org_admin_nominate(actor=request.user, account=account, contact=contact)
    except PermissionDenied as exc:
        raise Http404("No such account.") from exc
    except (ValidationError, BusinessRuleViolation) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
        return redirect(back)
    messages.success(request, message)
    return redirect(back)
