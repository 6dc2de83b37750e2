"""Undoing an import, as a job: what it created is deleted, what it changed is put back.

The request only queues it (:func:`import_undo`): it checks that nothing the import wrote was
edited since, marks the job ``undoing`` and queues the task, once (a second click or a retried
request finds the job undoing and queues nothing more). The task (:func:`import_undo_run`) walks
the import's records by ``STEPS`` — each record type's created records, then its updated ones;
contacts and leads before the accounts a contacts import created for them — by record id, in
chunks. Each chunk is one transaction that also moves the job's cursor on: a worker killed
mid-chunk rolls the chunk back and the redelivered task continues at the cursor, so nothing is
undone twice. The job is ``undone`` (and audited, once) when the last step is through.

Within a chunk the work is set-based, whatever its size the same few statements: the chunk's
rows read and locked, one probe of everything that refers to them, one DELETE of the created
ones (their last values kept as "deleted" history, as a delete elsewhere keeps them) or one
UPDATE … FROM unnest putting the updated ones' fields back (with their "updated" history).
A created record something else now refers to goes through Django's delete, which takes along
what depends on it, as before. A record edited (or taken into use: portal access, for an
account its people or deals) after the request checked is left as it is and counted as kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.deletion import DO_NOTHING, get_candidate_relations_to_delete
from django.utils import timezone

from core.context import Channel, acting_through
from core.errors import BusinessRuleViolation
from core.set_update import update_rows
from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from history.services import CUSTOM_FIELDS, history_record_many, history_record_rows
from iam.audit import audit_record
from iam.models import Membership, User
from imports.mapping import MODEL_LABELS
from imports.models import ImportedRecord, ImportJob
from imports.services import _label, _require

CREATED, UPDATED = ImportedRecord.Action.CREATED, ImportedRecord.Action.UPDATED
# In this order: a record's deletion before its restore (a record the import created, then
# updated from a later row, is simply deleted), and contacts before the accounts made for them.
STEPS: tuple[tuple[str, str], ...] = (
    ("crm.contact", CREATED),
    ("crm.contact", UPDATED),
    ("crm.lead", CREATED),
    ("crm.lead", UPDATED),
    ("crm.account", CREATED),
    ("crm.account", UPDATED),
)
Labels = dict[tuple[type[models.Model], Any], str]
MODELS: dict[str, type[models.Model]] = {"crm.contact": Contact, "crm.lead": Lead, "crm.account": Account}
RESOURCES = {label: resource for resource, label in MODEL_LABELS.items()}
# What takes a created record into use since the import: the undo leaves such a record as it is.
IN_USE: dict[str, tuple[tuple[type[models.Model], str], ...]] = {
    "crm.contact": ((Membership, "contact"),),
    "crm.account": ((Membership, "account"), (Contact, "account"), (Opportunity, "account"), (Contract, "account")),
}


def _chunk_size() -> int:
    return int(getattr(settings, "IMPORTS_CHUNK_SIZE", 1000))


# --- The request: check and queue ------------------------------------------------------------------


def import_undo(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the undo of a finished import while nothing it wrote was edited since; once."""
    _require(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportJob.Status.UNDOING:
            return job  # queued already: a second click or a retried request adds nothing
        if job.status != ImportJob.Status.DONE:
            raise BusinessRuleViolation("Only a finished import can be undone.")
        problems = _edited_since(job)
        if problems:
            raise BusinessRuleViolation(f"This import can no longer be undone: {'; '.join(problems)}.")
        total = ImportedRecord.objects.filter(job=job, action__in=[CREATED, UPDATED]).count()
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.UNDOING,
            undone_by=actor,
            undo_step=0,
            undo_cursor=0,
            undo_total=total,
            undo_done=0,
            undo_kept=0,
            progressed_at=timezone.now(),
        )
        job.refresh_from_db()
        from imports.tasks import import_undo_task

        pk = job.pk
        transaction.on_commit(lambda: import_undo_task.delay(pk))
    return job


