"""Reads custom field definitions once per request (``customfields.selectors.fields_for``)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from customfields.selectors import end_request_cache, preload_definitions, start_request_cache

# Probes and files never show a record: they need no definitions (and /healthz no cache).
UNRELATED_PATHS = ("/healthz", "/readyz", "/static/")


class FieldDefinitionCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = start_request_cache()
        try:
            if not request.path_info.startswith(UNRELATED_PATHS):
                preload_definitions()
            return self.get_response(request)
        finally:
            end_request_cache(token)
