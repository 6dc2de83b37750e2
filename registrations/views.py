"""Registration pages: the public form and its emailed links, the staff queue, the org admin's
confirmations in the portal. Views parse, authorize, call one service or selector, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from crm.models import Account
from iam.middleware import client_ip
from iam.permissions import can_decide_registrations, org_admin_membership
from registrations import selectors, services, tokens
from registrations.forms import ApproveForm, InfoRequestForm, ReasonForm, RegistrationForm, ResponseForm
from registrations.models import RegistrationRequest
from registrations.ratelimit import registration_attempt_limited

_SESSION_EMAIL = "registrations_email"


# --- Public: the form and its links ------------------------------------------------------------


def register(request: HttpRequest) -> HttpResponse:
    """Register your organisation: the form. Nothing is created unless all of it is valid."""
    form = RegistrationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:
            # The honeypot was filled: answer as if it worked and create nothing.
            return redirect("registrations:sent")
        if registration_attempt_limited(ip=client_ip(request), email=data["email"]):
            form.add_error(
                None,
                "Too many registrations were sent from here in the last hour. "
                "Please wait an hour and try again, or contact us if you need help sooner.",
            )
            status = 429
        else:
            try:
                services.registration_submit(data=data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                request.session[_SESSION_EMAIL] = data["email"]
                return redirect("registrations:sent")
    if request.method == "POST" and form.errors:
        status = status if status == 429 else 400
    context = {"form": form, "business_id_hints": RegistrationForm.business_id_hints()}
    return render(request, "registrations/register.html", context, status=status)


def sent(request: HttpRequest) -> HttpResponse:
    """Check your inbox. Said the same way whether the address was new, known or a bot's."""
    return render(request, "registrations/sent.html", {"email": request.session.get(_SESSION_EMAIL, "")})


def verify(request: HttpRequest, key: str) -> HttpResponse:
    """The emailed link: a button to confirm (a GET alone confirms nothing, so link scanners don't)."""
    from allauth.account.models import EmailConfirmationHMAC

    confirmation = EmailConfirmationHMAC.from_key(key)
    if confirmation is None:
        return render(request, "registrations/link_invalid.html", status=404)
    if request.method == "POST":
        address = confirmation.email_address
        confirmation.confirm(request)  # allauth marks the address verified; its signal moves the request on
        registration = RegistrationRequest.objects.filter(user_id=address.user_id).order_by("-created_at").first()
        return _status_page(request, registration)
    return render(request, "registrations/verify.html", {"email": confirmation.email_address.email})


def _status_page(request: HttpRequest, registration: RegistrationRequest | None) -> HttpResponse:
    if registration is None:
        raise Http404("No such registration.")
    return render(request, "registrations/status.html", {"registration": registration})


def _registration_from(token_data: tuple[int, str] | None) -> RegistrationRequest:
    if token_data is None:
        raise Http404("This link is not valid.")
    pk, email = token_data
    registration = RegistrationRequest.objects.filter(pk=pk, email=email).first()
    if registration is None:
        raise Http404("This link is not valid.")
    return registration


