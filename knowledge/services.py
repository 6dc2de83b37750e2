"""Writes to the knowledge base: staff write articles; the portal records what it suggested."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from history.services import history_record, history_snapshot
from iam.audit import audit_record
from iam.permissions import is_crm_user
from knowledge.models import Article, ArticleCategory, Suggestion

if TYPE_CHECKING:
    from collections.abc import Iterable

    from crm.models import Account
    from iam.models import User


def _unique_slug(title: str, exclude: int | None = None) -> str:
    base = slugify(title)[:180] or "article"
    slug, n = base, 1
    others = Article.objects.filter(slug=slug) if exclude is None else Article.objects.exclude(pk=exclude)
    while others.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def article_save(
    *,
    actor: User,
    article: Article | None = None,
    title: str,
    body: str,
    summary: str = "",
    category: ArticleCategory | None = None,
    status: str = Article.Status.DRAFT,
    visibility: str = Article.Visibility.PUBLIC,
) -> Article:
    """Create or change an article. Staff only; publishing stamps when it went out."""
    if not is_crm_user(actor):
        raise PermissionDenied("Only staff write articles.")
    if not title.strip() or not body.strip():
        raise ValidationError("An article needs a title and a body.")
    with transaction.atomic():
        before = history_snapshot(article) if article is not None else None
        if article is None:
            article = Article(author=actor, slug=_unique_slug(title))
        was_published = article.status == Article.Status.PUBLISHED and article.pk is not None
        article.title, article.body, article.summary = title.strip(), body.strip(), summary.strip()
        article.category, article.status, article.visibility = category, status, visibility
        if status == Article.Status.PUBLISHED and not was_published:
            article.published_at = timezone.now()
        article.full_clean(exclude=["author", "category"])
        article.save()
        history_record(actor=actor, record=article, before=before)
        verb = (
            "created" if before is None else ("published" if status == "published" and not was_published else "updated")
        )
        audit_record(actor=actor, action=f"knowledge.article.{verb}", target=article, data={"status": status})
    return article


def suggestions_record(*, user: User, account: Account, draft: str, articles: Iterable[Article]) -> None:
    """Count that these articles were suggested in this draft (once per draft and article)."""
    if not draft:
        return
    Suggestion.objects.bulk_create(
        [Suggestion(draft=draft[:64], article=a, user=user, account=account) for a in articles], ignore_conflicts=True
    )


def suggestion_opened(*, user: User, draft: str, article: Article) -> None:
    if draft:
        Suggestion.objects.filter(draft=draft[:64], article=article, user=user, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
