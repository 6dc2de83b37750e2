from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from iam.permissions import is_crm_user


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.ACCOUNT_ALLOW_SIGNUP

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Staff land in the CRM, external users in the portal, unless a ?next= says otherwise.
        if is_crm_user(request.user):
            return reverse("home")
        return reverse("portal:home")
