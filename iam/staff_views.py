"""Staff manage an account's portal users and read the audit trail.

Every lookup starts from what the requester may see: the account from
``Account.objects.visible_to`` and the membership from that account's memberships, so a
record out of reach is the same 404 as one that does not exist. Who may act is
``is_staff_admin_of``; every write goes through ``iam.services``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import DATE_INPUT, StyledFormMixin
from core.http import AuthenticatedHttpRequest
from core.listing import Sort, keyset_page
from core.plain_words import audit_details, audit_sentence
from crm.forms import AccountChoiceField
from crm.models import Account, Contact
from crm.selectors import portal_user_rows
from iam import services
from iam.models import AuditEvent, BusinessRole, Membership, User
from iam.permissions import is_staff_admin_of
from iam.selectors import audit_events_visible_to

# --- Lookups and authorization ------------------------------------------------------------------


def _account(request: AuthenticatedHttpRequest, account_pk: int) -> Account:
    return get_object_or_404(Account.objects.visible_to(request.user), pk=account_pk)


def _membership(account: Account, membership_pk: int) -> Membership:
    """One of this account's memberships; another account's id is a 404 like a missing one."""
    return get_object_or_404(portal_user_rows(account=account), pk=membership_pk)


def _require_staff_admin(user: User, account: Account) -> None:
    if not is_staff_admin_of(user, account):
        raise PermissionDenied("Only the account's owner, sales managers, the service desk and operations may do this.")


def _tab_url(account: Account) -> str:
    return f"{reverse('crm:account_detail', args=[account.pk])}?tab=portal-users#portal-users"


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _who(membership: Membership) -> str:
    return membership.user.get_full_name() or membership.user.email


# --- Forms --------------------------------------------------------------------------------------


def _roles_field(**kwargs: Any) -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=BusinessRole.objects.order_by("sort_order", "name"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one role. To take all access away, remove the user."},
        **kwargs,
    )


class RolesForm(forms.Form):
    roles = _roles_field(label="Business roles")


class PortalUserAddForm(StyledFormMixin, forms.Form):
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(),
        label="Contact",
        empty_label="Choose a contact",
        help_text="A contact of this account with an email address who is not a portal user yet.",
    )
    roles = _roles_field(label="Business roles")

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]  # stubs: fields are Field
        self.fields["contact"].label_from_instance = lambda c: f"{c.full_name} <{c.email}>"  # type: ignore[attr-defined]  # stubs: fields are Field
        self._style_widgets()
        self.fields["roles"].widget.attrs["class"] = "form-check-input"


# --- Portal users of an account -----------------------------------------------------------------


def _addable_contacts(user: User, account: Account) -> QuerySet[Contact]:
    return (
        Contact.objects.visible_to(user)
        .filter(account=account)
        .exclude(email="")
        .exclude(memberships__account=account)
        .order_by("last_name", "first_name", "pk")
    )


@staff_required
def portal_user_add(request: AuthenticatedHttpRequest, account_pk: int) -> HttpResponse:
    """Give an existing contact of the account portal access."""
    account = _account(request, account_pk)
    _require_staff_admin(request.user, account)
    contacts = _addable_contacts(request.user, account)
    if request.method == "POST":
        form = PortalUserAddForm(request.POST, contacts=contacts)
        if form.is_valid():
            try:
                membership = services.portal_user_add(
                    actor=request.user,
                    account=account,
                    contact=form.cleaned_data["contact"],
                    roles=form.cleaned_data["roles"],
                )
            except ValidationError as exc:
                for error in exc.messages:
                    form.add_error(None, error)
            except BusinessRuleViolation as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{membership.user.email} is now a portal user of {account.name}.")
                return redirect(_tab_url(account))
    else:
        form = PortalUserAddForm(contacts=contacts, initial={"roles": BusinessRole.objects.filter(key="buyer")})
    return render(
        request,
        "staff/portal_user_add.html",
        {"account": account, "form": form, "back_url": _tab_url(account), "nav_section": "account"},
    )


@staff_required
def portal_user_roles(request: AuthenticatedHttpRequest, account_pk: int, membership_pk: int) -> HttpResponse:
    """Replace a portal user's business roles; staff may grant every role, org admin included."""
    account = _account(request, account_pk)
    membership = _membership(account, membership_pk)
    _require_staff_admin(request.user, account)
    if request.method == "POST":
        form = RolesForm(request.POST)
        if form.is_valid():
            try:
                services.membership_set_roles(
                    actor=request.user, membership=membership, roles=form.cleaned_data["roles"]
                )
            except BusinessRuleViolation as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Roles of {_who(membership)} saved.")
                return redirect(_tab_url(account))
    else:
        form = RolesForm(initial={"roles": list(membership.roles.all())})
    context = {
        "account": account,
        "membership": membership,
        "form": form,
        "back_url": _tab_url(account),
        "nav_section": "account",
    }
    return render(request, "staff/portal_user_roles.html", context)


