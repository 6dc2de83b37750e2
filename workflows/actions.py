"""What a rule does. Each action is JSON ``{"type": …, …}``; ``validate`` checks it when the rule is
saved, ``describe`` says it in words (rule pages, dry-run), ``perform`` does it through the
service that owns the change (never a bare ``save()``), as the rule's owner, in the caller's
transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from workflows.conditions import OWN_FIELDS, fields_for, model_for

if TYPE_CHECKING:
    from iam.models import User
    from workflows.models import Rule, RuleRun

ACTIONS: dict[str, str] = {
    "assign": "Assign the record",
    "task": "Create a task or activity",
    "set_field": "Set a field",
    "email": "Send an email from a template",
    "notify": "Notify in the app",
    "segment_add": "Add to a saved view (segment)",
    "segment_remove": "Remove from a saved view (segment)",
    "invite": "Send an invitation to the portal",
    "webhook": "Call a webhook endpoint",
    "escalate": "Escalate to the owner's manager",
}
STRATEGIES: dict[str, str] = {
    "user": "to a named user",
    "round_robin": "round-robin within a team",
    "territory": "by territory",
    "least_loaded": "to the least-loaded member of a team",
}
# Fields a rule may set (besides custom fields): the record's plain, non-key fields.
SETTABLE: dict[str, tuple[str, ...]] = {
    "crm.account": ("tier", "industry", "territory"),
    "crm.contact": ("job_title", "consent_to_contact"),
    "crm.lead": ("status", "source", "score"),
    "crm.opportunity": ("stage", "probability"),
    "crm.contract": ("status",),
    "cases.case": ("severity", "category", "team"),
}
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")


class ActionFailed(Exception):
    """An action could not be carried out (retried, then reported)."""


# --- reading a record the way actions need it ---------------------------------------------------


def owner_of(record: Any) -> User | None:
    return getattr(record, "assignee" if record._meta.label_lower == "cases.case" else "owner", None)


def account_of(record: Any) -> Any:
    return record if record._meta.label_lower == "crm.account" else getattr(record, "account", None)


def placeholders(record: Any) -> dict[str, str]:
    """The values an email template or a task subject may name: the record's fields and its account's."""
    if record is None:
        return {}
    values: dict[str, str] = {"record": str(record)}
    for f in record._meta.concrete_fields:
        if f.name == "custom_fields" or f.is_relation:
            continue
        values[f.name] = "" if getattr(record, f.attname) is None else str(getattr(record, f.attname))
    for key, value in (getattr(record, "custom_fields", None) or {}).items():
        values[f"custom.{key}"] = "" if value is None else str(value)
    owner = owner_of(record)
    values["owner"] = owner.get_full_name() or owner.email if owner is not None else ""
    account = account_of(record)
    if account is not None:
        values["account.name"] = account.name
    return values


def render(text: str, record: Any) -> str:
    values = placeholders(record)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)


# --- validating ---------------------------------------------------------------------------------


def _int(spec: dict[str, Any], name: str, label: str) -> int:
    try:
        return int(spec.get(name))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(f"{label}: choose one.") from None


def validate(record_type: str, actions: Any) -> None:
    from savedviews.models import SavedView
    from webhooks.models import Endpoint
    from workflows.models import EmailTemplate

    if not isinstance(actions, list) or not actions:
        raise ValidationError("A rule does at least one thing: add an action.")
    if len(actions) > 20:
        raise ValidationError("A rule does at most 20 things.")
    for spec in actions:
        if not isinstance(spec, dict) or spec.get("type") not in ACTIONS:
            raise ValidationError(f"Unknown action; one of {', '.join(ACTIONS)}.")
        kind = spec["type"]
        if kind == "assign":
            if spec.get("strategy") not in STRATEGIES:
                raise ValidationError(f"Assign: strategy is one of {', '.join(STRATEGIES)}.")
            if spec["strategy"] == "user":
                _int(spec, "user", "Assign to a user")
            if spec["strategy"] in ("round_robin", "least_loaded"):
                _int(spec, "team", "Assign within a team")
        elif kind == "task":
            if not str(spec.get("subject", "")).strip():
                raise ValidationError("Task: say in a few words what to do.")
            if spec.get("due_in_hours") not in (None, ""):
                _int(spec, "due_in_hours", "Task due in hours")
        elif kind == "set_field":
            name = str(spec.get("field", ""))
            if name.startswith("custom."):
                if name not in fields_for(record_type):
                    raise ValidationError(f"Set a field: “{name}” is no custom field of this record type.")
            elif name not in SETTABLE.get(record_type, ()):
                allowed = ", ".join(SETTABLE.get(record_type, ()))
                raise ValidationError(f"Set a field: a rule may set {allowed} or a custom field, not “{name}”.")
        elif kind == "email":
            if not EmailTemplate.objects.filter(pk=_int(spec, "template", "Email template")).exists():
                raise ValidationError("Email: no such template.")
            if spec.get("to", "record") not in ("record", "owner", "address"):
                raise ValidationError("Email: send to the record's person, its owner or an address.")
            if spec.get("to") == "address" and "@" not in str(spec.get("address", "")):
                raise ValidationError("Email: give the address to send to.")
        elif kind == "notify":
            if not str(spec.get("message", "")).strip():
                raise ValidationError("Notify: write the message.")
            if spec.get("to", "owner") == "user":
                _int(spec, "user", "Notify a user")
        elif kind in ("segment_add", "segment_remove"):
            if not SavedView.objects.filter(pk=_int(spec, "view", "Saved view"), shared=True).exists():
                raise ValidationError("Segment: choose a shared saved view.")
        elif kind == "invite":
            if record_type not in ("crm.contact", "crm.lead"):
                raise ValidationError("Invite: only contacts and leads are invited.")
        elif kind == "webhook" and not Endpoint.objects.filter(pk=_int(spec, "endpoint", "Webhook endpoint")).exists():
            raise ValidationError("Webhook: no such endpoint.")
        if kind in ("assign", "task", "set_field", "segment_add", "segment_remove", "escalate") and record_type == "":
            raise ValidationError("This action needs a record.")


def describe(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "")
    if kind == "assign":
        return f"Assign {STRATEGIES.get(spec.get('strategy', ''), '')}"
    if kind == "task":
        due = f", due in {spec['due_in_hours']} h" if spec.get("due_in_hours") not in (None, "") else ""
        return f"Create a {spec.get('kind') or 'task'} “{spec.get('subject', '')}”{due}"
    if kind == "set_field":
        return f"Set {spec.get('field')} to “{spec.get('value')}”"
    if kind == "email":
        to = (
            spec.get("address")
            if spec.get("to") == "address"
            else {"owner": "the owner"}.get(str(spec.get("to")), "the person")
        )
        return f"Email {to} (template #{spec.get('template')})"
    if kind == "notify":
        who = f"user #{spec.get('user')}" if spec.get("to") == "user" else "the owner"
        return f"Notify {who}: {spec.get('message', '')}"
    if kind in ("segment_add", "segment_remove"):
        return f"{'Add to' if kind == 'segment_add' else 'Remove from'} saved view #{spec.get('view')}"
    if kind == "webhook":
        return f"Call webhook endpoint #{spec.get('endpoint')}"
    if kind == "escalate":
        return "Escalate to the owner's manager" + (" and reassign" if spec.get("reassign") else "")
    return ACTIONS.get(kind, kind)


# --- doing --------------------------------------------------------------------------------------


def _save(actor: User, record: Any, changes: dict[str, Any]) -> None:
    """Change fields through the record's own update service."""
    from cases import services as case_services
    from crm import services as crm

    label = record._meta.label_lower
    if label == "cases.case":
        assignee = changes.pop("assignee", None)
        if changes:
            case_services.case_update(actor=actor, case=record, **changes)
        if assignee is not None:
            case_services.case_assign(actor=actor, case=record, assignee=assignee)
        return
    locked = type(record).objects.select_for_update().get(pk=record.pk)
    for name, value in changes.items():
        setattr(locked, name, value)
    saver = {
        "crm.account": lambda: crm.account_save(actor=actor, account=locked),
        "crm.contact": lambda: crm.contact_save(actor=actor, contact=locked),
        "crm.lead": lambda: crm.lead_save(actor=actor, lead=locked),
        "crm.opportunity": lambda: crm.opportunity_save(actor=actor, opportunity=locked),
        "crm.contract": lambda: crm.contract_save(actor=actor, contract=locked),
    }[label]
    saver()


