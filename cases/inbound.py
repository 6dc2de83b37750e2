"""Inbound email: a raw RFC 5322 message threaded onto its case, or opening a new one.

Any mail provider's inbound hook (``POST /hooks/mail/inbound``) or an IMAP fetch
(``manage.py cases_inbound_email``) feeds it. The case is found by, in order: the signed
per-case reply address it was sent to, the ``In-Reply-To``/``References`` of an email we
sent or took in, the ``[Case #N]`` in the subject (only for a sender who belongs to that case's
organisation). A sender nobody knows opens nothing. Quoted earlier mail is cut off; the
attachments the case rules accept are kept. A message taken in twice (same ``Message-ID``)
is stored once.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import strip_tags

from cases import services
from cases.emails import case_id_from_address
from cases.models import Case, CaseMessage
from core.context import Channel, acting_through
from core.errors import BusinessRuleViolation
from crm.departures import inbound_message_receive
from crm.models import Contact
from iam.models import Membership, User

_SUBJECT_REF = re.compile(r"\[Case #(\d+)\]", re.IGNORECASE)
# Where a reply's quote of earlier mail starts: "On … wrote:", an Outlook header block, a
# separator line. Everything from there on is the old conversation, which the case already has.
_QUOTE_STARTS = (
    re.compile(r"^\s*On .{0,200}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am .{0,200}schrieb.{0,80}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^\s*From:\s.+", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
)


@dataclass(frozen=True)
class InboundResult:
    outcome: str  # "threaded", "opened", "duplicate", "unknown_sender", "rejected"
    case: Case | None = None
    detail: str = ""


def strip_quoted(text: str) -> str:
    """The new part of a reply: up to the first quoted line or quote header, without trailing blank lines."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith(">") or any(p.match(line) for p in _QUOTE_STARTS):
            break
        kept.append(line)
    # A signature separator ends the message too.
    if "-- " in kept:
        kept = kept[: kept.index("-- ")]
    return "\n".join(kept).strip()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        content = strip_tags(re.sub(r"(?i)<br\s*/?>|</p>", "\n", content))
    return strip_quoted(content)


def _uploads(message: EmailMessage) -> tuple[list[services.Upload], list[str]]:
    """The attachments the case rules accept, and the names of those they do not (left out)."""
    uploads, refused = [], []
    for part in message.iter_attachments():
        name = part.get_filename()
        payload = part.get_payload(decode=True)
        if not name or not isinstance(payload, bytes):
            continue
        upload = services.Upload(name=name, content=payload)
        try:
            services.check_uploads([upload])
        except ValidationError:
            refused.append(name)
        else:
            uploads.append(upload)
    return uploads[: settings.CASES_ATTACHMENTS_PER_MESSAGE], refused


def _message_ids(value: str | None) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def _find_case(message: EmailMessage) -> Case | None:
    recipients = getaddresses(
        [str(message.get(h, "")) for h in ("To", "Cc", "Delivered-To", "X-Original-To") if message.get(h)]
    )
    for _name, address in recipients:
        if (case_id := case_id_from_address(address)) is not None:
            return Case.objects.filter(pk=case_id).first()
    refs = _message_ids(str(message.get("In-Reply-To", ""))) + _message_ids(str(message.get("References", "")))
    if refs:
        found = CaseMessage.objects.filter(email_message_id__in=refs).select_related("case").order_by("-id").first()
        if found is not None:
            return found.case
    match = _SUBJECT_REF.search(str(message.get("Subject", "")))
    if match:
        return Case.objects.filter(pk=int(match.group(1))).first()
    return None


def _sender_on(case: Case, sender: str) -> tuple[bool, User | None]:
    """Whether ``sender`` may write on this case, and as which user."""
    user = User.objects.filter(email__iexact=sender, is_active=True).first()
    if user is not None and user.is_staff:
        return True, user
    if sender == case.requester_email.lower():
        return True, user
    if user is not None and Membership.objects.usable().filter(user=user, account_id=case.account_id).exists():
        return True, user
    return Contact.objects.filter(account_id=case.account_id, email__iexact=sender).exists(), user


