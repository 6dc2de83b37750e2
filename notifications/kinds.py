"""The catalogue of notification kinds: what a person may be told about, and what it is called.

One line per kind, ``<area>.<event>``: the key is stored on each notification, the label is what
people read in their preferences and in the bell. Apps that notify add their kinds here.
"""

from __future__ import annotations

KINDS: dict[str, str] = {
    # Sales workspace (#15)
    "task.due": "A task of yours is due",
    "customer.registered": "Your lead or contact registered in the portal",
    "invitation.accepted": "Someone you invited accepted",
    "reconfirmation.answered": "A contact answered a reconfirmation",
    # Service desk (#17)
    "case.assigned": "A case was assigned to you",
    "case.replied": "A customer replied to your case",
    "case.breached": "A case breached or is about to breach its SLA",
    # Data that stays right (#19)
    "contact.left": "A contact of yours left their company",
    "review.overdue": "An access review at your account is overdue",
    # Import & dedup (#14)
    "import.finished": "Your import finished",
    # Workflow rules (#18)
    "workflow.rule": "A workflow rule told you about a record",
    "workflow.failed": "A workflow rule of yours failed",
    # Territories and routing (#18)
    "lead.assigned": "A new lead was routed to you",
}


def label(kind: str) -> str:
    return KINDS.get(kind, kind.replace(".", " ").replace("_", " ").capitalize())
