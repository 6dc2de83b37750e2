"""Merging duplicates, and deciding what is not one.

:func:`merge_records` moves everything related to the merged record onto the survivor in one
transaction. ``RELATIONS`` names every relation that points at a mergeable record and what a
merge does with it; tests/dedup/test_merge.py fails when a model gains a relation that is not
named here, so a new app's records are never lost to a cascade.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from core.errors import BusinessRuleViolation
from crm.models import Account, AccountDomain, Activity, Contact, Lead
from dedup.models import DuplicatePair, MergedRecord
from history.models import RecordChange
from history.services import history_record, history_record_many, history_snapshot
from iam.audit import audit_record
from iam.models import Membership, User
from iam.permissions import can_merge, is_crm_user
from webhooks.payloads import record_data
from webhooks.services import webhook_emit

MOVE = "move"  # re-point the relation at the survivor
MEMBERSHIPS = "memberships"  # one per user and account: a user in both keeps the survivor's
DOMAINS = "domains"  # one per domain and account: the survivor's copy stays
M2M = "m2m"  # many-to-many rows: the survivor joins where the merged record was
KEEP = "keep"  # append-only rows (the audit trail) stay as written, naming the merged record's id
ANSWERS = "answers"  # one per review and contact: where both were reviewed, the survivor's answer stays
REVIEWS = "reviews"  # one open per account: where both have one, the survivor's stays (it lists everyone)

RELATIONS: dict[str, dict[tuple[str, str], str]] = {
    "crm.account": {
        ("iam.membership", "account"): MEMBERSHIPS,
        ("iam.applicationaccountchoice", "account"): MOVE,
        ("iam.auditevent", "account"): KEEP,  # append-only: PostgreSQL refuses the UPDATE
        ("crm.accountdomain", "account"): DOMAINS,
        ("crm.contact", "account"): MOVE,
        ("crm.lead", "converted_account"): MOVE,
        ("crm.opportunity", "account"): MOVE,
        ("crm.contract", "account"): MOVE,
        ("crm.activity", "account"): MOVE,
        ("invitations.invitation", "account"): MOVE,
        ("registrations.registrationrequest", "matched_account"): MOVE,
        ("webhooks.event", "account"): MOVE,
        ("api.apikey", "accounts"): M2M,
        ("cases.case", "account"): MOVE,
        ("reviews.accessreview", "account"): REVIEWS,
    },
    "crm.contact": {
        ("iam.membership", "contact"): MOVE,  # both portal identities keep working, as the survivor
        ("crm.lead", "converted_contact"): MOVE,
        ("crm.activity", "contact"): MOVE,
        ("crm.contactreconfirmation", "contact"): MOVE,
        ("invitations.invitation", "contact"): MOVE,
        ("cases.case", "contact"): MOVE,
        ("reviews.accessreviewanswer", "contact"): ANSWERS,
        ("reviews.ownerverification", "contact"): MOVE,
    },
    "crm.lead": {
        ("crm.activity", "lead"): MOVE,
        ("invitations.invitation", "lead"): MOVE,
        ("registrations.registrationrequest", "lead"): MOVE,
    },
}

# The fields a person chooses between, side by side.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "crm.account": (
        "name",
        "business_id",
        "country",
        "website",
        "industry",
        "tier",
        "territory",
        "owner",
        "require_mfa",
    ),
    "crm.contact": ("first_name", "last_name", "email", "phone", "job_title", "account", "owner", "consent_to_contact"),
    "crm.lead": (
        "first_name",
        "last_name",
        "email",
        "phone",
        "job_title",
        "company_name",
        "company_business_id",
        "company_country",
        "company_website",
        "source",
        "status",
        "score",
        "owner",
    ),
}

MODELS: dict[str, Any] = {"crm.account": Account, "crm.contact": Contact, "crm.lead": Lead}


def relations_of(label: str) -> set[tuple[str, str]]:
    """Every (model, field) that points at a record of ``label``, as Django knows them now."""
    model = MODELS[label]
    related: list[Any] = list(model._meta.related_objects)
    return {(rel.related_model._meta.label_lower, rel.field.name) for rel in related}


def _account_of(record: Model) -> Account | None:
    if isinstance(record, Account):
        return record
    return getattr(record, "account", None)


def _move(actor: User, relation: tuple[str, str], how: str, survivor: Any, merged: Any) -> int:
    model: Any = apps.get_model(relation[0])
    name = relation[1]
    if how == M2M:
        through = model._meta.get_field(name).remote_field.through
        source = f"{model._meta.model_name}_id"
        target = f"{MODELS[survivor._meta.label_lower]._meta.model_name}_id"
        linked = set(through.objects.filter(**{target: merged.pk}).values_list(source, flat=True))
        already = set(
            through.objects.filter(**{target: survivor.pk, f"{source}__in": linked}).values_list(source, flat=True)
        )
        through.objects.bulk_create([through(**{source: pk, target: survivor.pk}) for pk in linked - already])
        through.objects.filter(**{target: merged.pk}).delete()
        return len(linked)
    if how == KEEP:
        return 0
    rows = model._base_manager.filter(**{name: merged})
    if how == MEMBERSHIPS:
        # A user in both organisations keeps the survivor's membership (roles and status).
        both = rows.filter(user__in=Membership.objects.filter(account=survivor).values("user"))
        for membership in both.select_related("user"):
            audit_record(
                actor=actor,
                action="iam.membership.merged",
                account=survivor,
                target=membership.user,
                data={"removed_membership": membership.pk, "from_account": merged.pk, "to_account": survivor.pk},
            )
        both.delete()
    elif how == DOMAINS:
        kept = AccountDomain.objects.filter(account=survivor).values("domain")
        rows.filter(domain__in=kept).delete()
    elif how == ANSWERS:
        # The same person answered twice in one review: the survivor's answer is the one kept.
        rows.filter(review__in=model._base_manager.filter(contact=survivor).values("review")).delete()
    elif how == REVIEWS and model._base_manager.filter(account=survivor, completed_at__isnull=True).exists():
        # An open review has no answers yet (they are written on submit): the survivor's open review
        # now lists the merged account's people too, so the merged one's is discarded, audited.
        for review in rows.filter(completed_at__isnull=True):
            audit_record(
                actor=actor,
                action="reviews.access_review.discarded",
                account=survivor,
                target=review,
                data={"from_account": merged.pk, "to_account": survivor.pk, "opened_at": review.opened_at.isoformat()},
            )
        rows.filter(completed_at__isnull=True).delete()
    if model is Activity:
        # Moved activities are changes of their own records: their history says so.
        moved = list(rows.select_for_update())
        befores = [history_snapshot(a) for a in moved]
        count: int = rows.update(**{name: survivor})
        for activity in moved:
            setattr(activity, name, survivor)
        history_record_many(actor=actor, items=zip(moved, befores, strict=True))
        return count
    updated: int = rows.update(**{name: survivor})
    return updated


def merge_records(*, actor: User, survivor: Model, merged: Model, values: dict[str, Any]) -> Model:
    """Merge ``merged`` into ``survivor`` (records of one type); ``values`` are the survivor's chosen field values.

    Everything related moves to the survivor, the merged record is deleted and its URL
    redirects to the survivor (``MergedRecord``); audited (``crm.<type>.merged``), historised on
    both and on every moved activity, and told to integrators (``<type>.merged``).
    """
    label = survivor._meta.label_lower
    if label not in MODELS or merged._meta.label_lower != label:
        raise ValidationError("Only two accounts, two contacts or two leads can be merged.")
    if not can_merge(actor, label):
        raise PermissionDenied("Only sales managers and operations merge accounts.")
    if survivor.pk == merged.pk:
        raise ValidationError("Choose two different records.")
    unknown = set(values) - {*MERGE_FIELDS[label], "custom_fields"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field is not merged."))
    model = MODELS[label]
    noun = label.split(".")[1]
    with transaction.atomic():
        locked: dict[Any, Any] = model._base_manager.select_for_update().in_bulk(sorted([survivor.pk, merged.pk]))
        if len(locked) != 2:
            raise BusinessRuleViolation("One of the records no longer exists (merged or deleted meanwhile).")
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        if (
            isinstance(merged, Lead)
            and merged.status == Lead.Status.CONVERTED
            and not (isinstance(survivor, Lead) and survivor.status == Lead.Status.CONVERTED)
        ):
            raise BusinessRuleViolation("A converted lead is its account's history: keep it as the survivor.")
        before = history_snapshot(survivor)
        merged_label = str(merged)[:254]
        moved: dict[str, int] = {}
        handled = RELATIONS[label]
        for relation in sorted(relations_of(label)):
            how = handled.get(relation, MOVE)  # an unnamed relation is moved too, never cascaded away
            moved[f"{relation[0]}.{relation[1]}"] = _move(actor, relation, how, survivor, merged)
        # History is append-only: the merged record's rows stay as written, and the survivor's History
        # tab shows them too (history.selectors.record_history follows MergedRecord).
        moved["history"] = RecordChange.objects.filter(record_type=label, record_id=merged.pk).count()
        merged_values = {name: getattr(merged, name) for name in MERGE_FIELDS[label]}
        custom = None
        if hasattr(survivor, "custom_fields"):
            custom = {**(getattr(merged, "custom_fields", None) or {}), **(survivor.custom_fields or {})}
            custom.update(values.get("custom_fields") or {})
        merged_pk = merged.pk
        extra = _absorb(survivor, merged)
        model._base_manager.filter(pk=merged_pk).delete()
        for name, value in values.items():
            if name != "custom_fields":
                setattr(survivor, name, value)
        if custom is not None:
            setattr(survivor, "custom_fields", custom)  # noqa: B010 (the column exists once customfields lands)
        for name, value in extra.items():
            setattr(survivor, name, value)
        survivor.full_clean()
        survivor.save()
        history_record(
            actor=actor,
            record=survivor,
            before=before,
            also={"merged_with": {"old": None, "new": {"id": merged_pk, "label": merged_label}}},
        )
        MergedRecord.objects.filter(record_type=label, survivor_id=merged_pk).update(survivor_id=survivor.pk)
        MergedRecord.objects.create(
            record_type=label, merged_id=merged_pk, survivor_id=survivor.pk, merged_label=merged_label, merged_by=actor
        )
        DuplicatePair.objects.filter(Q(first_id=merged_pk) | Q(second_id=merged_pk), record_type=label).update(
            status=DuplicatePair.Status.MERGED, decided_at=timezone.now(), decided_by=actor
        )
        note = Activity(
            kind=Activity.Kind.NOTE,
            subject=f"Merged {noun} “{merged_label}” into this one"[:200],
            body="Its activities, history and related records moved here.",
            done=True,  # a note, never an open task
            done_at=timezone.now(),
            author=actor,
            owner=survivor.owner,  # type: ignore[attr-defined]
            **{noun: survivor},
        )
        if isinstance(survivor, Contact):
            note.account = survivor.account
        note.save()
        history_record(actor=actor, record=note)
        account = _account_of(survivor)
        audit_record(
            actor=actor,
            action=f"crm.{noun}.merged",
            account=account,
            target=survivor,
            data={
                "merged_id": merged_pk,
                "merged": merged_label,
                "merged_values": _plain(merged_values),
                "moved": moved,
            },
        )
        webhook_emit(f"{noun}.merged", data={**record_data(survivor), "merged_id": merged_pk}, account=account)
    return survivor


def _absorb(survivor: Model, merged: Model) -> dict[str, Any]:
    """What the survivor keeps of the merged record beyond the chosen values (a contact's other addresses)."""
    if not isinstance(survivor, Contact) or not isinstance(merged, Contact):
        return {}
    emails = [e for e in [*(survivor.other_emails or []), merged.email, *(merged.other_emails or [])] if e]
    seen = {(survivor.email or "").lower()}
    other = []
    for email in emails:
        if email.lower() not in seen:
            seen.add(email.lower())
            other.append(email)
    extra: dict[str, Any] = {"other_emails": other}
    newer = merged.last_verified_at and (
        not survivor.last_verified_at or merged.last_verified_at > survivor.last_verified_at
    )
    if newer:
        extra.update(
            last_verified_at=merged.last_verified_at,
            verified_by=merged.verified_by,
            verification_method=merged.verification_method,
        )
    return extra


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.pk if isinstance(v, Model) else str(v) if v is not None else None) for k, v in values.items()}


def pair_dismiss(*, actor: User, pair: DuplicatePair) -> DuplicatePair:
    """Remember that these two are not one: neither the finder nor an import proposes them again."""
    if not is_crm_user(actor):
        raise PermissionDenied("Only staff decide duplicates.")
    with transaction.atomic():
        pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
        if pair.status == DuplicatePair.Status.OPEN:
            pair.status, pair.decided_at, pair.decided_by = DuplicatePair.Status.DISMISSED, timezone.now(), actor
            pair.save(update_fields=["status", "decided_at", "decided_by"])
    return pair


def pair_not_duplicate(*, actor: User, record_type: str, first_id: int, second_id: int) -> DuplicatePair:
    """ "Not a duplicate" for two records a warning named (no pair stored yet)."""
    first_id, second_id = sorted((first_id, second_id))
    pair, _ = DuplicatePair.objects.get_or_create(
        record_type=record_type, first_id=first_id, second_id=second_id, defaults={"reasons": []}
    )
    return pair_dismiss(actor=actor, pair=pair)