def _automatic(message: EmailMessage) -> bool:
    """RFC 3834's Auto-Submitted, and the headers auto-responders use in practice."""
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto_submitted not in ("", "no")
        or precedence == "auto_reply"
        or any(message.get(h) for h in ("X-Autoreply", "X-Autorespond"))
    )


def case_inbound_email(raw: bytes) -> InboundResult:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
    if "@" not in sender:
        return InboundResult("rejected", detail="The message has no sender address.")
    message_id = (_message_ids(str(message.get("Message-ID", ""))) or [""])[0]
    if message_id and CaseMessage.objects.filter(email_message_id=message_id).exists():
        return InboundResult("duplicate", detail="This message was taken in before.")
    subject = re.sub(r"^\s*((re|fw|fwd|aw|sv)\s*:\s*)+", "", str(message.get("Subject", "")), flags=re.IGNORECASE)
    body = _body(message)
    if _automatic(message):
        # An out-of-office reply is never a case; one saying its sender left makes that a CRM fact.
        marked = inbound_message_receive(from_email=sender, subject=subject, body=body)
        return InboundResult("auto_reply", detail=f"An automatic reply; {marked} contact(s) marked as left.")
    uploads, refused = _uploads(message)
    if refused:
        body = f"{body}\n\n(Attachments not accepted: {', '.join(refused)}.)".strip()
    with acting_through(Channel.JOB, job="inbound email"):
        case = _find_case(message)
        if case is not None:
            case = case.merged_into or case
            allowed, user = _sender_on(case, sender)
            if not allowed:
                return InboundResult("unknown_sender", detail=f"{sender} is not a person of case #{case.pk}.")
            if case.status != Case.Status.CLOSED or (user is not None and user.is_staff):
                try:
                    services.case_reply(
                        actor=user,
                        case=case,
                        body=body or "(no text)",
                        channel=Case.Channel.EMAIL,
                        uploads=uploads,
                        author_email=sender,
                        email_message_id=message_id,
                    )
                except (ValidationError, BusinessRuleViolation) as exc:
                    return InboundResult("rejected", case=case, detail=" ".join(getattr(exc, "messages", [str(exc)])))
                return InboundResult("threaded", case=case)
            # A reply to a closed case opens a follow-up that names the old one.
            return _open(
                sender, subject or case.subject, f"Follow-up to case #{case.pk}.\n\n{body}", uploads, message_id
            )
        return _open(sender, subject, body, uploads, message_id)


def _open(sender: str, subject: str, body: str, uploads: list[services.Upload], message_id: str) -> InboundResult:
    user = User.objects.filter(email__iexact=sender, is_active=True, is_staff=False).first()
    membership = (
        Membership.objects.usable().filter(user=user, is_lead_only=False).select_related("account", "contact").first()
        if user is not None
        else None
    )
    if membership is not None:
        account, contact = membership.account, membership.contact
    else:
        contacts = list(
            Contact.objects.filter(email__iexact=sender)
            .filter(Q(account__contracts__status="active"))
            .select_related("account")
            .distinct()[:2]
        )
        if len(contacts) != 1:
            return InboundResult("unknown_sender", detail=f"No customer is known by {sender}.")
        account, contact = contacts[0].account, contacts[0]
    try:
        case = services.case_create(
            actor=user,
            account=account,
            contact=contact,
            raised_by=user,
            requester_email=sender,
            subject=subject or "(no subject)",
            description=body,
            channel=Case.Channel.EMAIL,
            uploads=uploads,
            email_message_id=message_id,
        )
    except ValidationError as exc:
        return InboundResult("rejected", detail=" ".join(exc.messages))
    return InboundResult("opened", case=case)
