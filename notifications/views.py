"""The bell, the inbox and the digest preferences: each person sees and changes only their own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.forms import StyledFormMixin
from core.http import AuthenticatedHttpRequest
from notifications import selectors, services
from notifications.kinds import KINDS

MENU_SIZE = 8
PAGE_SIZE = 50


@staff_required
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    inbox = selectors.inbox(request.user)
    unread_only = request.GET.get("show") == "unread"
    if unread_only:
        inbox = inbox.filter(read_at__isnull=True)
    before = request.GET.get("before", "")
    if before.isdecimal():
        inbox = inbox.filter(pk__lt=int(before))
    # Keyset by id (ids grow with created_at here): the page costs the same however long the history.
    rows = list(inbox.order_by("-id")[: PAGE_SIZE + 1])
    older = rows[PAGE_SIZE].pk + 1 if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "notifications/list.html",
        {
            "notifications": rows[:PAGE_SIZE],
            "older": older,
            "unread_only": unread_only,
            "nav_section": "notifications",
        },
    )


@staff_required
def notification_bell(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The top bar's bell, fetched after the page: one bounded count, and no page pays for it."""
    count = selectors.unread_count(request.user)
    limit = selectors.UNREAD_COUNT_LIMIT
    badge = f"{limit - 1}+" if count >= limit else str(count)
    return render(request, "notifications/_bell.html", {"count": count, "badge": badge})


@staff_required
def notification_menu(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The bell's dropdown, loaded when it opens, so no page pays for it."""
    rows = list(selectors.inbox(request.user)[:MENU_SIZE])
    return render(request, "notifications/_menu.html", {"notifications": rows})


@staff_required
@require_POST
def notification_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark one read and go where it leads; someone else's notification is a 404."""
    notification = get_object_or_404(selectors.inbox(request.user), pk=pk)
    services.mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("notifications:list")
    return redirect(target)


@staff_required
@require_POST
def notification_read_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = services.mark_read(user=request.user)
    if count:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect(reverse("notifications:list"))


class PreferencesForm(StyledFormMixin, forms.Form):
    email_digest = forms.BooleanField(
        required=False,
        label="Email me a digest of unread notifications",
        help_text="At most one email an hour, only with what you have not read in Clientele yet.",
    )
    kinds = forms.MultipleChoiceField(
        required=False,
        choices=list(KINDS.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Include in the digest",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


@staff_required
def notification_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    preference = services.preference_for(request.user)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.preference_update(
                actor=request.user,
                email_digest=form.cleaned_data["email_digest"],
                emailed_kinds=form.cleaned_data["kinds"],
            )
            messages.success(request, "Your notification settings are saved.")
            return redirect(reverse("notifications:preferences"))
    else:
        form = PreferencesForm(
            initial={
                "email_digest": preference.email_digest,
                "kinds": [kind for kind in KINDS if kind not in preference.digest_muted_kinds],
            }
        )
    return render(request, "notifications/preferences.html", {"form": form, "nav_section": "notifications"})
