"""What every report shares: its filters, its scope, and the shape of what it returns.

A report is a module with ``build(user=, filters=) -> Report`` (a fixed number of aggregate
queries, whatever the data size) and ``records(user=, filters=, drill=) -> Records`` (the rows
behind one figure). A figure's ``drill`` parameters are exactly what ``records`` filters on, so
the records page of a figure lists the records that figure counted, and no others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.forms import StyledFormMixin
from crm.models import Account, Lead
from customfields.models import CustomField
from customfields.selectors import fields_for
from iam.models import User
from iam.permissions import reads_every_owners_figures

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Filters:
    """The filters every report understands. ``start``/``end`` are local dates, both inclusive."""

    start: dt.date
    end: dt.date
    owner_id: int | None = None
    tier: str = ""
    industry: str = ""
    territory: str = ""
    source: str = ""
    # Filterable single-choice custom fields of the report's records: ((key, value), …), and the
    # key of one to group a table by.
    custom: tuple[tuple[str, str], ...] = ()
    group: str = ""

    @property
    def start_at(self) -> dt.datetime:
        """The period's first instant, in the site's time zone."""
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def end_before(self) -> dt.datetime:
        """The first instant after the period."""
        return timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))

    def as_params(self) -> dict[str, str]:
        params = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for key in ("tier", "industry", "territory", "source"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.owner_id:
            params["owner"] = str(self.owner_id)
        for key, value in self.custom:
            params[f"cf_{key}"] = value
        if self.group:
            params["group"] = f"cf_{self.group}"
        return params

    def custom_q(self, prefix: str = "") -> Q:
        """The custom-field filters, on the records reached through ``prefix``."""
        condition = Q()
        for key, value in self.custom:
            condition &= Q(**{f"{prefix}custom_fields__{key}": value})
        return condition

    def has_account_filters(self) -> bool:
        return bool(self.tier or self.industry or self.territory)

    def account_q(self, prefix: str) -> Q:
        """Tier, industry and territory, on the account reached through ``prefix`` ("account__")."""
        condition = Q()
        if self.tier:
            condition &= Q(**{f"{prefix}tier": self.tier})
        if self.industry:
            condition &= Q(**{f"{prefix}industry": self.industry})
        if self.territory:
            condition &= Q(**{f"{prefix}territory__iexact": self.territory})
        return condition


def choice_fields(record_type: str | None) -> list[CustomField]:
    """The filterable single-choice custom fields of a record type ("crm.opportunity"): report filters and groups."""
    if record_type is None:
        return []
    return [f for f in fields_for(record_type) if f.filterable and f.type == CustomField.Type.CHOICE]


def _staff_choices() -> list[tuple[str, str]]:
    users = User.objects.staff().filter(is_active=True).order_by("first_name", "last_name")
    return [("", "Every owner"), *((str(u.pk), str(u)) for u in users)]


class FilterForm(StyledFormMixin, forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.TypedChoiceField(label="Owner", required=False, coerce=int, empty_value=None)
    territory = forms.CharField(label="Territory", required=False, max_length=100)
    tier = forms.ChoiceField(label="Tier", required=False, choices=[("", "Any tier"), *Account.Tier.choices])
    industry = forms.ChoiceField(
        label="Industry", required=False, choices=[("", "Any industry"), *Account.Industry.choices]
    )
    source = forms.ChoiceField(label="Lead source", required=False, choices=[("", "Any source"), *Lead.Source.choices])

    def __init__(
        self, *args: Any, show_owner: bool, fields: tuple[str, ...], record_type: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.custom_fields = choice_fields(record_type)
        if show_owner:
            owner = self.fields["owner"]
            assert isinstance(owner, forms.ChoiceField)
            owner.choices = _staff_choices()
        else:
            del self.fields["owner"]
        for name in list(self.fields):
            if name not in ("start", "end", "owner") and name not in fields:
                del self.fields[name]
        for custom in self.custom_fields:
            self.fields[f"cf_{custom.key}"] = forms.ChoiceField(
                label=custom.label, required=False, choices=[("", "Any"), *custom.choice_labels().items()]
            )
        if self.custom_fields:
            self.fields["group"] = forms.ChoiceField(
                label="Group by",
                required=False,
                choices=[("", "Nothing more"), *((f"cf_{c.key}", c.label) for c in self.custom_fields)],
            )
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The period ends before it starts.")
        if start and end and (end - start).days > MAX_PERIOD_DAYS:
            self.add_error("start", f"Choose a period of at most {MAX_PERIOD_DAYS // 365} years.")
        return data


MAX_PERIOD_DAYS = 3 * 366


def parse_filters(
    data: Mapping[str, str],
    *,
    user: User,
    default_period: tuple[dt.date, dt.date],
    fields: tuple[str, ...],
    record_type: str | None = None,
) -> tuple[Filters, FilterForm]:
    """Filters from a query string; what does not parse falls back to the default (the form says why)."""
    start, end = default_period
    params = {"start": start.isoformat(), "end": end.isoformat(), **{k: v for k, v in data.items() if v}}
    form = FilterForm(params, show_owner=reads_every_owners_figures(user), fields=fields, record_type=record_type)
    if form.is_valid():
        clean = form.cleaned_data
        filters = Filters(
            start=clean["start"],
            end=clean["end"],
            owner_id=clean.get("owner"),
            tier=clean.get("tier", ""),
            industry=clean.get("industry", ""),
            territory=(clean.get("territory") or "").strip(),
            source=clean.get("source", ""),
            custom=tuple((c.key, clean[f"cf_{c.key}"]) for c in form.custom_fields if clean.get(f"cf_{c.key}")),
            group=(clean.get("group") or "").removeprefix("cf_"),
        )
    else:
        filters = Filters(start=start, end=end)
    return scoped(filters, user=user), form


def scoped(filters: Filters, *, user: User) -> Filters:
    """A rep reads their own book whatever the URL says; managers and operations read everyone's."""
    if reads_every_owners_figures(user):
        return filters
    return replace(filters, owner_id=user.pk)


