"""Reads of the knowledge base: who may read which article, search, and what suggesting achieved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from cases.models import Case
from iam.permissions import is_crm_user
from knowledge.models import SEARCH_DOCUMENT, Article, Suggestion

if TYPE_CHECKING:
    from iam.permissions import MaybeUser

SUGGESTIONS_SHOWN = 5


def articles_for_staff(*, user: MaybeUser) -> QuerySet[Article]:
    if not is_crm_user(user):
        return Article.objects.none()
    return Article.objects.select_related("category", "author")


def articles_for_customers() -> QuerySet[Article]:
    """What the help centre shows: published, public articles only."""
    return Article.objects.filter(status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC).select_related(
        "category"
    )


def search(qs: QuerySet[Article], query: str) -> QuerySet[Article]:
    """Articles matching ``query`` in title or body, best first (full text on PostgreSQL)."""
    query = query.strip()[:200]
    if not query:
        return qs
    if connection.vendor != "postgresql":
        words = [w for w in query.split() if len(w) > 2][:6] or [query]
        match = Q()
        for word in words:
            match |= Q(title__icontains=word) | Q(body__icontains=word)
        return qs.filter(match)
    # An OR of the words: a customer's sentence ("the export to excel fails") should find an
    # article about "Exporting to Excel", not only articles containing every word.
    tsquery = "replace(plainto_tsquery('english'::regconfig, %s)::text, ' & ', ' | ')::tsquery"
    return (
        qs.annotate(rank=RawSQL(f"ts_rank({SEARCH_DOCUMENT}, {tsquery})", [query]))  # noqa: S611
        .extra(where=[f"{SEARCH_DOCUMENT} @@ {tsquery}"], params=[query])  # noqa: S610
        .order_by("-rank", "title", "id")
    )


def suggestions(*, text: str) -> list[Article]:
    if len(text.strip()) < 4:
        return []
    return list(search(articles_for_customers(), text)[:SUGGESTIONS_SHOWN])


@dataclass(frozen=True)
class Deflection:
    suggested: int
    opened: int
    deflected: int


def deflection(*, article: Article | None = None) -> Deflection:
    """Drafts an article was suggested in, opened in, and opened in without a case following."""
    qs = Suggestion.objects.all()
    if article is not None:
        qs = qs.filter(article=article)
    submitted = Case.objects.filter(draft_token=OuterRef("draft")).exclude(draft_token="")
    counts = qs.annotate(submitted=Exists(submitted)).aggregate(
        suggested=Count("draft", distinct=True),
        opened=Count("draft", filter=Q(opened_at__isnull=False), distinct=True),
        deflected=Count("draft", filter=Q(opened_at__isnull=False, submitted=False), distinct=True),
    )
    return Deflection(**counts)
