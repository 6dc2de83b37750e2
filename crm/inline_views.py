"""`/inline/<record>/<pk>/<field>/`: show, edit and save one field of a record in place (htmx)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from crm.inline import INLINE, display, inline_form
from crm.views import CONTACT_FORM, CONTRACT_FORM, LEAD_FORM, OPPORTUNITY_FORM

SAVERS = {"contact": CONTACT_FORM, "lead": LEAD_FORM, "opportunity": OPPORTUNITY_FORM, "contract": CONTRACT_FORM}


@staff_required
def inline_edit(request: AuthenticatedHttpRequest, record_type: str, pk: int, field: str) -> HttpResponse:
    spec = INLINE.get(record_type)
    if spec is None or field not in spec.fields:
        raise Http404("This field cannot be edited in place.")
    record = get_object_or_404(spec.selector(user=request.user), pk=pk)  # out of scope: the same 404
    url = reverse("crm:inline_edit", args=[record_type, pk, field])
    label = spec.form_class.base_fields[field].label or field.replace("_", " ")
    context: dict = {"record": record, "field": field, "url": url, "record_type": record_type, "label": label}
    if request.method == "POST":
        form = inline_form(user=request.user, spec=spec, record=record, field=field, value=request.POST.get(field, ""))
        if form.is_valid():
            try:
                record = SAVERS[record_type].save(actor=request.user, record=form.save(commit=False), form=form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except BusinessRuleViolation as exc:
                form.add_error(None, str(exc))
        if form.errors:
            other = [f"{form.fields[n].label if n in form.fields else ''}: {e}".lstrip(": ")
                     for n, errs in form.errors.items() if n != field for e in errs]  # fmt: skip
            context.update(form=form, bound=form[field], other_errors=other, status=422)
            return render(request, "crm/_inline_field.html", context, status=422)
        record = spec.selector(user=request.user).get(pk=pk)
        context.update(record=record, value=display(record, field), saved=True)
        return render(request, "crm/_inline_field.html", context)
    if request.GET.get("edit") == "1":
        form = inline_form(user=request.user, spec=spec, record=record, field=field, value=None)
        context.update(form=form, bound=form[field])
        return render(request, "crm/_inline_field.html", context)
    context["value"] = display(record, field)
    return render(request, "crm/_inline_field.html", context)
