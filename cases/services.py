"""Every write to a case: the portal, the staff UI, email, the API and the beat job share these.

Each runs in a transaction, records the case's history and an audit event there, and pushes
webhooks, emails and notifications to after the commit (webhook events are recorded in the
transaction and delivered after it, like every other event).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from cases import emails
from cases.models import Case, CaseAttachment, CaseMessage
from cases.selectors import category_is_offered, service_level_for
from cases.sla import BusinessCalendar, add_business_time, business_time_between, clock
from core.errors import BusinessRuleViolation
from history.services import history_record, history_snapshot
from iam.audit import audit_record
from iam.permissions import can_merge_cases, can_share_case, can_work_cases, is_crm_user
from notifications.services import notify
from territories.services import case_route
from webhooks.services import webhook_emit_records

if TYPE_CHECKING:
    from crm.models import Account, Contact
    from iam.models import User

# A case's targets scale with its severity (the service level's targets are for "normal").
SEVERITY_FACTORS = {"urgent": 0.25, "high": 0.5, "normal": 1.0, "low": 2.0}


@dataclass(frozen=True)
class Upload:
    """A file on its way in: from a form, the API or an email."""

    name: str
    content: bytes

    @classmethod
    def from_uploaded(cls, uploaded: File[bytes]) -> Upload:
        return cls(name=str(uploaded.name or "file"), content=uploaded.read())


def check_uploads(uploads: Sequence[Upload]) -> list[tuple[Upload, str]]:
    """Each upload with its content type, or a ValidationError naming the one that may not come in."""
    checked = []
    allowed = set(settings.CASES_ATTACHMENT_TYPES)
    for upload in uploads:
        name = upload.name.replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type not in allowed:
            raise ValidationError(
                f"“{name}” is not a file type cases accept (PDF, images, text, CSV, ZIP, Office documents)."
            )
        if len(upload.content) > settings.CASES_ATTACHMENT_MAX_BYTES:
            limit = settings.CASES_ATTACHMENT_MAX_BYTES // (1024 * 1024)
            raise ValidationError(f"“{name}” is larger than {limit} MB.")
        checked.append((Upload(name=name, content=upload.content), content_type))
    if len(checked) > settings.CASES_ATTACHMENTS_PER_MESSAGE:
        raise ValidationError(f"Attach at most {settings.CASES_ATTACHMENTS_PER_MESSAGE} files at a time.")
    return checked


def _store(
    case: Case, message: CaseMessage | None, checked: list[tuple[Upload, str]], actor: User | None
) -> list[CaseAttachment]:
    stored = []
    for upload, content_type in checked:
        attachment = CaseAttachment(
            case=case,
            message=message,
            filename=upload.name,
            content_type=content_type,
            size=len(upload.content),
            internal=message is not None and not message.is_public,
            uploaded_by=actor if actor is not None and actor.pk else None,
        )
        attachment.file.save(upload.name, ContentFile(upload.content), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _calendar(case: Case) -> BusinessCalendar | None:
    return case.service_level.calendar() if case.service_level is not None else None


def _start_clocks(case: Case, now: dt.datetime) -> None:
    level = case.service_level
    if level is None:
        return
    calendar = level.calendar()
    factor = SEVERITY_FACTORS.get(case.severity, 1.0)
    warn = level.warn_percent / 100
    first = clock(now, dt.timedelta(minutes=level.first_response_minutes * factor), calendar, warn_ratio=warn)
    resolution = clock(now, dt.timedelta(minutes=level.resolution_minutes * factor), calendar, warn_ratio=warn)
    case.first_response_due_at, case.first_response_warn_at = first.due_at, first.warn_at
    case.resolution_due_at, case.resolution_warn_at = resolution.due_at, resolution.warn_at
    case.sla_state = Case.SlaState.OK


def _check_category(category: str, *, current: str = "") -> None:
    """New cases take an active category; a case keeps a retired one it already has."""
    if category == current:
        return
    if not category_is_offered(category):
        raise ValidationError({"category": "Choose one of the case categories."})


def _emit(event_type: str, case: Case) -> None:
    webhook_emit_records(event_type, [case])


def case_create(
    *,
    actor: User | None,
    account: Account,
    subject: str,
    description: str = "",
    category: str = Case.Category.QUESTION,
    severity: str = Case.Severity.NORMAL,
    channel: str = Case.Channel.STAFF,
    contact: Contact | None = None,
    raised_by: User | None = None,
    requester_email: str = "",
    assignee: User | None = None,
    team: str = Case.Team.SERVICE_DESK,
    uploads: Sequence[Upload] = (),
    draft_token: str = "",
    email_message_id: str = "",
) -> Case:
    """Open a case; its SLA clocks start now, from the account's service level."""
    subject = subject.strip()
    if not subject:
        raise ValidationError({"subject": "Say in a few words what the case is about."})
    if assignee is not None and not can_work_cases(assignee):
        raise ValidationError({"assignee": "Cases are assigned to staff."})
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": "The contact must be a person at the case's account."})
    _check_category(category)
    checked = check_uploads(uploads)
    now = timezone.now()
    level, _contract = service_level_for(account)
    if not requester_email:
        requester_email = (raised_by.email if raised_by is not None else "") or (contact.email if contact else "")
    with transaction.atomic():
        case = Case(
            account=account,
            contact=contact,
            raised_by=raised_by,
            requester_email=requester_email,
            subject=subject[:200],
            description=description.strip(),
            category=category,
            severity=severity,
            channel=channel,
            assignee=assignee,
            team=team,
            service_level=level,
            draft_token=draft_token[:64],
            created_at=now,
        )
        if assignee is not None:
            case.status = Case.Status.OPEN
        _start_clocks(case, now)
        case.full_clean(exclude=["account", "contact", "raised_by", "assignee", "service_level", "merged_into"])
        case.save()
        if description.strip() or email_message_id:
            # The description is the conversation's first entry, so email threading finds the case.
            message = CaseMessage.objects.create(
                case=case,
                kind=CaseMessage.Kind.REPLY,
                body=description.strip() or subject,
                author=raised_by,
                author_email=requester_email,
                from_staff=is_crm_user(raised_by),
                channel=channel,
                email_message_id=email_message_id[:255],
                created_at=now,
            )
        else:
            message = None
        _store(case, message, checked, raised_by or actor)
        history_record(actor=actor, record=case)
        audit_record(
            actor=actor,
            action="cases.case.created",
            account=account,
            target=case,
            data={"channel": channel, "severity": severity},
        )
        if assignee is None:
            case_route(case=case, actor=actor)  # the assignment rules pick assignee and team (territories)
        _emit("case.created", case)
        if assignee is not None:
            _notify_assigned(case, assignee, actor)
    return case