@login_required
def continue_registration(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """For an address that already has a login: sign in, then confirm the registration."""
    data = tokens.continue_token_load(token)
    registration = _registration_from(data)
    if request.user.email.lower() != registration.email:
        raise Http404("This link is for another sign-in.")
    if request.method == "POST":
        try:
            registration = services.registration_continue(actor=request.user, registration=registration)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        return _status_page(request, registration)
    return render(request, "registrations/continue.html", {"registration": registration})


def respond(request: HttpRequest, token: str) -> HttpResponse:
    """The registrant answers staff's question through the emailed link."""
    data = tokens.respond_token_load(token)
    registration = _registration_from(data[:2] if data else None)
    assert data is not None  # no data: _registration_from raised Http404
    if registration.status != RegistrationRequest.Status.INFO_REQUESTED or not tokens.respond_token_answers(
        registration, data[2]
    ):
        # Answered, decided, or a link to an earlier question: it takes no answer.
        return render(request, "registrations/status.html", {"registration": registration, "answered": True})
    form = ResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.registration_respond(registration=registration, response=form.cleaned_data["response"])
        except (ValidationError, BusinessRuleViolation) as exc:
            form.add_error(None, str(exc) if isinstance(exc, BusinessRuleViolation) else exc)
        else:
            registration.refresh_from_db()
            return render(request, "registrations/status.html", {"registration": registration, "answered": True})
    return render(request, "registrations/respond.html", {"registration": registration, "form": form})


# --- Staff: the approval queue ----------------------------------------------------------------


def _require_decider(request: HttpRequest) -> None:
    if not can_decide_registrations(request.user):
        raise PermissionDenied("Registrations are decided by sales managers and the service desk.")


@staff_required
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Pending registrations, oldest first, with their SLA age and what they match."""
    _require_decider(request)
    rows = selectors.registration_queue(actor=request.user)
    size = settings.CRM_PAGE_SIZE
    items = list(rows[: size + 1])
    context = {
        "items": items[:size],
        "more": len(items) > size,
        "count": rows.count() if len(items) > size else len(items),
        "sla_hours": settings.REGISTRATIONS_SLA_HOURS,
        "nav_section": "registrations",
    }
    return render(request, "registrations/queue.html", context)


def _registration(request: HttpRequest, pk: int) -> RegistrationRequest:
    return get_object_or_404(selectors.registrations_visible_to(request.user), pk=pk)


@staff_required
def detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_decider(request)
    registration = _registration(request, pk)
    context = {
        "registration": registration,
        "candidates": selectors.registration_candidates(registration) if registration.is_open else [],
        "reject_form": ReasonForm(),
        "info_form": InfoRequestForm(),
        "sla_hours": settings.REGISTRATIONS_SLA_HOURS,
        "nav_section": "registrations",
    }
    return render(request, "registrations/detail.html", context)


def _decided(request: HttpRequest, registration: RegistrationRequest, action, done: str) -> HttpResponse:
    try:
        result = action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except BusinessRuleViolation as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(r=result))
        return redirect("registrations:queue")
    return redirect("registrations:detail", pk=registration.pk)


@staff_required
@require_POST
def approve(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_decider(request)
    registration = _registration(request, pk)
    form = ApproveForm(request.POST)
    form.is_valid()
    account_pk = form.cleaned_data.get("account")
    account = get_object_or_404(Account.objects.visible_to(request.user), pk=account_pk) if account_pk else None

    def run():
        return services.registration_approve(
            actor=request.user,
            registration=registration,
            account=account,
            create_account=bool(form.cleaned_data.get("create_account")) and account is None,
        )

    done = "{r.full_name} is now a user of {r.matched_account.name}."
    return _decided(request, registration, run, done)


@staff_required
@require_POST
def reject(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_decider(request)
    registration = _registration(request, pk)
    reason = request.POST.get("reason", "")
    return _decided(
        request,
        registration,
        lambda: services.registration_reject(actor=request.user, registration=registration, reason=reason),
        "The registration of {r.company_name} was rejected; {r.email} has been told why.",
    )


@staff_required
@require_POST
def request_info(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_decider(request)
    registration = _registration(request, pk)
    message = request.POST.get("message", "")
    return _decided(
        request,
        registration,
        lambda: services.registration_request_info(actor=request.user, registration=registration, message=message),
        "{r.email} was asked for more information. The request returns to the queue when they answer.",
    )


@staff_required
@require_POST
def admit_lead(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_decider(request)
    registration = _registration(request, pk)
    return _decided(
        request,
        registration,
        lambda: services.registration_admit_lead(actor=request.user, registration=registration),
        "{r.full_name} was admitted as a lead with lead access.",
    )


# --- Portal: the org admin confirms newcomers -----------------------------------------------------


def _portal_admin_account(request: HttpRequest):
    membership = getattr(request, "membership", None)
    if not request.user.is_authenticated or membership is None:
        raise Http404("No such page.")
    if org_admin_membership(request.user, membership.account) is None:
        raise Http404("No such page.")
    return membership.account


@login_required
def portal_confirmations(request: AuthenticatedHttpRequest) -> HttpResponse:
    account = _portal_admin_account(request)
    context = {
        "account": account,
        "items": list(selectors.registrations_awaiting_admin(account=account).select_related("user")),
        "nav_section": "organisation",
    }
    return render(request, "registrations/portal_confirmations.html", context)


@login_required
@require_POST
def portal_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    account = _portal_admin_account(request)
    registration = get_object_or_404(selectors.registrations_awaiting_admin(account=account), pk=pk)
    keep = request.POST.get("decision") != "remove"
    try:
        services.registration_admin_confirm(actor=request.user, registration=registration, keep=keep)
    except BusinessRuleViolation as exc:
        messages.error(request, str(exc))
    else:
        who = registration.full_name or registration.email
        messages.success(request, f"{who} stays in {account.name}." if keep else f"{who} was removed.")
    return redirect(reverse("registrations:portal_confirmations"))
