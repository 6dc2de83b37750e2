"""Import pages: upload, map, preview, run (with progress), result, failed rows, undo."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.http import AuthenticatedHttpRequest
from imports import selectors, services
from imports.forms import MappingForm, UploadForm
from imports.mapping import header_key, suggest_mapping
from imports.models import ImportJob


@staff_required
def job_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    jobs = selectors.import_jobs(user=request.user)[:50]
    return render(request, "imports/job_list.html", {"jobs": jobs})


@staff_required
def upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = UploadForm(
        request.POST or None, request.FILES or None, initial={"resource": request.GET.get("resource", "contacts")}
    )
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            job = services.import_stage(
                actor=request.user,
                resource=form.cleaned_data["resource"],
                stream=upload_file.file,
                file_name=upload_file.name,
            )
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            return redirect("imports:map", pk=job.pk)
    return render(request, "imports/upload.html", {"form": form}, status=400 if form.errors else 200)


def _draft(request: AuthenticatedHttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(selectors.import_jobs(user=request.user), pk=pk)


@staff_required
def map_columns(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = _draft(request, pk)
    if job.status != ImportJob.Status.DRAFT:
        return redirect(job)
    mappings = list(selectors.saved_mappings(user=request.user, resource=job.resource))
    chosen = next((m for m in mappings if str(m.pk) == request.GET.get("mapping")), None)
    if request.method == "POST":
        form = MappingForm(request.POST, job=job)
        if form.is_valid():
            try:
                services.import_configure(
                    actor=request.user,
                    job=job,
                    mapping=form.mapping(),
                    policy=form.cleaned_data["policy"],
                    default_country=form.cleaned_data["default_country"],
                    date_format=form.cleaned_data["date_format"],
                    save_as=form.cleaned_data["save_as"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("imports:preview", pk=job.pk)
    else:
        mapping = job.mapping or suggest_mapping(job.resource, job.headers, chosen.columns if chosen else None)
        initial = {f"col_{i}": target for i, target in mapping.items()}
        initial.update(policy=job.policy, default_country=job.default_country, date_format=job.date_format)
        form = MappingForm(initial=initial, job=job)
    samples: list[list[str]] = [[] for _ in job.headers]
    first = job.chunks.order_by("number").first()
    for cells in first.rows[:3] if first else []:
        for i, value in enumerate(cells[: len(job.headers)]):
            samples[i].append(value)
    context = {
        "job": job,
        "form": form,
        "rows": list(zip(form.columns(), samples, strict=True)),
        "mappings": mappings,
        "chosen": chosen,
        "header_keys": [header_key(h) for h in job.headers],
    }
    return render(request, "imports/map.html", context)


@staff_required
def preview(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = _draft(request, pk)
    if job.status != ImportJob.Status.DRAFT:
        return redirect(job)
    if not job.mapping:
        return redirect("imports:map", pk=job.pk)
    if request.method == "POST":
        try:
            services.import_start(actor=request.user, job=job)
        except (ValidationError, BusinessRuleViolation) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            return redirect("imports:map", pk=job.pk)
        messages.success(request, f"Import of {job.total_rows:,} rows started.")
        return redirect(job)
    columns, rows = selectors.import_preview(job)
    context = {"job": job, "columns": columns, "rows": rows, "errors": sum(1 for r in rows if not r.row.ok)}
    return render(request, "imports/preview.html", context)


@staff_required
def job_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(selectors.import_jobs(user=request.user), pk=pk)
    if job.status == ImportJob.Status.DRAFT:
        return redirect("imports:map", pk=job.pk)
    can_undo, undo_blocked = services.import_undo_allowed(job) if job.status == ImportJob.Status.DONE else (False, "")
    context = {
        "job": job,
        "failures": job.failures.order_by("line")[:20],
        "can_undo": can_undo,
        "undo_blocked": undo_blocked,
    }
    if request.headers.get("HX-Request") == "true":
        return render(request, "imports/_progress.html", context)
    return render(request, "imports/job_detail.html", context)


@staff_required
def failed_rows(request: AuthenticatedHttpRequest, pk: int) -> StreamingHttpResponse:
    job = get_object_or_404(selectors.import_jobs(user=request.user), pk=pk)
    response = StreamingHttpResponse(selectors.failed_rows_csv(job), content_type="text/csv; charset=utf-8")
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-failed-rows.csv"'
    return response


@staff_required
@require_POST
def undo(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(selectors.import_jobs(user=request.user), pk=pk)
    try:
        services.import_undo(actor=request.user, job=job)
    except BusinessRuleViolation as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Undo of {job.file_name} started: what it created is being deleted, what it changed put back.",
        )
    return redirect(job)