def owner_q(filters: Filters, field_name: str = "owner") -> Q:
    return Q(**{f"{field_name}_id": filters.owner_id}) if filters.owner_id else Q()


# --- What a report returns ---------------------------------------------------------------------


@dataclass
class Cell:
    value: Any
    kind: str = "int"  # int, money, percent, days, text
    drill: dict[str, str] | None = None
    href: str | None = None  # filled in by the view from ``drill``

    @property
    def csv_value(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, Decimal):
            return f"{self.value:.2f}"
        if isinstance(self.value, float):
            return f"{self.value:.1f}"
        return str(self.value)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = "Nothing in this period."
    icon: str = "table"
    note: str = ""


@dataclass
class Chart:
    """A Chart.js chart of one table: ``series`` are (label, column index) of that table."""

    key: str
    title: str
    table: str
    series: list[tuple[str, int]]
    type: str = "bar"
    stacked: bool = False
    icon: str = "bar-chart"
    label_column: int = 0
    kind: str = "int"


@dataclass
class Figure:
    label: str
    value: Any
    kind: str = "int"
    sub: str = ""
    drill: dict[str, str] | None = None
    href: str | None = None


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


@dataclass
class Records:
    """The records behind one figure: a queryset the records page lists, and how to show a row."""

    title: str
    queryset: QuerySet[Any]
    columns: list[str]
    row: Callable[[Any], list[Any]]
    amount_field: str | None = None  # summed on the records page, to check against a money figure
    list_url: str | None = None  # the CRM list with the same filters, where one exists


def percent(part: int | float | Decimal | None, whole: int | float | Decimal | None) -> float | None:
    if not whole:
        return None
    return round(100 * float(part or 0) / float(whole), 1)


def money(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(Decimal("0.01"))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], month_start(start)
    while current <= end:
        months.append(current)
        current = add_months(current, 1)
    return months


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weeks_between(start: dt.date, end: dt.date) -> list[dt.date]:
    weeks, current = [], week_start(start)
    while current <= end:
        weeks.append(current)
        current += dt.timedelta(days=7)
    return weeks


def query_string(params: Mapping[str, str]) -> str:
    return urlencode(sorted((k, v) for k, v in params.items() if v not in (None, "")))


def parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@contextmanager
def report_transaction() -> Iterator[None]:
    """Run a report's queries with PostgreSQL's JIT compiler off.

    A report's aggregates read many rows, so the planner costs them high enough to JIT-compile
    them; at a million rows the compiling took longer than the query (2.3 s against 0.2 s for
    the funnel). ``SET LOCAL`` keeps the setting to this transaction.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def today() -> dt.date:
    return timezone.localdate()
