"""The opportunity board: deals as cards in one column per stage, the same data as the list.

Fast at 100,000 deals: each column's count, total and weighted total come from one grouped
query, and each column shows only its first cards (one query for all columns, each column's
cards found through the (stage, expected close, id) index); "load more" pages a column by keyset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum, Window
from django.db.models.functions import Coalesce, RowNumber

from core.forms import StyledFormMixin
from core.listing import Page, Sort, keyset_page
from crm.models import Opportunity
from iam.models import User

if TYPE_CHECKING:
    from iam.models import User as UserType

BOARD_SORT = Sort("close", "Closing soonest", "expected_close_date")
CARDS_PER_COLUMN = 20


class BoardFilterForm(StyledFormMixin, forms.Form):
    owner = forms.ModelChoiceField(
        queryset=User.objects.staff().order_by("first_name", "last_name"), required=False, empty_label="Any owner"
    )
    close_month = forms.CharField(
        required=False, label="Closing in", widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    )
    min_amount = forms.DecimalField(required=False, min_value=0, label="Amount from", max_digits=14, decimal_places=2)
    max_amount = forms.DecimalField(required=False, min_value=0, label="Amount to", max_digits=14, decimal_places=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()
        self.fields["owner"].widget.attrs["aria-label"] = "Owner"

    def clean_close_month(self) -> dt.date | None:
        value = (self.cleaned_data.get("close_month") or "").strip()
        if not value:
            return None
        try:
            if len(value) != 7:
                raise ValueError(value)
            return dt.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise forms.ValidationError("Pick a month, e.g. 2027-03.") from None

    def filter(self, qs: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
        data = self.cleaned_data
        if data.get("owner"):
            qs = qs.filter(owner=data["owner"])
        month = data.get("close_month")
        if month:
            next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            qs = qs.filter(expected_close_date__gte=month, expected_close_date__lt=next_month)
        if data.get("min_amount") is not None:
            qs = qs.filter(amount__gte=data["min_amount"])
        if data.get("max_amount") is not None:
            qs = qs.filter(amount__lte=data["max_amount"])
        return qs


@dataclass
class Column:
    stage: str
    label: str
    is_open: bool
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    cards: list[Opportunity] = field(default_factory=list)
    next_cursor: str | None = None


def board_queryset(*, user: UserType, form: BoardFilterForm | None) -> QuerySet[Opportunity]:
    qs: QuerySet[Opportunity] = Opportunity.objects.visible_to(user)
    if form is not None and form.is_valid():
        qs = form.filter(qs)
    elif form is not None and form.is_bound:
        qs = qs.none()
    return qs


def column_totals(qs: QuerySet[Opportunity]) -> dict[str, dict[str, Any]]:
    """Count, total and weighted total per stage, in SQL (one grouped query)."""
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=2)
    # Divided once per column, not once per deal: numeric arithmetic is most of this query's time.
    weighted = ExpressionWrapper(Sum(F("amount") * F("probability")) / Decimal(100), output_field=money)
    rows = (
        qs.order_by()
        .values("stage")
        .annotate(
            count=Count("pk"),
            total=Coalesce(Sum("amount"), Decimal(0), output_field=money),
            weighted=Coalesce(weighted, Decimal(0), output_field=money),
        )
    )
    return {row["stage"]: row for row in rows}


def _cursor_after(card: Opportunity) -> str:
    from core.listing import _encode

    return _encode({"d": "n", "v": card.expected_close_date, "id": card.pk})


def board(*, user: UserType, form: BoardFilterForm | None = None, per_column: int = CARDS_PER_COLUMN) -> list[Column]:
    """Every stage's column: its totals and its first ``per_column`` cards, in two queries."""
    qs = board_queryset(user=user, form=form)
    totals = column_totals(qs)
    columns = [
        Column(
            stage=stage.value,
            label=stage.label,
            is_open=stage in Opportunity.OPEN_STAGES,
            count=totals.get(stage.value, {}).get("count", 0),
            total=totals.get(stage.value, {}).get("total", Decimal(0)),
            weighted=totals.get(stage.value, {}).get("weighted", Decimal(0)),
        )
        for stage in Opportunity.Stage
    ]
    # One UNION ALL of a LIMITed query per non-empty stage; each walks the stage's index.
    cards_qs = qs.select_related("account", "owner").order_by("expected_close_date", "pk")
    parts = [cards_qs.filter(stage=column.stage)[: per_column + 1] for column in columns if column.count]
    if parts:
        first, *rest = parts
        if not rest or connection.features.supports_slicing_ordering_in_compound:
            union: Iterable[Opportunity] = first.union(*rest, all=True) if rest else first
        else:
            # SQLite cannot LIMIT inside a UNION: number each stage's cards instead (one query too).
            union = cards_qs.annotate(
                stage_rank=Window(RowNumber(), partition_by=[F("stage")], order_by=[F("expected_close_date"), F("pk")])
            ).filter(stage_rank__lte=per_column + 1)
        by_stage: dict[str, list[Opportunity]] = {}
        for card in union:
            by_stage.setdefault(card.stage, []).append(card)
        for column in columns:
            cards = sorted(by_stage.get(column.stage, []), key=lambda c: (c.expected_close_date, c.pk))
            column.cards = cards[:per_column]
            if len(cards) > per_column:
                column.next_cursor = _cursor_after(column.cards[-1])
    return columns


def board_column_page(
    *, user: UserType, stage: str, form: BoardFilterForm | None, cursor: str | None, per_column: int = CARDS_PER_COLUMN
) -> Page:
    qs = board_queryset(user=user, form=form).filter(stage=stage).select_related("account", "owner")
    return keyset_page(qs, sort=BOARD_SORT, cursor=cursor, page_size=per_column, count=False)
