"""Knowledge-base articles, and what suggesting them to customers achieved."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

# The one text-search expression (PostgreSQL): the GIN index of migration 0002 is built over
# exactly this text and every search uses it, so matches come from the index. Title words weigh
# more than body words.
SEARCH_DOCUMENT = (
    "(setweight(to_tsvector('english'::regconfig, coalesce(knowledge_article.title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(knowledge_article.body, '')), 'B'))"
)


class ArticleCategory(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    icon = models.CharField(max_length=40, default="journal-text", help_text="A Bootstrap Icons name.")
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "article categories"

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public (customers)"
        INTERNAL = "internal", "Internal (staff)"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    category = models.ForeignKey(
        ArticleCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="articles")
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="knowledge_article_title_not_empty")]
        indexes = [
            models.Index(fields=["status", "visibility", "title"], name="knowledge_article_listed"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("knowledge:article", args=[self.slug])

    def get_portal_url(self) -> str:
        return reverse("help:article", args=[self.slug])


class Suggestion(models.Model):
    """An article shown to a customer writing a new case, and whether they opened it.

    ``draft`` names one new-case form as it was filled in; a case submitted from it carries the
    same token. Deflected: opened, and no case came of that draft.
    """

    draft = models.CharField(max_length=64)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="suggestions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("crm.Account", on_delete=models.CASCADE, related_name="+")
    suggested_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "article"], name="knowledge_suggestion_once")]
        indexes = [models.Index(fields=["article", "suggested_at"], name="knowledge_suggestion_article")]

    def __str__(self) -> str:
        return f"{self.article_id} in {self.draft}"