def _edited_since(job: ImportJob) -> list[str]:
    """Why the import cannot be undone any more: records changed (or taken into use) since it ran.

    Each count walks the job's records (``imports_record_job``) and looks each one up by id, as a
    scalar subquery the planner cannot turn into a join: a job imported a moment ago has no
    statistics yet, and a join planned on "one row" read the job's records again for every record
    changed since (4.5 s for 30,000 records, 1,400 changed); this costs one lookup per record.
    """
    assert job.finished_at is not None
    problems = []
    for label, model in MODELS.items():
        updated_at = model._base_manager.filter(pk=OuterRef("record_id")).order_by().values("updated_at")[:1]
        edited = (
            ImportedRecord.objects.filter(job=job, record_type=label, action__in=[CREATED, UPDATED])
            .annotate(updated_at=Subquery(updated_at))
            .filter(updated_at__gt=job.finished_at)
            .count()
        )
        if edited:
            problems.append(f"{edited} {model._meta.verbose_name_plural} changed since")
    membership = Membership.objects.filter(contact_id=OuterRef("record_id")).order_by().values("pk")[:1]
    if (
        ImportedRecord.objects.filter(job=job, record_type="crm.contact", action=CREATED)
        .annotate(membership=Subquery(membership))
        .filter(membership__isnull=False)
        .exists()
    ):
        problems.append("imported contacts have portal access now")
    return problems


def import_undo_allowed(job: ImportJob) -> tuple[bool, str]:
    """For the result page: may the undo button show, and if not, why."""
    if job.status != ImportJob.Status.DONE:
        return False, ""
    problems = _edited_since(job)
    return (not problems, "; ".join(problems))


# --- The job: chunk by chunk ---------------------------------------------------------------------


