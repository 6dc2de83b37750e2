"""Pages for teams, territories and assignment rules: managers and operations change them, every
staff user sees their own team and sets their own out-of-office. Portal users get a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from iam.models import User
from iam.permissions import can_manage_teams
from territories import selectors, services
from territories.forms import MemberForm, OutOfOfficeForm, RoutingTestForm, RuleForm, TeamForm, TerritoryForm
from territories.models import AssignmentRule, Team, TeamMembership, Territory, TerritoryRun
from territories.regions import REGIONS

NAV = "teams"
LEAD_RULES, CASE_RULES = AssignmentRule.RecordType.LEAD.value, AssignmentRule.RecordType.CASE.value


def _require_manager(request: AuthenticatedHttpRequest) -> None:
    if not can_manage_teams(request.user):
        raise PermissionDenied("Only sales managers and operations change teams, territories and rules.")


def _context(request: AuthenticatedHttpRequest, tab: str, **extra: object) -> dict[str, object]:
    return {
        "nav_section": NAV,
        "tab": tab,
        "manages": can_manage_teams(request.user),
        "today": timezone.localdate(),
        **extra,
    }


# --- Teams ---------------------------------------------------------------------------------------


@staff_required
def team_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    teams = list(selectors.team_list(user=request.user))
    rows = selectors.team_member_rows(teams)
    return render(
        request,
        "territories/team_list.html",
        _context(request, "teams", teams=[(t, rows[t.pk]) for t in teams], me=request.user),
    )


def _team_for(request: AuthenticatedHttpRequest, pk: int) -> Team:
    return get_object_or_404(selectors.team_list(user=request.user), pk=pk)


@staff_required
def team_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    team = _team_for(request, pk)
    rows = selectors.team_member_rows([team])[team.pk]
    context = _context(
        request,
        "teams",
        team=team,
        rows=rows,
        add_form=MemberForm(prefix="add") if can_manage_teams(request.user) else None,
        territories=list(team.territories.order_by("position", "id")),
    )
    return render(request, "territories/team_detail.html", context)


@staff_required
def team_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_manager(request)
    team = _team_for(request, pk) if pk is not None else None
    instance = Team.objects.get(pk=team.pk) if team is not None else Team()
    form = TeamForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.team_save(actor=request.user, team=form.save(commit=False))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Team “{saved.name}” saved.")
            return redirect(saved.get_absolute_url())
    return render(request, "territories/team_form.html", _context(request, "teams", form=form, team=team))


@staff_required
@require_POST
def team_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    team = _team_for(request, pk)
    try:
        services.team_delete(actor=request.user, team=team)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(team.get_absolute_url())
    messages.success(request, f"Team “{team.name}” deleted.")
    return redirect("territories:team_list")


@staff_required
@require_POST
def member_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    team = _team_for(request, pk)
    form = MemberForm(request.POST, prefix="add", instance=TeamMembership(team=team))
    if form.is_valid():
        try:
            membership = services.team_member_save(actor=request.user, membership=form.save(commit=False))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{membership.user} joined {team}.")
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(team.get_absolute_url())


@staff_required
@require_POST
def member_update(request: AuthenticatedHttpRequest, pk: int, member_pk: int) -> HttpResponse:
    _require_manager(request)
    team = _team_for(request, pk)
    membership = get_object_or_404(team.memberships.select_related("user"), pk=member_pk)
    if request.POST.get("remove"):
        services.team_member_remove(actor=request.user, membership=membership)
        messages.success(request, f"{membership.user} left {team}.")
        return redirect(team.get_absolute_url())
    data = request.POST.copy()
    data["user"] = str(membership.user_id)
    form = MemberForm(data, instance=membership)
    if form.is_valid():
        try:
            services.team_member_save(actor=request.user, membership=form.save(commit=False))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{membership.user}: capacity saved.")
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(team.get_absolute_url())


# --- Out of office -------------------------------------------------------------------------------


@staff_required
def out_of_office(request: AuthenticatedHttpRequest, user_pk: int | None = None) -> HttpResponse:
    """Your own out-of-office (any staff user), or a colleague's (managers and operations)."""
    if user_pk is None or user_pk == request.user.pk:
        person = request.user
    else:
        _require_manager(request)
        person = get_object_or_404(User.objects.staff(), pk=user_pk)
    initial = {"out_of_office_from": person.out_of_office_from, "out_of_office_until": person.out_of_office_until}
    form = OutOfOfficeForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if request.POST.get("clear"):
            services.user_set_out_of_office(actor=request.user, user=person, start=None, end=None)
            messages.success(request, "Out-of-office cleared: automatic assignments reach you again.")
            return redirect(request.POST.get("next") or reverse("territories:team_list"))
        if form.is_valid():
            try:
                services.user_set_out_of_office(
                    actor=request.user,
                    user=person,
                    start=form.cleaned_data["out_of_office_from"],
                    end=form.cleaned_data["out_of_office_until"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Out-of-office saved for {person}.")
                return redirect(reverse("territories:team_list"))
    return render(request, "territories/out_of_office.html", _context(request, "teams", form=form, person=person))


# --- Territories ---------------------------------------------------------------------------------


@staff_required
def territory_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    territories = list(selectors.territory_list(user=request.user))
    for territory in territories:
        territory.region_labels = [REGIONS[k][0] if k in REGIONS else k for k in territory.regions]  # type: ignore[attr-defined]
    return render(
        request,
        "territories/territory_list.html",
        _context(
            request,
            "territories",
            territories=territories,
            run=selectors.latest_run(),
        ),
    )


@staff_required
def territory_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_manager(request)
    territory = get_object_or_404(selectors.territory_list(user=request.user), pk=pk) if pk else None
    form = TerritoryForm(request.POST or None, instance=territory or Territory())
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.territory_save(actor=request.user, territory=form.save(commit=False))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Territory “{saved.name}” saved. New and changed accounts get it at once; "
                "re-apply to move existing accounts.",
            )
            return redirect("territories:territory_list")
    return render(
        request, "territories/territory_form.html", _context(request, "territories", form=form, territory=territory)
    )


@staff_required
@require_POST
def territory_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    territory = get_object_or_404(selectors.territory_list(user=request.user), pk=pk)
    services.territory_delete(actor=request.user, territory=territory)
    messages.success(request, f"Territory “{territory.name}” deleted.")
    return redirect("territories:territory_list")


@staff_required
@require_POST
def territories_reapply(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    run = services.territory_run_start(actor=request.user)
    run.refresh_from_db()
    if run.status == TerritoryRun.Status.DONE:
        messages.success(request, f"Territories re-applied: {run.accounts_changed:,} accounts moved.")
    else:
        messages.info(request, "Re-applying territories to every account; this page shows the progress.")
    return redirect("territories:territory_list")


@staff_required
def run_status(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    return render(request, "territories/_run.html", {"run": selectors.latest_run()})


# --- Assignment rules ----------------------------------------------------------------------------


@staff_required
def rule_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    rules = list(selectors.rule_list(user=request.user))
    form = RoutingTestForm(request.GET if "record_type" in request.GET else None)
    decision = None
    if form.is_bound and form.is_valid():
        decision = services.route_preview(form.sample())
    context = _context(
        request,
        "rules",
        rule_groups=[
            ("New leads", [r for r in rules if r.record_type == LEAD_RULES], LEAD_RULES, "leads"),
            ("New cases", [r for r in rules if r.record_type == CASE_RULES], CASE_RULES, "cases"),
        ],
        test_form=form,
        decision=decision,
    )
    return render(request, "territories/rule_list.html", context)


@staff_required
def rule_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_manager(request)
    rule = get_object_or_404(selectors.rule_list(user=request.user), pk=pk) if pk else None
    initial = {"record_type": request.GET.get("record_type")} if rule is None else None
    form = RuleForm(request.POST or None, instance=rule or AssignmentRule(), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.rule_save(
                actor=request.user, rule=form.save(commit=False), territories=form.cleaned_data["territories"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Assignment rule “{saved.name}” saved.")
            return redirect("territories:rule_list")
    return render(request, "territories/rule_form.html", _context(request, "rules", form=form, rule=rule))


@staff_required
@require_POST
def rule_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    rule = get_object_or_404(selectors.rule_list(user=request.user), pk=pk)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Assignment rule “{rule.name}” deleted.")
    return redirect("territories:rule_list")
