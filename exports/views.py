"""``exports:export``: any CRM list, as it is filtered and sorted (``?ids=`` for ticked rows), as CSV or XLSX."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from core.access import staff_required
from core.errors import BusinessRuleViolation
from core.http import AuthenticatedHttpRequest
from crm import views as crm_views
from exports import services
from exports.columns import EXPORTS, columns_with_custom_fields


@staff_required
def export(request: AuthenticatedHttpRequest, resource: str) -> HttpResponseBase:
    spec = EXPORTS.get(resource)
    if spec is None:
        raise Http404("No such list.")
    list_spec = getattr(crm_views, spec.list_spec)
    params = request.GET.copy()
    file_format = params.pop("format", ["csv"])[-1]
    ids_text = params.pop("ids", [""])[-1]
    wanted = [c for c in params.pop("columns", [""])[-1].split(",") if c]
    available = columns_with_custom_fields(spec)
    columns = tuple(c for c in available if not wanted or c.key in wanted) or available
    queryset = spec.selector(user=request.user)
    filterset = spec.filterset(params or None, queryset=queryset)
    rows = queryset.none() if filterset.is_bound and not filterset.is_valid() else filterset.qs
    if ids_text:
        ids = [int(i) for i in ids_text.split(",") if i.strip().isdecimal()]
        rows = rows.filter(pk__in=ids)
    sorts = {sort.key: sort for sort in list_spec.sorts}
    sort = sorts.get(params.get("sort", ""), list_spec.sorts[0])
    rows = rows.order_by(*(f"-{f}" if sort.descending else f for f in (sort.field, "pk")))
    query = dict(request.GET.items())
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    list_url = reverse(f"crm:{spec.noun}_list")
    if file_format == "xlsx":
        try:
            content = services.xlsx_bytes(rows, columns)
        except BusinessRuleViolation as exc:
            messages.error(request, str(exc))
            return redirect(f"{list_url}?{params.urlencode()}")
        services.export_record(actor=request.user, spec=spec, resource=resource, file_format="xlsx", query=query)
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{resource}-{stamp}.xlsx"'
        return response
    if file_format != "csv":
        raise Http404("Export as csv or xlsx.")
    services.export_record(actor=request.user, spec=spec, resource=resource, file_format="csv", query=query)
    streamed = StreamingHttpResponse(services.csv_stream(rows, columns), content_type="text/csv; charset=utf-8")
    streamed["Content-Disposition"] = f'attachment; filename="{resource}-{stamp}.csv"'
    return streamed
