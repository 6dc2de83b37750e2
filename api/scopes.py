"""API resources and their scopes: ``<resource>:read`` and ``<resource>:write``.

A resource is named as in its URL (``/api/v1/audit-events/`` → ``audit-events``). Apps that add
resources register them here, so keys, the command, the staff page and the schema agree.
"""

from __future__ import annotations

RESOURCES: dict[str, str] = {
    "accounts": "Accounts",
    "contacts": "Contacts",
    "leads": "Leads",
    "opportunities": "Opportunities",
    "contracts": "Contracts",
    "activities": "Activities",
    "memberships": "Portal memberships",
    "invitations": "Invitations",
    "invitation-batches": "Invitation batches",
    "registrations": "Registration requests",
    "webhooks": "Webhook endpoints",
    "audit-events": "Audit trail",
    "cases": "Cases",
    "articles": "Knowledge-base articles",
    "access-reviews": "Access reviews",
    "workflow-rules": "Workflow rules",
    "territories": "Territories",
    "teams": "Teams and their members",
    "imports": "Imports",
}
# Resources that are only ever read through the API.
READ_ONLY = {"audit-events", "articles", "access-reviews"}

READ, WRITE = "read", "write"


def all_scopes() -> list[str]:
    scopes = []
    for resource in RESOURCES:
        scopes.append(f"{resource}:{READ}")
        if resource not in READ_ONLY:
            scopes.append(f"{resource}:{WRITE}")
    return scopes


def parse_scopes(raw: str | list[str]) -> list[str]:
    """Validate a comma-separated (or listed) set of scopes; ``contacts:*`` means read and write."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    known = set(all_scopes())
    wanted: set[str] = set()
    unknown = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item.endswith(":*"):
            expanded = {s for s in known if s.startswith(item[:-1])}
            if not expanded:
                unknown.append(item)
            wanted |= expanded
        elif item in known:
            wanted.add(item)
        else:
            unknown.append(item)
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(all_scopes())}.")
    # A key that may write may also read what it writes.
    wanted |= {s.replace(f":{WRITE}", f":{READ}") for s in wanted if s.endswith(f":{WRITE}")}
    return sorted(wanted, key=all_scopes().index)