def import_undo_run(*, job_id: int) -> ImportJob | None:
    """Undo the job from its cursor on, a chunk per transaction; then close it. Safe to run again."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.UNDOING).select_related("undone_by").first()
    if job is None:
        return None
    actor = job.undone_by
    labels: Labels = {}  # the accounts and owners the history names, read once for the whole job
    with acting_through(Channel.IMPORT, job=f"undo of import {job.pk}"):
        while True:
            with transaction.atomic():
                # The job's row, locked: one worker at a time (a redelivery waits, then goes on).
                job = ImportJob.objects.select_for_update().get(pk=job_id)
                if job.status != ImportJob.Status.UNDOING:
                    return job
                if job.undo_step >= len(STEPS):
                    ImportJob.objects.filter(pk=job.pk).update(
                        status=ImportJob.Status.UNDONE, undone_at=timezone.now(), progressed_at=timezone.now()
                    )
                    job.refresh_from_db()
                    audit_record(
                        actor=actor,
                        action="imports.import.undone",
                        target=job,
                        data={"created": job.created_count, "updated": job.updated_count, "kept": job.undo_kept},
                    )
                    return job
                _undo_chunk(job, actor, labels)


def _undo_chunk(job: ImportJob, actor: User | None, labels: Labels) -> None:
    label, action = STEPS[job.undo_step]
    ids = list(
        ImportedRecord.objects.filter(job=job, record_type=label, action=action, record_id__gt=job.undo_cursor)
        .order_by("record_id")
        .values_list("record_id", flat=True)
        .distinct()[: _chunk_size()]
    )
    if not ids:
        ImportJob.objects.filter(pk=job.pk).update(undo_step=F("undo_step") + 1, undo_cursor=0)
        return
    assert job.finished_at is not None
    if action == CREATED:
        done, kept = len(ids), _delete_created(actor, label, ids, job.finished_at, labels)
    else:
        entries = ImportedRecord.objects.filter(
            job=job, record_type=label, action=action, record_id__gt=job.undo_cursor, record_id__lte=ids[-1]
        ).order_by("pk")
        befores: dict[int, dict[str, Any]] = defaultdict(dict)
        done = 0
        for record_id, before in entries.values_list("record_id", "before"):
            done += 1
            for name, text in before.items():  # a record updated twice: the first "before" is the original
                befores[record_id].setdefault(name, text)
        kept = _restore_updated(actor, label, befores, job.finished_at, labels)
    ImportJob.objects.filter(pk=job.pk).update(
        undo_cursor=ids[-1],
        undo_done=F("undo_done") + done,
        undo_kept=F("undo_kept") + kept,
        progressed_at=timezone.now(),
    )


def _delete_created(actor: User | None, label: str, ids: list[int], since: dt.datetime, labels: Labels) -> int:
    """Delete the created records of the chunk still as the import left them; return how many were kept."""
    model = MODELS[label]
    rows = _locked_rows(model, ids)
    refs = _references(model, list(rows))
    in_use = {pk for related, name in IN_USE.get(label, ()) for pk in refs.get((related, name), ())}
    kept = {pk for pk, row in rows.items() if row["updated_at"] > since} | in_use
    gone = [pk for pk in rows if pk not in kept]
    if not gone:
        return len(kept)
    resource = RESOURCES[label]
    history_record_rows(
        actor=actor,
        model=model,
        rows=[(pk, _label(resource, rows[pk]), rows[pk], None) for pk in gone],
        labels=labels,
    )
    referenced = {pk for found in refs.values() for pk in found} & set(gone)
    if referenced:
        # Django's delete takes along what depends on them (as it always did); the activities
        # it takes keep their history, as with a delete elsewhere (``crm.services``).
        links = [f.name for f in Activity._meta.concrete_fields if f.is_relation and f.related_model is model]
        for name in links:
            activities = Activity.objects.select_for_update().filter(**{f"{name}__in": referenced})
            history_record_many(actor=actor, items=((a, None) for a in activities), deleted=True)
        model._base_manager.filter(pk__in=referenced).delete()
    plain = [pk for pk in gone if pk not in referenced]
    if plain:
        table, pk_column = connection.ops.quote_name(model._meta.db_table), _pk_column(model)
        where, params = _any(pk_column, plain)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608 (names are ours)
    return len(kept)


def _restore_updated(
    actor: User | None, label: str, befores: dict[int, dict[str, Any]], since: dt.datetime, labels: Labels
) -> int:
    """Put back the fields the import overwrote, on the records not edited since; return how many were kept."""
    model = MODELS[label]
    rows = _locked_rows(model, list(befores))  # a record deleted since (or by the step before) is gone
    kept = [pk for pk, row in rows.items() if row["updated_at"] > since]
    restored: dict[int, dict[str, Any]] = {}
    for pk, current in rows.items():
        if current["updated_at"] > since:
            continue
        values: dict[str, Any] = {}
        for name, text in befores[pk].items():
            field: Any = model._meta.get_field(name)
            if name == CUSTOM_FIELDS or name == "verification_method":
                value = text
            else:
                value = field.to_python(text) if text not in ("", None) else field.get_default()
            values[field.attname] = value if name == CUSTOM_FIELDS else field.get_prep_value(value)
        if model is Contact:
            last_verified = values.get("last_verified_at", current["last_verified_at"])
            values["verification_method"] = (
                values.get("verification_method", current["verification_method"]) if last_verified else ""
            )
        restored[pk] = values
    if restored:
        columns = sorted({name for values in restored.values() for name in values})
        update_rows(
            model,
            columns,
            [(pk, *(values.get(c, rows[pk][c]) for c in columns)) for pk, values in restored.items()],
            {"updated_at": timezone.now()},
        )
        resource = RESOURCES[label]
        history_record_rows(
            actor=actor,
            model=model,
            rows=[
                (
                    pk,
                    _label(resource, {**rows[pk], **values}),
                    {c: rows[pk][c] for c in columns},
                    {c: values.get(c, rows[pk][c]) for c in columns},
                )
                for pk, values in restored.items()
            ],
            labels=labels,
            notify=True,
        )
    return len(kept)


# --- Set-based reads, as stored ------------------------------------------------------------------


def _pk_column(model: type[models.Model]) -> str:
    assert model._meta.pk is not None
    return connection.ops.quote_name(model._meta.pk.column)


def _any(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``column`` is one of ``ids``, with one parameter whatever their number."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]  # noqa: S608


def _ids_table(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """``WITH ids(id)`` of ``ids``: one parameter, planned once (not one estimate per id and table)."""
    if connection.vendor == "postgresql":
        return "WITH ids(id) AS MATERIALIZED (SELECT unnest(%s::bigint[]))", [list(ids)]
    return "WITH ids(id) AS (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]


def _locked_rows(model: type[models.Model], ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The rows by id, every column by attname as stored (a phone as its text, JSON parsed), locked."""
    fields = model._meta.concrete_fields
    attnames = [f.attname for f in fields]
    converters = []  # (attname, column, converter): the backend's own (SQLite's dates, booleans), JSON's
    for f in fields:
        column = f.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column)
        if isinstance(f, models.JSONField):
            found = [*found, f.from_db_value]
        converters += [(f.attname, column, convert) for convert in found]
    table = connection.ops.quote_name(model._meta.db_table)
    where, params = _any(_pk_column(model), ids)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {where}{lock}", params)  # noqa: S608
        rows = [dict(zip(attnames, raw, strict=True)) for raw in cursor.fetchall()]
    for row in rows:
        for attname, column, convert in converters:
            row[attname] = convert(row[attname], column, connection)
    pk = model._meta.pk
    assert pk is not None
    return {row[pk.attname]: row for row in rows}


