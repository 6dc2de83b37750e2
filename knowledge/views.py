"""Staff pages of the knowledge base: the articles, writing them, and what suggesting them achieved."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.access import staff_required
from core.forms import StyledFormMixin, add_service_errors
from core.http import AuthenticatedHttpRequest
from knowledge import selectors
from knowledge.models import Article, ArticleCategory
from knowledge.services import article_save


class ArticleForm(StyledFormMixin, forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=300, required=False, help_text="One sentence shown in search results.")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}))
    category = forms.ModelChoiceField(queryset=ArticleCategory.objects.all(), required=False)
    status = forms.ChoiceField(choices=Article.Status.choices)
    visibility = forms.ChoiceField(choices=Article.Visibility.choices)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


@staff_required
def article_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    qs = selectors.articles_for_staff(user=request.user)
    articles = list(selectors.search(qs, query)[:100]) if query else list(qs.order_by("title", "id")[:100])
    context = {
        "articles": articles,
        "query": query,
        "deflection": selectors.deflection(),
        "nav_section": "knowledge",
    }
    return render(request, "knowledge/article_list.html", context)


def _edit(request: AuthenticatedHttpRequest, article: Article | None) -> HttpResponse:
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                article = article_save(actor=request.user, article=article, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Article saved.")
                return redirect(article)
    elif article is not None:
        form = ArticleForm(
            initial={
                "title": article.title,
                "summary": article.summary,
                "body": article.body,
                "category": article.category_id,
                "status": article.status,
                "visibility": article.visibility,
            }
        )
    else:
        form = ArticleForm()
    context = {"form": form, "article": article, "nav_section": "knowledge"}
    return render(request, "knowledge/article_form.html", context, status=400 if form.errors else 200)


@staff_required
def article_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _edit(request, None)


@staff_required
def article_edit(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _edit(request, get_object_or_404(selectors.articles_for_staff(user=request.user), slug=slug))


@staff_required
def article(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    found = get_object_or_404(selectors.articles_for_staff(user=request.user), slug=slug)
    context = {"article": found, "deflection": selectors.deflection(article=found), "nav_section": "knowledge"}
    return render(request, "knowledge/article.html", context)
