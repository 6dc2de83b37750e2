"""A merged record's URL leads to its survivor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse

from dedup.selectors import merge_redirect


def follow_merges(
    record_type: str, url_name: str
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """A record page that 404s for a merged record redirects (301) to the survivor's page instead."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, pk: int, **kwargs: Any) -> HttpResponseBase:
            try:
                return view(request, *args, pk=pk, **kwargs)
            except Http404:
                survivor = merge_redirect(record_type, pk)
                if survivor is None:
                    raise
                return HttpResponseRedirect(reverse(url_name, args=[survivor]), status=301)

        return wrapper

    return decorate
