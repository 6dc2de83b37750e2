"""Automation pages: the rule list (order, on/off), the builder, a rule's run log, the dry-run,
and email templates. Sales managers and operations only; reps 403, portal users 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.http import AuthenticatedHttpRequest
from iam.permissions import can_manage_workflows
from workflows import actions as action_specs
from workflows import engine, services
from workflows.conditions import describe as describe_conditions
from workflows.conditions import fields_for
from workflows.events import EVENTS
from workflows.forms import (
    ActionForm,
    ActionFormSet,
    ConditionFormSet,
    EmailTemplateForm,
    RuleForm,
    condition_rows,
    conditions_from,
)
from workflows.models import EmailTemplate, RecordType, Rule, RuleRun, Trigger
from workflows.selectors import rule_list, trigger_words


def _require(request: AuthenticatedHttpRequest) -> None:
    if not can_manage_workflows(request.user):
        raise PermissionDenied("Only sales managers and operations manage workflow rules.")


@staff_required
def rule_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require(request)
    rules = list(rule_list())
    since = timezone.now() - dt.timedelta(days=7)
    counts = {
        row["rule_id"]: row
        for row in RuleRun.objects.filter(created_at__gte=since, rule__in=[r.pk for r in rules])
        .values("rule_id")
        .annotate(
            fired=Count("pk", filter=Q(status=RuleRun.Status.DONE)),
            skipped=Count("pk", filter=Q(status=RuleRun.Status.SKIPPED)),
            failed=Count("pk", filter=Q(status=RuleRun.Status.FAILED)),
        )
    }
    rows = [
        {
            "rule": r,
            "trigger": trigger_words(r),
            "conditions": describe_conditions(r.record_type, r.conditions),
            "actions": [action_specs.describe(a) for a in r.actions],
            "counts": counts.get(r.pk, {}),
        }
        for r in rules
    ]
    return render(request, "workflows/rule_list.html", {"nav_section": "automation", "rows": rows})


def _choices() -> dict[str, list[tuple[Any, str]]]:
    from savedviews.models import SavedView
    from webhooks.models import Endpoint

    out: dict[str, list[tuple[Any, str]]] = {
        "view": [(v.pk, f"{v.name} ({v.list_key})") for v in SavedView.objects.filter(shared=True).order_by("name")],
        "endpoint": [(e.pk, e.url) for e in Endpoint.objects.order_by("url")],
        "team": [],
    }
    try:
        from territories.models import Team

        out["team"] = [(t.pk, str(t)) for t in Team.objects.order_by("pk")]
    except ImportError:  # the territories app is not installed here
        pass
    return out


def _builder(request: AuthenticatedHttpRequest, rule: Rule) -> HttpResponse:
    record_type = rule.record_type
    fields = fields_for(record_type)
    field_choices = [(k, f.label) for k, f in fields.items()]
    kwargs: dict[str, Any] = {"record_type": record_type, "choices": _choices()}
    if request.method == "POST":
        form = RuleForm(request.POST, instance=rule, record_type=record_type)
        conditions = ConditionFormSet(request.POST, prefix="c", form_kwargs={"field_choices": field_choices})
        actions = ActionFormSet(request.POST, prefix="a", form_kwargs=kwargs)
        if form.is_valid() and conditions.is_valid() and actions.is_valid():
            data = {
                name: form.cleaned_data.get(name)
                for name in ("name", "description", "trigger", "event", "time_field", "time_offset_hours", "max_depth")
            }
            data["event"] = data["event"] or ""
            data["time_field"] = data["time_field"] or ""
            data["time_offset_hours"] = data["time_offset_hours"] or 0
            data["change_conditions"] = form.change_conditions()
            data["conditions"] = conditions_from(conditions)
            data["actions"] = [s for s in (f.spec() for f in actions.forms if getattr(f, "cleaned_data", None)) if s]
            try:
                if rule.pk is None:
                    for name, value in data.items():
                        setattr(rule, name, value)
                    rule = services.rule_create(actor=request.user, rule=rule)
                    messages.success(request, f"Rule “{rule.name}” saved, switched off. Dry-run it, then switch it on.")
                else:
                    rule = services.rule_update(actor=request.user, rule=rule, changes=data)
                    messages.success(request, f"Rule “{rule.name}” saved (version {rule.version}).")
            except ValidationError as exc:
                for name, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    for error in errors:
                        form.add_error(
                            None if name not in form.fields else name,
                            f"{name.replace('_', ' ').capitalize()}: {error}" if name not in form.fields else error,
                        )
            else:
                return redirect("workflows:detail", rule.pk)
    else:
        form = RuleForm(instance=rule, record_type=record_type)
        conditions = ConditionFormSet(
            prefix="c", initial=condition_rows(rule.conditions), form_kwargs={"field_choices": field_choices}
        )
        actions = ActionFormSet(
            prefix="a", initial=[ActionForm.initial_for(a) for a in rule.actions or []], form_kwargs=kwargs
        )
    context = {
        "nav_section": "automation",
        "rule": rule,
        "form": form,
        "conditions": conditions,
        "actions": actions,
        "record_type_label": RecordType(record_type).label,
        "action_params": ActionForm.PARAMS,
    }
    return render(request, "workflows/rule_form.html", context)


@staff_required
def rule_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require(request)
    record_type = request.GET.get("record_type", "")
    if record_type not in RecordType.values:
        return render(
            request,
            "workflows/rule_new.html",
            {"nav_section": "automation", "record_types": RecordType.choices, "events": EVENTS},
        )
    trigger = request.GET.get("trigger", Trigger.SAVED)
    rule = Rule(record_type=record_type, trigger=trigger if trigger in Trigger.values else Trigger.SAVED)
    rule.event = request.GET.get("event", "") if rule.trigger == Trigger.EVENT else ""
    return _builder(request, rule)


@staff_required
def rule_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    return _builder(request, get_object_or_404(rule_list(), pk=pk))


@staff_required
def rule_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    rule = get_object_or_404(rule_list(), pk=pk)
    status = request.GET.get("status", "")
    runs = RuleRun.objects.filter(rule=rule).order_by("-created_at", "-id")
    if status in RuleRun.Status.values:
        runs = runs.filter(status=status)
    context = {
        "nav_section": "automation",
        "rule": rule,
        "trigger": trigger_words(rule),
        "conditions": describe_conditions(rule.record_type, rule.conditions),
        "actions": [action_specs.describe(a) for a in rule.actions],
        "runs": list(runs[:100]),
        "status": status,
        "statuses": RuleRun.Status.choices,
    }
    return render(request, "workflows/rule_detail.html", context)


@staff_required
def rule_dry_run(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """What the rule would have done over the last 30 days. Reads only (a GET)."""
    _require(request)
    rule = get_object_or_404(rule_list(), pk=pk)
    lines = engine.dry_run(rule)
    fire = [line for line in lines if line.fire]
    context = {
        "nav_section": "automation",
        "rule": rule,
        "lines": lines[:500],
        "fire_count": len(fire),
        "skip_count": len(lines) - len(fire),
        "actions": [action_specs.describe(a) for a in rule.actions],
        "days": engine.DRY_RUN_DAYS,
        "limit": engine.DRY_RUN_LIMIT,
    }
    return render(request, "workflows/rule_dry_run.html", context)


@require_POST
@staff_required
def rule_toggle(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    rule = get_object_or_404(rule_list(), pk=pk)
    rule = services.rule_set_enabled(actor=request.user, rule=rule, enabled=not rule.enabled)
    messages.success(request, f"“{rule.name}” is {'on' if rule.enabled else 'off'}.")
    if request.POST.get("next") == "detail":
        return redirect("workflows:detail", rule.pk)
    return redirect("workflows:list")


@require_POST
@staff_required
def rule_move(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    rule = get_object_or_404(rule_list(), pk=pk)
    services.rule_move(
        actor=request.user, rule=rule, direction="up" if request.POST.get("direction") == "up" else "down"
    )
    return redirect("workflows:list")


@require_POST
@staff_required
def rule_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require(request)
    rule = get_object_or_404(rule_list(), pk=pk)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("workflows:list")


@staff_required
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require(request)
    return render(
        request,
        "workflows/template_list.html",
        {"nav_section": "automation", "templates": EmailTemplate.objects.order_by("name")},
    )


@staff_required
def template_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require(request)
    template = get_object_or_404(EmailTemplate, pk=pk) if pk else EmailTemplate()
    form = EmailTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            services.email_template_save(actor=request.user, template=form.save(commit=False))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("workflows:templates")
    return render(
        request, "workflows/template_form.html", {"nav_section": "automation", "form": form, "template": template}
    )
