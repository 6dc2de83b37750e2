"""The interactive docs page (Swagger UI from the swagger-ui-dist npm package) and the API's 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.views import APIView


@ensure_csrf_cookie
def api_docs(request: HttpRequest) -> HttpResponse:
    """Open to all: the schema is public. Calls from the page use the staff session (and its CSRF token)."""
    return render(request, "api/docs.html")


@extend_schema(exclude=True)
class NotFoundView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    def initial(self, request, *args, **kwargs):
        # Whatever the method: the path itself does not exist.
        raise exceptions.NotFound("No such endpoint. See /api/docs/ for the ones there are.")