def _references(model: type[models.Model], ids: Sequence[int]) -> dict[tuple[type[models.Model], str], set[int]]:
    """Which of ``ids`` rows of other tables refer to, by (model, field): one query for every relation
    a delete would follow (those Django's delete leaves alone, ``DO_NOTHING``, are left out)."""
    links: list[tuple[type[models.Model], Any]] = []  # (the referring model, its foreign key)
    relation: Any
    for relation in get_candidate_relations_to_delete(model._meta):  # the reverse relations a delete follows
        field: Any = relation.field
        if field.remote_field.on_delete is not DO_NOTHING:
            links.append((field.model, field))
    if not ids or not links:
        return {}
    ids_table, params = _ids_table(ids)
    parts = []
    for n, (related, field) in enumerate(links):
        column = connection.ops.quote_name(field.column)
        table = connection.ops.quote_name(related._meta.db_table)
        parts.append(f"SELECT {n}, id FROM ids WHERE EXISTS (SELECT 1 FROM {table} WHERE {column} = ids.id)")  # noqa: S608
    found: dict[tuple[type[models.Model], str], set[int]] = defaultdict(set)
    with connection.cursor() as cursor:
        cursor.execute(f"{ids_table} {' UNION ALL '.join(parts)}", params)
        for n, pk in cursor.fetchall():
            related, field = links[n]
            found[(related, field.name)].add(pk)
    return found


# --- Stalled jobs --------------------------------------------------------------------------------


def imports_undo_resume_stalled(*, stall_seconds: int | None = None) -> int:
    """Queue the undo again for jobs a lost worker left undoing (its chunk rolled back)."""
    from imports.tasks import import_undo_task

    seconds = settings.IMPORTS_STALL_SECONDS if stall_seconds is None else stall_seconds
    cutoff = timezone.now() - dt.timedelta(seconds=seconds)
    stalled = list(
        ImportJob.objects.filter(status=ImportJob.Status.UNDOING, progressed_at__lt=cutoff).values_list("pk", flat=True)
    )
    for pk in stalled:
        import_undo_task.delay(pk)
    return len(stalled)
