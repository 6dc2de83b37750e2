"""Reads: the likely duplicates of one record (the warning before a save) and the finder's queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Model, Q, QuerySet

from dedup.matching import MATCHERS
from dedup.models import DuplicatePair, MergedRecord
from dedup.services import MERGE_FIELDS, MODELS
from iam.permissions import is_crm_user

if TYPE_CHECKING:
    from iam.models import User

WARN_LIMIT = 5


@dataclass(frozen=True)
class Duplicate:
    record: Model
    score: float
    reasons: list[str]


def _probe(record: Model) -> dict[str, Any]:
    if record._meta.label_lower == "crm.account":
        return {"name": record.name, "business_id": record.business_id or "", "country": str(record.country or "")}  # type: ignore[attr-defined]
    return {
        "email": (getattr(record, "email", "") or "").lower(),
        "first_name": getattr(record, "first_name", ""),
        "last_name": getattr(record, "last_name", ""),
        "account_id": getattr(record, "account_id", None),
        "company_name": getattr(record, "company_name", ""),
    }


def likely_duplicates(record: Model, *, user: User) -> list[Duplicate]:
    """Records this one (about to be saved) probably is: itself and pairs marked "not a duplicate" left out."""
    label = record._meta.label_lower
    if label not in MATCHERS or not is_crm_user(user):
        return []
    probe = _probe(record)
    if record.pk is not None:
        # An edit warns only when it changes what identifies the record (not at every save of a known pair).
        stored = type(record)._base_manager.filter(pk=record.pk).first()
        if stored is not None and _probe(stored) == probe:
            return []
    found = MATCHERS[label]([probe])[0]
    if record.pk is not None:
        found.pop(record.pk, None)
    if not found:
        return []
    if record.pk:
        dismissed = DuplicatePair.objects.filter(record_type=label, status=DuplicatePair.Status.DISMISSED).filter(
            Q(first_id=record.pk, second_id__in=list(found)) | Q(second_id=record.pk, first_id__in=list(found))
        )
        for first, second in dismissed.values_list("first_id", "second_id"):
            found.pop(first if second == record.pk else second, None)
    model = MODELS[label]
    records = model.objects.visible_to(user).in_bulk(list(found))
    ranked = sorted(found.values(), key=lambda m: (-m.score, m.record_id))
    return [Duplicate(records[m.record_id], m.score, m.reasons) for m in ranked if m.record_id in records][:WARN_LIMIT]


@dataclass(frozen=True)
class PairView:
    pair: DuplicatePair
    first: Model
    second: Model


def open_pairs(*, user: User, record_type: str, limit: int = 50) -> tuple[list[PairView], int]:
    """The finder's queue: open pairs, most certain first (and how many there are, bounded)."""
    if not is_crm_user(user) or record_type not in MODELS:
        return [], 0
    pairs_qs = DuplicatePair.objects.filter(record_type=record_type, status=DuplicatePair.Status.OPEN)
    pairs = list(pairs_qs.order_by("-score", "id")[:limit])
    ids = {p.first_id for p in pairs} | {p.second_id for p in pairs}
    records = MODELS[record_type].objects.visible_to(user).in_bulk(list(ids))
    views = [
        PairView(p, records[p.first_id], records[p.second_id])
        for p in pairs
        if p.first_id in records and p.second_id in records
    ]
    total = pairs_qs[:10001].count()
    return views, total


def merge_redirect(record_type: str, pk: int) -> int | None:
    """The survivor a merged record's URL goes to now, if it was merged."""
    return (
        MergedRecord.objects.filter(record_type=record_type, merged_id=pk).values_list("survivor_id", flat=True).first()
    )


def side_by_side(first: Model, second: Model) -> list[tuple[str, str, Any, Any, bool]]:
    """(field name, label, first's value, second's value, differ) for the merge page."""
    rows = []
    for name in MERGE_FIELDS[first._meta.label_lower]:
        field: Any = first._meta.get_field(name)
        a, b = getattr(first, name), getattr(second, name)
        display_a = getattr(first, f"get_{name}_display")() if getattr(field, "choices", None) else a
        display_b = getattr(second, f"get_{name}_display")() if getattr(field, "choices", None) else b
        rows.append((name, str(field.verbose_name).capitalize(), display_a, display_b, str(a or "") != str(b or "")))
    return rows


def visible(record_type: str, *, user: User) -> QuerySet[Any]:
    return MODELS[record_type].objects.visible_to(user)
