"""`/bulk/<resource>/`: preview a bulk action on a list's ticked rows or whole filter, then run it."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.http import AuthenticatedHttpRequest
from crm.bulk import BULK_LIMIT, RESOURCES, BulkForm, bulk_preview, bulk_run, selection


@staff_required
@require_POST
def bulk_action(request: AuthenticatedHttpRequest, resource: str) -> HttpResponseBase:
    spec = RESOURCES.get(resource)
    if spec is None:
        raise Http404("No such list.")
    data = request.POST.copy()
    # Ticked rows arrive as repeated ids= fields (the list's checkboxes) or one comma-separated value.
    data["ids"] = ",".join(request.POST.getlist("ids"))
    form = BulkForm(data, resource=spec)
    list_url = reverse(spec.list_url_name)
    back = f"{list_url}?{form.data.get('filters', '')}" if form.data.get("filters") else list_url
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing was changed: {errors}")
        return redirect(back)
    action = form.chosen_action
    qs = selection(user=request.user, resource=spec, form=form)
    params = form.params()
    confirmed = request.POST.get("confirm") == "1"
    stale = False
    if confirmed:
        expected = request.POST.get("expected", "")
        plan = bulk_run(actor=request.user, qs=qs, action=action, params=params, expected=expected)
        if plan is not None:
            skipped = f", {len(plan.skipped):,} skipped" if plan.skipped else ""
            messages.success(request, f"{action.label}: {len(plan.changed):,} {spec.plural} changed{skipped}.")
            return redirect(back)
        stale = True  # the records changed since the preview: show what would happen now
    plan = bulk_preview(actor=request.user, qs=qs, action=action, params=params)
    context = {
        "spec": spec,
        "form": form,
        "action": action,
        "plan": plan,
        "stale": stale,
        "limit": BULK_LIMIT,
        "back": back,
        "ids": form.cleaned_data["ids"],
    }
    return render(request, "crm/bulk_preview.html", context, status=409 if stale else 200)
