from __future__ import annotations

from django.http import HttpRequest


def nav_section(request: HttpRequest) -> dict[str, str]:
    """The CRM view's URL name, for lighting up the sidebar; empty outside the CRM.

    allauth's ``account_*`` pages must not light up "Accounts".
    """
    match = getattr(request, "resolver_match", None)
    if match and (match.namespace == "crm" or match.url_name == "home"):
        return {"nav_section": match.url_name or ""}
    return {"nav_section": ""}