def _change_status(
    request: AuthenticatedHttpRequest,
    account_pk: int,
    membership_pk: int,
    service: Callable[..., Membership],
    done: str,
) -> HttpResponse:
    account = _account(request, account_pk)
    membership = _membership(account, membership_pk)
    _require_staff_admin(request.user, account)
    error = notice = ""
    try:
        service(actor=request.user, membership=membership)
    except BusinessRuleViolation as exc:
        error = str(exc)
    else:
        notice = done.format(user=_who(membership), account=account.name)
    if _is_htmx(request):
        context = {
            "m": _membership(account, membership_pk),
            "account": account,
            "can_manage": True,
            "row_error": error,
            "row_notice": notice,
        }
        return render(request, "staff/_portal_user_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_tab_url(account))


@staff_required
@require_POST
def portal_user_suspend(request: AuthenticatedHttpRequest, account_pk: int, membership_pk: int) -> HttpResponse:
    return _change_status(request, account_pk, membership_pk, services.membership_suspend, "{user} is suspended.")


@staff_required
@require_POST
def portal_user_reactivate(request: AuthenticatedHttpRequest, account_pk: int, membership_pk: int) -> HttpResponse:
    return _change_status(request, account_pk, membership_pk, services.membership_reactivate, "{user} is active again.")


@staff_required
@require_POST
def portal_user_remove(request: AuthenticatedHttpRequest, account_pk: int, membership_pk: int) -> HttpResponse:
    return _change_status(
        request, account_pk, membership_pk, services.membership_remove, "{user} was removed from {account}."
    )


# --- Audit trail --------------------------------------------------------------------------------

AUDIT_SORT = Sort("-occurred", "Newest", "occurred_at", descending=True)
AUDIT_ACTION_PREFIXES = ["iam.", "iam.membership.", "iam.user.", "crm.contract."]


class AuditFilterForm(StyledFormMixin, forms.Form):
    action = forms.CharField(required=False, max_length=100, label="Action starts with")
    actor = forms.CharField(required=False, max_length=254, label="Actor email")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs=DATE_INPUT))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs=DATE_INPUT))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"] = AccountChoiceField(user=user, required=False, label="Account")
        self.fields["account"].empty_label = "Any account"  # type: ignore[attr-defined]  # stubs: fields are Field
        self.order_fields(["account", "action", "actor", "since", "until"])
        self._style_widgets()
        self.fields["action"].widget.attrs.update(placeholder="Action, e.g. iam.membership.", list="audit-actions")
        self.fields["actor"].widget.attrs.update(placeholder="Actor email")
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-label", field.label or name)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        if data.get("account") is not None:
            events = events.filter(account=data["account"])
        if data.get("action", "").strip():
            events = events.filter(action__startswith=data["action"].strip())
        if data.get("actor", "").strip():
            events = events.filter(actor_label__icontains=data["actor"].strip())
        tz = timezone.get_current_timezone()
        if data.get("since"):
            events = events.filter(occurred_at__gte=dt.datetime.combine(data["since"], dt.time.min, tzinfo=tz))
        if data.get("until"):
            next_day = data["until"] + dt.timedelta(days=1)
            events = events.filter(occurred_at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
        return events

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(v not in (None, "") for v in self.cleaned_data.values())


def _audit_events(request: AuthenticatedHttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    params = request.GET.copy()
    params.pop("cursor", None)
    form = AuditFilterForm(params or None, user=request.user)
    events = audit_events_visible_to(user=request.user)
    if form.is_bound:
        events = form.filter(events) if form.is_valid() else events.none()
    return form, events


@staff_required
def audit_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every identity and access change, newest first, one keyset page at a time."""
    form, events = _audit_events(request)
    page = keyset_page(events, sort=AUDIT_SORT, cursor=request.GET.get("cursor"), count=False)
    for event in page.items:
        event.label = audit_sentence(event.action)
        event.details = audit_details(event.data)
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "form": form,
        "page": page,
        "filtered": form.is_bound and form.is_valid() and form.is_filtered,
        "base_query": params.urlencode(),
        "action_prefixes": AUDIT_ACTION_PREFIXES,
        "nav_section": "audit",
    }
    template = "staff/audit_list.html"
    if _is_htmx(request) and request.headers.get("HX-Target") == "list-results":
        template = "staff/audit_list_rows.html"
    return render(request, template, context)


AUDIT_CSV_COLUMNS = ["occurred_at", "action", "actor", "account", "target", "data", "ip", "user_agent"]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """Text for a spreadsheet cell; a leading = + - @ would be run as a formula, so it is quoted."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(AUDIT_CSV_COLUMNS)
    rows = events.order_by("-occurred_at", "-id").values_list(
        "occurred_at",
        "action",
        "actor_label",
        "account__name",
        "target_type",
        "target_id",
        "target_label",
        "data",
        "ip_address",
        "user_agent",
    )
    for occurred_at, action, actor, account, t_type, t_id, t_label, data, ip, agent in rows.iterator(chunk_size=2000):
        target = f"{t_type}:{t_id} {t_label}".strip() if t_type else t_label
        yield writer.writerow(
            [
                occurred_at.isoformat(),
                _cell(action),
                _cell(actor),
                _cell(account),
                _cell(target),
                _cell(json.dumps(data, sort_keys=True, ensure_ascii=False)),
                _cell(ip),
                _cell(agent),
            ]
        )


@staff_required
def audit_export(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    """The filtered audit trail as CSV, streamed: memory stays flat however many events match."""
    _form, events = _audit_events(request)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
