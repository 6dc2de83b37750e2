from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from iam.middleware import SESSION_ACCOUNT_KEY
from iam.models import Membership
from iam.selectors import user_memberships


@login_required
def portal_home(request: HttpRequest) -> HttpResponse:
    """The external users' portal."""
    return render(request, "portal/home.html", {"membership": request.membership})


@login_required
def no_access(request: HttpRequest) -> HttpResponse:
    """Why a signed-in external user cannot get in, and whom to ask."""
    memberships = list(user_memberships(user=request.user))
    return render(request, "portal/no_access.html", {"memberships": memberships}, status=403)


@login_required
@require_POST
def switch_account(request: HttpRequest) -> HttpResponse:
    account_id = request.POST.get("account")
    if (
        account_id
        and str(account_id).isdigit()
        and Membership.objects.usable().filter(user=request.user, account_id=int(account_id)).exists()
    ):
        request.session[SESSION_ACCOUNT_KEY] = int(account_id)
    return redirect("portal:home")
