"""Public pages behind the links in reconfirmation emails. No sign-in: the link is the credential.

A GET only shows the person their data and the question; the answer is a POST, so the mail
scanners that open every link in an email confirm nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from crm.reconfirmation import ReconfirmationLinkInvalid, reconfirmation_check, reconfirmation_confirm

_INVALID = {
    "invalid": (
        404,
        "This link is not valid",
        "It may have been copied incompletely. Use the link in the newest email we sent you.",
    ),
    "used": (410, "You already answered", "This link has been used: your details were confirmed then. Thank you."),
    "superseded": (410, "This link was replaced", "We sent you a newer email since. Use the link in that one."),
    "expired": (
        410,
        "This link has expired",
        "Links work for a limited time. We will ask again later, or you can update your details in the portal.",
    ),
}


def _invalid(request: HttpRequest, reason: str) -> HttpResponse:
    status, title, text = _INVALID.get(reason, _INVALID["invalid"])
    context = {"title": title, "text": text, "reason": reason, "profile_url": reverse("portal:profile")}
    return render(request, "reconfirm/invalid.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def reconfirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            contact = reconfirmation_confirm(token=token)
            return render(request, "reconfirm/done.html", {"contact": contact})
        pending = reconfirmation_check(token=token)
    except ReconfirmationLinkInvalid as exc:
        return _invalid(request, exc.reason)
    context = {"contact": pending.contact, "pending": pending, "profile_url": reverse("portal:profile")}
    return render(request, "reconfirm/ask.html", context)
