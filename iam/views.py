from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def portal_home(request: HttpRequest) -> HttpResponse:
    """The external users' portal. Staff may look at it too."""
    return render(request, "portal/home.html")