def _notify_assigned(case: Case, assignee: User, actor: User | None) -> None:
    if actor is not None and assignee.pk == actor.pk:
        return
    notify(
        recipient=assignee,
        kind="case.assigned",
        title=f"Case {case.reference} assigned to you: {case.subject}",
        url=case.get_absolute_url(),
        target=case,
        dedupe_key=f"case-assigned:{case.pk}:{assignee.pk}:{timezone.now():%Y%m%d%H%M%S%f}",
    )


def _pause(case: Case, now: dt.datetime) -> None:
    calendar = _calendar(case)
    if calendar is None or case.paused_at is not None or case.resolution_due_at is None:
        return
    case.paused_at = now
    case.resolution_left = business_time_between(now, case.resolution_due_at, calendar)
    case.warn_left = business_time_between(now, case.resolution_warn_at or now, calendar)


def _resume(case: Case, now: dt.datetime) -> None:
    calendar = _calendar(case)
    if calendar is None or case.paused_at is None:
        return
    case.resolution_due_at = add_business_time(now, case.resolution_left or dt.timedelta(0), calendar)
    case.resolution_warn_at = add_business_time(now, case.warn_left or dt.timedelta(0), calendar)
    case.paused_at = case.resolution_left = case.warn_left = None


def _move(case: Case, status: str, now: dt.datetime) -> None:
    """Change the status and what follows from it: pausing or resuming the clocks, the stamps."""
    was_running = case.status in Case.RUNNING_STATUSES
    runs = status in Case.RUNNING_STATUSES
    if was_running and not runs:
        _pause(case, now)
    elif runs and not was_running:
        _resume(case, now)
    if status == Case.Status.RESOLVED:
        case.resolved_at = now
    elif status == Case.Status.CLOSED:
        case.closed_at = now
        case.resolved_at = case.resolved_at or now
    elif status in Case.OPEN_STATUSES:
        case.resolved_at = case.closed_at = None
    case.status = status