def _assignee_field(record: Any) -> str:
    return "assignee" if record._meta.label_lower == "cases.case" else "owner"


def _assign(actor: User, record: Any, user: User) -> None:
    if record._meta.label_lower == "cases.case":
        _save(actor, record, {"assignee": user})
    else:
        _save(actor, record, {"owner": user})


def _user(pk: Any) -> User | None:
    from iam.models import User

    return User.objects.filter(pk=pk, is_active=True, is_staff=True).first()


def perform(spec: dict[str, Any], *, rule: Rule, record: Any, run: RuleRun, index: int) -> str:
    """Do one action; returns what was done in words. Raises to be retried."""
    actor = rule.owner
    kind = spec["type"]
    needs_record = kind not in ("notify", "webhook", "email")
    if needs_record and record is None:
        raise ActionFailed("The record this event is about no longer exists.")

    if kind == "assign":
        from territories import routing
        from territories.models import Team

        team = Team.objects.filter(pk=spec["team"]).first() if spec.get("team") else None
        user = _user(spec.get("user")) if spec.get("user") else None
        chosen = routing.pick_assignee(record=record, strategy=spec["strategy"], team=team, user=user)
        if chosen is None:
            return "Nobody was available to assign (capacity or out of office): left as it was."
        if getattr(record, f"{_assignee_field(record)}_id") == chosen.pk:
            return f"Already assigned to {chosen.email}."
        _assign(actor, record, chosen)
        return f"Assigned to {chosen.email}."

    if kind == "escalate":
        from notifications.services import notify
        from territories import routing

        owner = owner_of(record)
        manager = routing.manager_of(owner) if owner is not None else None
        if manager is None:
            raise ActionFailed("The record's owner has no manager to escalate to.")
        notify(
            recipient=manager,
            kind="workflow.rule",
            title=render(spec.get("message") or f"Escalated by “{rule.name}”: {{{{ record }}}}", record)[:200],
            target=record,
            url=_url(record),
            dedupe_key=f"workflow:{run.pk}:{index}",
        )
        if spec.get("reassign"):
            _assign(actor, record, manager)
            return f"Escalated and reassigned to {manager.email}."
        return f"Escalated to {manager.email}."

    if kind == "task":
        from crm import services as crm
        from crm.models import Activity

        due = None
        if spec.get("due_in_hours") not in (None, ""):
            due = timezone.now() + dt.timedelta(hours=int(spec["due_in_hours"]))
        label = record._meta.label_lower
        where: dict[str, Any] = {}
        if label == "crm.account":
            where["account"] = record
        elif label == "crm.contact":
            where["contact"] = record
        elif label == "crm.lead":
            where["lead"] = record
        elif label == "crm.opportunity":
            where["opportunity"] = record
        else:  # contracts and cases: on their account's (and contact's) timeline
            where["account"] = record.account
            if getattr(record, "contact", None) is not None:
                where["contact"] = record.contact
        kind_value = spec.get("kind") or Activity.Kind.TASK
        activity = crm.activity_log(
            actor=actor,
            kind=kind_value,
            subject=render(spec["subject"], record)[:200],
            body=render(spec.get("body", ""), record),
            due_at=due,
            owner=owner_of(record) or actor,
            **where,
        )
        return f"Created {activity.get_kind_display().lower()} #{activity.pk}."

    if kind == "set_field":
        name, value = spec["field"], spec.get("value")
        if name.startswith("custom."):
            from customfields.values import clean_values

            key = name.removeprefix("custom.")
            locked = type(record).objects.select_for_update().get(pk=record.pk)
            values = clean_values(record._meta.label_lower, {key: value}, partial=True, existing=locked.custom_fields)
            _save(actor, locked, {"custom_fields": values})
        else:
            field = record._meta.get_field(name)
            _save(actor, record, {name: field.to_python(value)})
        return f"Set {name} to “{value}”."

    if kind == "notify":
        from notifications.services import notify

        recipient = _user(spec.get("user")) if spec.get("to") == "user" else (owner_of(record) if record else None)
        if recipient is None:
            return "Nobody to notify (no owner)."
        notify(
            recipient=recipient,
            kind="workflow.rule",
            title=render(spec["message"], record)[:200],
            target=record,
            url=_url(record),
            dedupe_key=f"workflow:{run.pk}:{index}",
        )
        return f"Notified {recipient.email}."

    if kind == "email":
        from workflows.models import EmailTemplate

        template = EmailTemplate.objects.get(pk=spec["template"])
        to = spec.get("to", "record")
        if to == "address":
            address = spec["address"]
        elif to == "owner":
            owner = owner_of(record) if record else None
            address = owner.email if owner else ""
        else:
            address = getattr(record, "email", "") or getattr(record, "requester_email", "") if record else ""
        if not address:
            return "No address to email: nothing sent."
        subject, body = render(template.subject, record), render(template.body, record)
        # After the step is recorded: a resumed run never sends it twice (at most once).
        transaction.on_commit(lambda: send_mail(subject, body, None, [address]))
        return f"Emailed {address} (“{subject}”)."

    if kind in ("segment_add", "segment_remove"):
        from workflows.models import SegmentMember

        label = record._meta.label_lower
        if kind == "segment_add":
            SegmentMember.objects.get_or_create(
                view_id=spec["view"], record_type=label, record_id=record.pk, defaults={"added_by_rule": rule}
            )
            return f"Added to saved view #{spec['view']}."
        SegmentMember.objects.filter(view_id=spec["view"], record_type=label, record_id=record.pk).delete()
        return f"Removed from saved view #{spec['view']}."

    if kind == "invite":
        from invitations.services import invitation_create

        if record._meta.label_lower == "crm.lead":
            outcome = invitation_create(actor=actor, lead=record)
        else:
            outcome = invitation_create(actor=actor, account=record.account, contact=record)
        return f"Invitation: {getattr(outcome, 'status', 'sent')}."

    if kind == "webhook":
        from webhooks.models import Endpoint
        from webhooks.services import webhook_send_to

        endpoint = Endpoint.objects.get(pk=spec["endpoint"])
        data = {
            "rule_id": rule.pk,
            "rule": rule.name,
            "record_type": record._meta.label_lower if record else None,
            "record_id": record.pk if record else None,
            "event": run.event_key,
        }
        account = account_of(record) if record is not None else None
        webhook_send_to(endpoint, "workflow.rule_fired", data=data, account=account)
        return f"Called webhook endpoint #{endpoint.pk}."

    raise ActionFailed(f"Unknown action {kind!r}.")


def _url(record: Any) -> str:
    if record is None:
        return ""
    try:
        return record.get_absolute_url()
    except (AttributeError, Exception):  # noqa: BLE001 - a link is a nicety
        return ""


__all__ = ["ACTIONS", "OWN_FIELDS", "describe", "model_for", "perform", "validate"]
