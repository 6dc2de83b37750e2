"""`/search/`: the top bar's grouped results (an htmx fragment), or a page of their own."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from core.access import staff_required
from core.http import AuthenticatedHttpRequest
from search.selectors import MIN_TERM_LENGTH, global_search


@staff_required
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    result = global_search(user=request.user, term=request.GET.get("q", ""))
    context = {"result": result, "min_length": MIN_TERM_LENGTH}
    template = "search/_results.html" if request.headers.get("HX-Request") == "true" else "search/page.html"
    return render(request, template, context)
