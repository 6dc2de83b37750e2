"""The CRM is for staff. Everyone else is kept out before a view runs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from core.http import AuthenticatedHttpRequest
from iam.permissions import is_crm_user

P = ParamSpec("P")


def staff_required(
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Anonymous visitors go to sign-in; signed-in external users get a plain 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_crm_user(request.user):
            raise Http404("No such page.")
        return view(cast(AuthenticatedHttpRequest, request), *args, **kwargs)

    return wrapper
