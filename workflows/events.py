"""What a rule can react to, in one shape: an ``Occurrence`` (a key unique per event, the record it
concerns, and for changes the fields that changed).

Record created/changed come from the record history (``history.RecordChange``: every service
writes one row per save with each field's old and new value); product events from the audit
trail (``iam.AuditEvent``) and the SLA scan (cases breaching). ``EVENTS`` is the catalogue of
product events a rule may name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProductEvent:
    label: str
    record_type: str  # what the rule's conditions and actions work on
    audit_actions: tuple[str, ...] = ()


EVENTS: dict[str, ProductEvent] = {
    "invitation.accepted": ProductEvent(
        "An invitation was accepted", "crm.account", ("invitations.invitation.accepted",)
    ),
    "registration.submitted": ProductEvent(
        "A registration was submitted", "crm.account", ("registrations.registration.submitted",)
    ),
    "membership.suspended": ProductEvent("A membership was suspended", "crm.account", ("iam.membership.suspended",)),
    "contract.ended": ProductEvent(
        "A contract expired or was terminated", "crm.contract", ("crm.contract.status_changed",)
    ),
    "case.breached": ProductEvent("A case breached its SLA", "cases.case"),
    "reconfirmation.answered": ProductEvent(
        "A contact answered a reconfirmation", "crm.contact", ("crm.contact.reconfirmed", "crm.contact.corrected")
    ),
    "lead.registered": ProductEvent("A lead registered in the portal", "crm.lead", ("crm.lead.registered",)),
    "portal.first_sign_in": ProductEvent(
        "A portal user signed in for the first time", "crm.contact", ("iam.user.signed_in",)
    ),
}
AUDIT_ACTIONS: dict[str, str] = {action: key for key, ev in EVENTS.items() for action in ev.audit_actions}


@dataclass
class Occurrence:
    key: str  # unique per event: the run log's idempotency key with the rule
    record_type: str
    record_id: int | None
    kind: str  # created, changed, event, time
    event: str = ""  # for kind=event: a key of EVENTS
    changes: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    at: Any = None


def from_history(rows: Iterable[Any]) -> list[Occurrence]:
    out = []
    for row in rows:
        if row.kind not in ("created", "updated"):
            continue
        out.append(
            Occurrence(
                key=f"change:{row.pk}",
                record_type=row.record_type,
                record_id=row.record_id,
                kind="created" if row.kind == "created" else "changed",
                changes=row.changes or {},
                label=row.record_label,
                at=row.changed_at,
            )
        )
    return out


def from_audit(events: Iterable[Any]) -> list[Occurrence]:
    """Audit events → product events. Reads at most one query (first sign-ins)."""
    from iam.models import AuditEvent, Membership

    events = [e for e in events if e.action in AUDIT_ACTIONS]
    sign_ins = [e for e in events if e.action == "iam.user.signed_in"]
    first: dict[int, int] = {}
    if sign_ins:
        user_ids = {e.actor_id for e in sign_ins if e.actor_id}
        earlier = set(
            AuditEvent.objects.filter(action="iam.user.signed_in", actor_id__in=user_ids)
            .exclude(pk__in=[e.pk for e in sign_ins])
            .values_list("actor_id", flat=True)
            .distinct()
        )
        contacts = dict(
            Membership.objects.filter(user_id__in=user_ids - earlier, contact__isnull=False)
            .order_by("user_id", "pk")
            .values_list("user_id", "contact_id")
        )
        first = {uid: cid for uid, cid in contacts.items() if uid not in earlier}
    out = []
    for e in events:
        name = AUDIT_ACTIONS[e.action]
        spec = EVENTS[name]
        record_id: int | None
        if name == "contract.ended":
            if (e.data or {}).get("to") not in ("expired", "terminated"):
                continue
            record_id = int(e.target_id)
        elif name == "portal.first_sign_in":
            if e.actor_id not in first:
                continue
            record_id = first[e.actor_id]
        elif spec.record_type == "crm.account":
            record_id = e.account_id
        else:
            record_id = int(e.target_id) if e.target_id.isdecimal() else None
        out.append(
            Occurrence(
                key=f"audit:{e.pk}",
                record_type=spec.record_type,
                record_id=record_id,
                kind="event",
                event=name,
                label=e.target_label,
                at=e.occurred_at,
            )
        )
    return out


def case_breached(case_ids: Iterable[int]) -> list[Occurrence]:
    return [
        Occurrence(key=f"case-breach:{pk}", record_type="cases.case", record_id=pk, kind="event", event="case.breached")
        for pk in case_ids
    ]
