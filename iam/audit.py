"""The one way to write an audit event, in the caller's transaction.

Where the change came from (IP, user agent) is taken from the request being served, which
:class:`iam.middleware.AuditContextMiddleware` puts in a context variable; jobs have none.
When a request is made with a credential other than a sign-in (an API key), the API puts that
credential in a second context variable: every event written while it is set names it as the
actor (``actor_label``) and in ``data``, whichever service writes the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from core.context import current_credential, current_job, current_origin
from iam.models import AuditEvent, User

# Audit actions that integrators also hear about, as webhook events (the catalogue is
# webhooks.events.EVENT_TYPES). Emitted inside the audit event's transaction and delivered
# only once it commits, so the code that audits a change needs to know nothing of webhooks.
WEBHOOK_EVENT_TYPES: dict[str, str] = {
    "iam.membership.created": "membership.created",
    "iam.membership.suspended": "membership.suspended",
    "iam.membership.reactivated": "membership.reactivated",
    "iam.membership.removed": "membership.removed",
    "iam.membership.roles_changed": "membership.roles_changed",
    "invitations.invitation.sent": "invitation.sent",
    "invitations.invitation.accepted": "invitation.accepted",
    "invitations.invitation.expired": "invitation.expired",
    "crm.lead.registered": "lead.registered",
    "registrations.registration.submitted": "registration.submitted",
    "registrations.registration.approved": "registration.approved",
    "registrations.registration.rejected": "registration.rejected",
}


def _emit_webhooks(
    action: str, events: list[AuditEvent], targets: list[models.Model | None], *, set_based: bool = False
) -> None:
    from webhooks.services import webhooks_emit_audited

    webhooks_emit_audited(WEBHOOK_EVENT_TYPES[action], audit_events=events, targets=targets, reread=set_based)


def _actor_label(actor: User | None) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "email", "") or str(actor)


def _event(
    *,
    actor: User | None,
    action: str,
    account: Any = None,
    target: models.Model | None = None,
    data: dict | None = None,
) -> AuditEvent:
    origin = current_origin()
    credential = current_credential()
    if credential is not None:
        data = {**(data or {}), **credential.reference}
    if job := current_job():
        # A scheduled job or a command acting for nobody: the event says which one.
        data = {**(data or {}), "job": job}
    return AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=credential.label[:254] if credential is not None else _actor_label(actor),
        action=action,
        account=account,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        data=data or {},
        ip_address=origin.ip_address if origin else None,
        user_agent=origin.user_agent[:400] if origin else "",
    )


def audit_record(
    *,
    actor: User | None,
    action: str,
    account: Any = None,
    target: models.Model | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event. ``action`` is a dotted name: ``iam.membership.suspended``."""
    event = _event(actor=actor, action=action, account=account, target=target, data=data)
    event.save()
    if action in WEBHOOK_EVENT_TYPES:
        _emit_webhooks(action, [event], [target])
    _workflow_events([event])
    return event


def audit_record_many(
    *, actor: User | None, action: str, items: Iterable[tuple[Any, ...]], data: dict | None = None
) -> int:
    """One event per (account, target), in one INSERT: for set-based jobs.

    An item may carry a third element, a dict of its own data, merged over ``data``.
    """
    items = list(items)
    events = [
        _event(
            actor=actor,
            action=action,
            account=item[0],
            target=item[1],
            data={**(data or {}), **item[2]} if len(item) > 2 else data,
        )
        for item in items
    ]
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    if events and action in WEBHOOK_EVENT_TYPES:
        _emit_webhooks(action, events, [item[1] for item in items], set_based=True)
    _workflow_events(events)
    return len(events)


def _workflow_events(events: list[AuditEvent]) -> None:
    # Product events workflow rules react to, after commit (workflows.triggers reads nothing now).
    from workflows.triggers import audit_written

    audit_written(events)