def _lock(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("service_level", "account").get(pk=case.pk)


def case_set_status(*, actor: User | None, case: Case, status: str) -> Case:
    if status not in Case.Status.values:
        raise ValidationError({"status": "Choose one of the statuses."})
    with transaction.atomic():
        case = _lock(case)
        if case.merged_into_id is not None:
            raise BusinessRuleViolation("This case was merged into another; work on that one.")
        if case.status == status:
            return case
        before = history_snapshot(case)
        _move(case, status, timezone.now())
        case.save()
        history_record(actor=actor, record=case, before=before)
        resolved = status in (Case.Status.RESOLVED, Case.Status.CLOSED)
        audit_record(
            actor=actor,
            action="cases.case.resolved" if resolved else "cases.case.updated",
            account=case.account,
            target=case,
            data={"status": {"old": before.values["status"], "new": status}},
        )
        _emit("case.resolved" if status == Case.Status.RESOLVED else "case.updated", case)
    return case


def case_update(*, actor: User, case: Case, **changes: Any) -> Case:
    """Staff change what the case is: subject, category, severity, team."""
    if not can_work_cases(actor):
        raise PermissionDenied("Only staff change a case.")
    allowed = {"subject", "category", "severity", "team"}
    if set(changes) - allowed:
        raise ValidationError(f"Only {', '.join(sorted(allowed))} can be changed here.")
    with transaction.atomic():
        case = _lock(case)
        if "category" in changes:
            _check_category(changes["category"], current=case.category)
        before = history_snapshot(case)
        for name, value in changes.items():
            setattr(case, name, value)
        case.full_clean(exclude=["account", "contact", "raised_by", "assignee", "service_level", "merged_into"])
        case.save()
        if history_record(actor=actor, record=case, before=before) is not None:
            audit_record(actor=actor, action="cases.case.updated", account=case.account, target=case, data=changes)
            _emit("case.updated", case)
    return case


def case_assign(*, actor: User, case: Case, assignee: User | None, team: str | None = None) -> Case:
    if not can_work_cases(actor):
        raise PermissionDenied("Only staff assign cases.")
    if assignee is not None and not can_work_cases(assignee):
        raise ValidationError({"assignee": "Cases are assigned to active staff users."})
    if team is not None and team not in Case.Team.values:
        raise ValidationError({"team": "Choose a team."})
    with transaction.atomic():
        case = _lock(case)
        before = history_snapshot(case)
        case.assignee = assignee
        if team is not None:
            case.team = team
        if assignee is not None and case.status == Case.Status.NEW:
            _move(case, Case.Status.OPEN, timezone.now())
        case.save()
        if history_record(actor=actor, record=case, before=before) is None:
            return case
        audit_record(
            actor=actor,
            action="cases.case.assigned",
            account=case.account,
            target=case,
            data={"assignee": assignee.email if assignee else None, "team": case.team},
        )
        _emit("case.updated", case)
        if assignee is not None:
            _notify_assigned(case, assignee, actor)
    return case


def case_reply(
    *,
    actor: User | None,
    case: Case,
    body: str,
    kind: str = CaseMessage.Kind.REPLY,
    channel: str = Case.Channel.STAFF,
    status: str | None = None,
    uploads: Sequence[Upload] = (),
    author_email: str = "",
    email_message_id: str = "",
) -> CaseMessage:
    """Add to the conversation. Staff answer (publicly or as an internal note); customers reply.

    A staff reply is the first response if there was none, and is emailed to the customer; a
    customer's reply moves a case that waited on them (or was resolved) back to open.
    """
    body = body.strip()
    if not body and not uploads:
        raise ValidationError({"body": "Write a reply."})
    staff = is_crm_user(actor)
    if kind == CaseMessage.Kind.NOTE and not staff:
        raise PermissionDenied("Only staff write internal notes.")
    checked = check_uploads(uploads)
    now = timezone.now()
    with transaction.atomic():
        case = _lock(case)
        if case.merged_into_id is not None:
            raise BusinessRuleViolation(f"This case was merged into #{case.merged_into_id}; reply there.")
        if case.status == Case.Status.CLOSED and not staff:
            raise BusinessRuleViolation("This case is closed. Raise a new case and mention this one.")
        before = history_snapshot(case)
        message = CaseMessage.objects.create(
            case=case,
            kind=kind,
            body=body,
            author=actor if actor is not None and actor.pk else None,
            author_email=author_email or (actor.email if actor is not None else ""),
            from_staff=staff,
            channel=channel,
            email_message_id=email_message_id[:255],
            created_at=now,
        )
        _store(case, message, checked, actor)
        if kind == CaseMessage.Kind.REPLY:
            if staff:
                if case.first_responded_at is None:
                    case.first_responded_at = now
                target = status or (Case.Status.OPEN if case.status == Case.Status.NEW else case.status)
            else:
                reopen = case.status in (Case.Status.WAITING, Case.Status.RESOLVED)
                target = Case.Status.OPEN if reopen else case.status
            if target != case.status:
                _move(case, target, now)
        elif status:
            _move(case, status, now)
        case.save()
        history_record(actor=actor, record=case, before=before)
        action = "cases.case.replied" if kind == CaseMessage.Kind.REPLY else "cases.case.noted"
        audit_record(
            actor=actor,
            action=action,
            account=case.account,
            target=case,
            data={"message": message.pk, "channel": channel, "from_staff": staff},
        )
        if kind == CaseMessage.Kind.REPLY:
            _emit("case.replied", case)
            if case.status == Case.Status.RESOLVED and before.values["status"] != Case.Status.RESOLVED:
                _emit("case.resolved", case)
            if staff:
                transaction.on_commit(lambda: emails.send_reply(message.pk))
            elif case.assignee is not None:
                notify(
                    recipient=case.assignee,
                    kind="case.replied",
                    title=f"{message.author_email or 'The customer'} replied on {case.reference}: {case.subject}",
                    url=case.get_absolute_url(),
                    target=case,
                    dedupe_key=f"case-replied:{message.pk}",
                )
    return message


def case_merge(*, actor: User, duplicate: Case, survivor: Case) -> Case:
    """The duplicate's conversation and files move to the survivor; the duplicate closes, pointing at it."""
    if not can_merge_cases(actor):
        raise PermissionDenied("Managers and the service desk merge cases.")
    if duplicate.pk == survivor.pk:
        raise ValidationError("A case cannot be merged into itself.")
    with transaction.atomic():
        first, second = sorted([duplicate.pk, survivor.pk])
        locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
        duplicate, survivor = locked[duplicate.pk], locked[survivor.pk]
        if duplicate.account_id != survivor.account_id:
            raise BusinessRuleViolation("Only cases of the same account can be merged.")
        if duplicate.merged_into_id is not None or survivor.merged_into_id is not None:
            raise BusinessRuleViolation("One of these cases was already merged.")
        moved = duplicate.messages.update(case=survivor)
        duplicate.attachments.update(case=survivor)
        for user_id in duplicate.shared_with.values_list("pk", flat=True):
            survivor.shared_with.add(user_id)
        CaseMessage.objects.create(
            case=survivor,
            kind=CaseMessage.Kind.NOTE,
            body=f"Case #{duplicate.pk} “{duplicate.subject}” was merged into this one ({moved} messages moved).",
            author=actor,
            author_email=actor.email,
            from_staff=True,
        )
        before = history_snapshot(duplicate)
        _move(duplicate, Case.Status.CLOSED, timezone.now())
        duplicate.merged_into = survivor
        duplicate.save()
        history_record(actor=actor, record=duplicate, before=before)
        audit_record(
            actor=actor,
            action="cases.case.merged",
            account=survivor.account,
            target=survivor,
            data={"duplicate": duplicate.pk, "messages_moved": moved},
        )
        _emit("case.updated", duplicate)
        _emit("case.updated", survivor)
    return survivor


def _check_sharer(actor: User, case: Case) -> None:
    """Staff may; a portal user only through a membership of the case's account that may share it."""
    from iam.models import Membership

    if is_crm_user(actor):
        return
    membership = Membership.objects.usable().filter(user_id=actor.pk, account_id=case.account_id).first()
    if membership is None or not can_share_case(membership, case):
        raise PermissionDenied("Only who raised the case, or your organisation's admins, share it.")


def case_share(*, actor: User, case: Case, users: Iterable[User]) -> None:
    """Let colleagues at the same organisation follow a case in the portal."""
    from iam.models import Membership

    _check_sharer(actor, case)
    ids = [u.pk for u in users]
    allowed = set(
        Membership.objects.usable()
        .filter(account_id=case.account_id, user_id__in=ids)
        .values_list("user_id", flat=True)
    )
    if set(ids) - allowed:
        raise ValidationError("Cases are shared only with colleagues at the same organisation.")
    with transaction.atomic():
        case.shared_with.add(*ids)
        audit_record(actor=actor, action="cases.case.shared", account=case.account, target=case, data={"users": ids})


def case_unshare(*, actor: User, case: Case, user: User) -> None:
    """Stop sharing a case with a colleague (they keep seeing it if they raised it or see all cases)."""
    _check_sharer(actor, case)
    with transaction.atomic():
        case.shared_with.remove(user.pk)
        audit_record(
            actor=actor, action="cases.case.unshared", account=case.account, target=case, data={"users": [user.pk]}
        )
