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

from crm.forms import ContactCorrectionForm
from crm.reconfirmation import (
    ReconfirmationLinkInvalid,
    reconfirmation_check,
    reconfirmation_confirm,
    reconfirmation_correct,
)

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
    context = {
        "contact": pending.contact,
        "pending": pending,
        "profile_url": reverse("portal:profile"),
        "correct_url": reverse("reconfirm_correct", args=[token]),
    }
    return render(request, "reconfirm/ask.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def reconfirm_correct(request: HttpRequest, token: str) -> HttpResponse:
    """ "Correct my details": a short form behind the same single-use link, no sign-in."""
    try:
        pending = reconfirmation_check(token=token)
    except ReconfirmationLinkInvalid as exc:
        return _invalid(request, exc.reason)
    contact = pending.contact
    form = ContactCorrectionForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact = reconfirmation_correct(
                token=token, changes=form.changes(), left=form.cleaned_data["left_company"]
            )
        except ReconfirmationLinkInvalid as exc:
            return _invalid(request, exc.reason)
        return render(request, "reconfirm/corrected.html", {"contact": contact})
    return render(request, "reconfirm/correct.html", {"contact": contact, "pending": pending, "form": form})
