"""The reports' pages: the index, one page per report, the records behind a figure, CSV.

Views parse the filters, call the report module and render; the modules hold the queries.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify

from analytics.reports import REPORTS
from analytics.reports.base import Chart, Filters, Report, Table, parse_filters, query_string, report_transaction, today
from core.access import staff_required
from core.http import AuthenticatedHttpRequest
from iam.permissions import reads_every_owners_figures

RECORDS_SHOWN = 100
# Query-string keys that are not filters but say which figure was clicked.
DRILL_KEYS = (
    "metric",
    "stage",
    "month",
    "week",
    "step",
    "lead_source",
    "segment",
    "days",
    "outcome",
    "kind",
    "batch",
    "waited",
    "origin",
    "account",
    "status",
)


def _report_module(slug: str) -> Any:
    module = REPORTS.get(slug)
    if module is None:
        raise Http404("No such report.")
    return module


def _filters(request: AuthenticatedHttpRequest, module: Any) -> tuple[Filters, Any]:
    return parse_filters(
        request.GET,
        user=request.user,
        default_period=module.default_period(),
        fields=module.FILTERS,
        record_type=getattr(module, "RECORD_TYPE", None),
    )


def _chart_data(chart: Chart, table: Table) -> dict[str, Any]:
    """What static/js/reports.js draws: labels, series, and where a click on each bar goes."""
    rows = table.rows
    return {
        "type": chart.type,
        "stacked": chart.stacked,
        "kind": chart.kind,
        "labels": [str(row[chart.label_column].value) for row in rows],
        "datasets": [
            {
                "label": label,
                "data": [float(row[column].value or 0) for row in rows],
                "links": [row[column].href or "" for row in rows],
            }
            for label, column in chart.series
        ],
    }


@staff_required
def report_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    reports = [
        {"slug": m.SLUG, "title": m.TITLE, "icon": m.ICON, "description": m.DESCRIPTION} for m in REPORTS.values()
    ]
    context = {"reports": reports, "sees_everyone": reads_every_owners_figures(request.user), "nav_section": "reports"}
    return render(request, "analytics/reports/index.html", context)


@staff_required
def report_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    module = _report_module(slug)
    filters, form = _filters(request, module)
    with report_transaction():
        report: Report = _linked(slug, filters, module.build(user=request.user, filters=filters))
    if request.GET.get("format") == "csv":
        table = report.table(request.GET.get("table", "")) or (report.tables[0] if report.tables else None)
        if table is None:
            raise Http404("No such table.")
        return _csv(f"{slug}-{table.key}-{filters.start}-{filters.end}", table)
    charts = []
    for chart in report.charts:
        table = report.table(chart.table)
        if table is not None:
            charts.append(
                {
                    "chart": chart,
                    "dom_id": f"{chart.key}-data",
                    "data": _chart_data(chart, table),
                    "has_data": _has_data(table, chart),
                }
            )
    context = {
        "module": module,
        "report": report,
        "charts": charts,
        "form": form,
        "filters": filters,
        "filter_query": query_string(filters.as_params()),
        "sees_everyone": reads_every_owners_figures(request.user),
        "nav_section": "reports",
    }
    return render(request, "analytics/reports/report.html", context)


def _has_data(table: Table, chart: Chart) -> bool:
    return any(row[column].value for row in table.rows for _, column in chart.series)


def _csv(name: str, table: Table) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(name)}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([cell.csv_value for cell in row])
    return response


@staff_required
def report_records(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    module = _report_module(slug)
    filters, _form = _filters(request, module)
    drill = {key: request.GET[key] for key in DRILL_KEYS if request.GET.get(key)}
    records = module.records(user=request.user, filters=filters, drill=drill)
    with report_transaction():
        summary: dict[str, Any] = records.queryset.order_by().aggregate(count=Count("pk"))
        if records.amount_field:
            summary.update(
                records.queryset.order_by().aggregate(
                    amount=Coalesce(
                        Sum(records.amount_field),
                        Decimal(0),
                        output_field=DecimalField(max_digits=18, decimal_places=2),
                    )
                )
            )
        rows = [records.row(item) for item in records.queryset[:RECORDS_SHOWN]]
    context = {
        "module": module,
        "records": records,
        "rows": [[_display(value) for value in row] for row in rows],
        "summary": summary,
        "shown": len(rows),
        "filters": filters,
        "back": f"{reverse('analytics:report_detail', args=[slug])}?{query_string(filters.as_params())}",
        "nav_section": "reports",
    }
    return render(request, "analytics/reports/records.html", context)


def _display(value: Any) -> dict[str, Any]:
    """A records-page cell: text with an optional link, or a money amount."""
    if isinstance(value, tuple) and value and value[0] == "money":
        return {"money": value[1], "is_money": True}
    if isinstance(value, tuple):
        return {"text": value[0], "href": value[1]}
    if isinstance(value, dt.datetime | dt.date):
        return {"date": value}
    return {"text": "" if value is None else str(value)}


# --- The manager's home -------------------------------------------------------------------------


def _quarter(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    end = start.replace(year=start.year + 1, month=1) if start.month == 10 else start.replace(month=start.month + 3)
    return start, end - dt.timedelta(days=1)


def _linked(slug: str, filters: Filters, report: Report) -> Report:
    # A page has hundreds of cells: resolve the URL and the filters once, not per cell.
    base = reverse("analytics:report_records", args=[slug])
    params = filters.as_params()

    def link(drill: dict[str, str]) -> str:
        return f"{base}?{query_string({**params, **drill})}"

    for figure in report.figures:
        if figure.drill is not None:
            figure.href = link(figure.drill)
    for table in report.tables:
        for row in table.rows:
            for cell in row:
                if cell.drill is not None:
                    cell.href = link(cell.drill)
    return report


@staff_required
def team_dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """`/` for sales managers and operations: the team's numbers on the first screen."""
    from analytics.reports import activities, contracts, funnel, pipeline

    user = request.user
    now = today()
    quarter = Filters(*_quarter(now))
    month = Filters(start=now.replace(day=1), end=now)
    week = Filters(start=now - dt.timedelta(days=now.weekday()), end=now)
    with report_transaction():
        deals = _linked("pipeline", quarter, pipeline.build(user=user, filters=quarter))
        agreements = _linked("contracts", month, contracts.build(user=user, filters=month))
        leads = _linked("funnel", month, funnel.build(user=user, filters=month))
        work = _linked("activities", week, activities.build(user=user, filters=week))

    def figure(report: Report, label: str) -> Any:
        return next(f for f in report.figures if f.label == label)

    owners = deals.table("by_owner")
    context = {
        "quarter": quarter,
        "figures": [
            figure(deals, "Open pipeline"),
            figure(deals, "Weighted forecast"),
            figure(deals, "Won"),
            figure(deals, "Win rate"),
            figure(agreements, "Expiring in 30 days"),
            figure(work, "Overdue tasks"),
        ],
        "leads": leads.figures,
        "owners": owners,
        "owner_chart": _chart_data(Chart("owners", "", "by_owner", [("Weighted", 3), ("Amount", 2)]), owners)
        if owners and owners.rows
        else None,
        "access_at_risk": agreements.table("access_at_risk"),
        "reports": [{"slug": m.SLUG, "title": m.TITLE, "icon": m.ICON} for m in REPORTS.values()],
        "nav_section": "home",
    }
    return render(request, "analytics/reports/team_dashboard.html", context)
