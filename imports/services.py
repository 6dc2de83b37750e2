"""Every write of an import: staging the file, choosing the mapping, running, undoing.

A run processes the staged chunks in order, each in one transaction that also marks the chunk
done and adds its counts to the job: a worker killed mid-chunk rolls the chunk back and the
next run (Celery redelivers the task: ``acks_late``) takes it again, so nothing is imported
twice. Within a chunk the work is set-based: one query per kind of duplicate evidence, one
INSERT of the new records, one UPDATE of the changed ones, one INSERT of their history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Model, TextField
from django.db.models.functions import Cast, Upper
from django.utils import timezone

from core.context import Channel, acting_through
from core.errors import BusinessRuleViolation
from core.set_insert import JsonText, insert_rows
from core.set_update import update_rows
from crm.models import Account, Contact, Lead
from crm.services import account_create_for_company
from dedup.matching import MATCHERS, Match
from dedup.models import DuplicatePair
from history.services import (
    HistoryRow,
    history_changes,
    history_insert,
    history_name_references,
    history_read_labels,
    history_record_many,
    history_snapshot,
)
from iam.audit import audit_record
from iam.models import User
from iam.permissions import can_import
from imports.files import read_table
from imports.mapping import MODEL_LABELS, mapping_errors, targets_for
from imports.models import DuplicatePolicy, ImportChunk, ImportedRecord, ImportFailure, ImportJob, ImportMapping
from imports.normalise import DATE_FORMATS, Options, Row, normalise_custom, normalise_row
from territories.services import leads_route_batch, leads_routed_record
from webhooks.services import webhook_emit_records

T = TypeVar("T")
LABELS_KEPT = 20_000  # referenced records' labels a run keeps between chunks
_NOTHING = JsonText("{}")  # an ImportedRecord's "before" when it changed nothing

MODELS: dict[str, Any] = {"accounts": Account, "contacts": Contact, "leads": Lead}
# Fields an import may write on an existing record (never the account a contact belongs to).
UPDATABLE: dict[str, tuple[str, ...]] = {
    "contacts": ("first_name", "last_name", "email", "phone", "job_title", "consent_to_contact", "last_verified_at"),
    "leads": (
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
    ),
    "accounts": ("name", "business_id", "country", "website", "industry", "tier", "territory"),
}


def _chunk_size() -> int:
    return int(getattr(settings, "IMPORTS_CHUNK_SIZE", 2500))


def _require(actor: User) -> None:
    if not can_import(actor):
        raise PermissionDenied("Only sales staff import records.")


# --- Staging and mapping ------------------------------------------------------------------------


def import_stage(*, actor: User, resource: str, stream: IO[bytes], file_name: str) -> ImportJob:
    """Read the file once and stage its rows in chunks; the job waits for its mapping."""
    _require(actor)
    if resource not in MODELS:
        raise ValidationError({"resource": "Choose accounts, contacts or leads."})
    table = read_table(stream, file_name)
    if not any(h.strip() for h in table.headers):
        raise ValidationError("The first row must name the columns.")
    size = _chunk_size()
    with transaction.atomic():
        job = ImportJob.objects.create(
            resource=resource,
            file_name=file_name[:255],
            file_format=table.file_format,
            encoding=table.encoding,
            delimiter=table.delimiter,
            headers=table.headers,
            created_by=actor,
            default_country=str(getattr(settings, "PHONENUMBER_DEFAULT_REGION", "") or "")[:2],
        )
        total, number, first_line = 0, 0, 2
        batch: list[list[str]] = []
        pending: list[ImportChunk] = []
        for cells in table.rows:
            batch.append(cells)
            total += 1
            if len(batch) == size:
                pending.append(ImportChunk(job=job, number=number, first_line=first_line, rows=batch))
                number, first_line, batch = number + 1, first_line + len(batch), []
                if len(pending) >= 20:
                    ImportChunk.objects.bulk_create(pending)
                    pending = []
        if batch:
            pending.append(ImportChunk(job=job, number=number, first_line=first_line, rows=batch))
        ImportChunk.objects.bulk_create(pending)
        if total == 0:
            raise ValidationError("The file has a header row but no records under it.")
        job.total_rows = total
        job.save(update_fields=["total_rows"])
    return job


def import_configure(
    *,
    actor: User,
    job: ImportJob,
    mapping: dict[str, str],
    policy: str,
    default_country: str = "",
    date_format: str = "%Y-%m-%d",
    save_as: str = "",
) -> ImportJob:
    """Set the job's mapping and options (while it is a draft); optionally save the mapping by name."""
    _require(actor)
    if job.status != ImportJob.Status.DRAFT:
        raise BusinessRuleViolation("This import has started; its mapping can no longer change.")
    known = {t.key for t in targets_for(job.resource)}
    width = len(job.headers)
    mapping = {str(k): v for k, v in mapping.items() if v and v in known and k.isdecimal() and int(k) < width}
    errors = mapping_errors(job.resource, mapping)
    if policy not in DuplicatePolicy.values:
        errors.append("Choose what to do with duplicates.")
    if date_format not in DATE_FORMATS:
        errors.append("Choose one of the date formats offered.")
    if errors:
        raise ValidationError(errors)
    from imports.mapping import header_key

    with transaction.atomic():
        job.mapping, job.policy = mapping, policy
        job.default_country, job.date_format = (default_country or "").upper()[:2], date_format
        job.save(update_fields=["mapping", "policy", "default_country", "date_format"])
        if save_as.strip():
            columns = {header_key(job.headers[int(i)]): target for i, target in mapping.items()}
            ImportMapping.objects.update_or_create(
                resource=job.resource, name=save_as.strip()[:100], defaults={"columns": columns, "created_by": actor}
            )
    return job


def import_start(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the job (once: a second click or a retried request queues nothing more)."""
    _require(actor)
    errors = mapping_errors(job.resource, job.mapping)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
            status=ImportJob.Status.QUEUED
        )
        job.refresh_from_db()
        if claimed:
            audit_record(
                actor=actor,
                action="imports.import.started",
                target=job,
                data={
                    "resource": job.resource,
                    "file_name": job.file_name,
                    "rows": job.total_rows,
                    "policy": job.policy,
                },
            )
            from imports.tasks import import_run_task

            transaction.on_commit(lambda: import_run_task.delay(job.pk))
    return job


# --- Running ------------------------------------------------------------------------------------


def import_run(*, job_id: int) -> ImportJob | None:
    """Process every chunk not yet done, in order; then close the job. Safe to run again."""
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, started_at=timezone.now(), progressed_at=timezone.now())
    if not claimed:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    with acting_through(Channel.IMPORT, job=f"import {job.pk}: {job.file_name}"[:200]), _Run(job) as run:
        while True:
            with transaction.atomic():
                _commit_without_flush_wait()
                chunk = (
                    ImportChunk.objects.select_for_update(skip_locked=True)
                    .filter(job=job, done=False)
                    .defer("rows")  # read ahead, most often (else read when asked for)
                    .order_by("number")
                    .first()
                )
                if chunk is None:
                    break
                rows = run.rows_of(chunk)
                run.read_ahead(chunk)
                _process_chunk(job, chunk, rows, run)
        with transaction.atomic():
            if ImportChunk.objects.filter(job=job, done=False).exists():
                return job  # another worker holds the last chunk; it closes the job
            done = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
                status=ImportJob.Status.DONE, finished_at=timezone.now()
            )
            job.refresh_from_db()
            if done:
                audit_record(
                    actor=job.created_by,
                    action="imports.import.finished",
                    target=job,
                    data={
                        "created": job.created_count,
                        "updated": job.updated_count,
                        "skipped": job.skipped_count,
                        "failed": job.failed_count,
                    },
                )
    return job


def _commit_without_flush_wait() -> None:
    """Let this chunk's COMMIT return before its WAL reaches the disk (PostgreSQL).

    A chunk's rows and the mark that it is done commit together, so a server crash in the
    fraction of a second before the flush loses both: the resumed job does that chunk again,
    and nothing is half-imported or imported twice. Waiting for the flush was ~6 % of a run.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class _Run:
    """What one worker keeps between the chunks of a run.

    - The next chunk's rows are normalised on a helper thread while this chunk's statements
      run (the database works while Python waits; normalising is a fifth of a chunk's Python).
      Only pure computation happens there: custom fields, which read their definitions, are
      checked here, on the thread that holds the connection and the chunk's transaction.
    - Labels of the accounts and owners that history rows name, read once per run.
    - The history of the records a chunk creates is worked out on the helper thread during
      their INSERT (it needs their values, not their ids).
    None of it can make a chunk wrong after a rollback: rows are normalised from the chunk's own
    cells (the same result whoever does it), and a label is only a record's name.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.options = Options(default_country=job.default_country, date_format=job.date_format)
        self.labels: dict[tuple[type[Model], Any], str] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[list[Row]]] | None = None

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run pure computation on a helper thread (it runs while this thread waits on the database)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"import-{self.job.pk}")
        return self._pool.submit(fn, *args)

    def _normalise(self, first_line: int, cells: list[list[str]] | str, custom_fields: bool) -> list[Row]:
        job, options = self.job, self.options
        table: list[list[str]] = json.loads(cells) if isinstance(cells, str) else cells  # as the database sent them
        return [
            normalise_row(
                job.resource, Row(line=first_line + i, cells=row), job.mapping, options, custom_fields=custom_fields
            )
            for i, row in enumerate(table)
        ]

    def rows_of(self, chunk: ImportChunk) -> list[Row]:
        """The chunk's rows normalised: read ahead during the previous chunk, or now."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != chunk.pk:
            return self._normalise(chunk.first_line, chunk.rows, custom_fields=True)
        return [normalise_custom(self.job.resource, row) for row in ahead[1].result()]

    def read_ahead(self, chunk: ImportChunk) -> None:
        """Start normalising the chunk after ``chunk`` (if any) on the helper thread."""
        # The rows as JSON text: decoding them is the helper's work too.
        following = (
            ImportChunk.objects.filter(job=self.job, done=False, number__gt=chunk.number)
            .annotate(text=Cast("rows", TextField()))
            .order_by("number")
            .values_list("pk", "first_line", "text")
            .first()
        )
        if following is None:
            return
        pk, first_line, cells = following
        self._ahead = (pk, self.submit(self._normalise, first_line, cells, False))


@dataclass
class _Outcome:
    created: list[tuple[int, Row, dict[str, Any]]] = field(default_factory=list)
    created_history: list[HistoryRow] = field(default_factory=list)
    updated: list[tuple[Model, Row, dict[str, Any]]] = field(default_factory=list)
    skipped: list[tuple[int, Row]] = field(default_factory=list)
    failed: list[tuple[Row, str]] = field(default_factory=list)
    flagged: list[tuple[int, Match]] = field(default_factory=list)
    accounts_created: list[Account] = field(default_factory=list)
    rows: int = 0  # the chunk's rows, whatever became of them


def _process_chunk(job: ImportJob, chunk: ImportChunk, rows: list[Row], run: _Run) -> None:
    outcome = _Outcome(rows=len(rows))
    for row in rows:
        if not row.ok:
            outcome.failed.append((row, " ".join(row.errors)))
    good = [row for row in rows if row.ok]
    good = _resolve_owners(job, good, outcome)
    if job.resource == "contacts":
        good = _resolve_accounts(job, good, outcome)
    # A row repeating an earlier one of the same chunk waits for it: the earlier row's record is
    # in the database by then, so the repeat meets it there like any other duplicate.
    pending = good
    while pending:
        first: list[Row] = []
        repeats: list[Row] = []
        seen: set[str] = set()
        for row in pending:
            keys = _row_keys(job.resource, row)
            if keys & seen:
                repeats.append(row)
            else:
                first.append(row)
                seen |= keys
        _apply_rows(job, first, outcome, run)
        pending = repeats
    _write_outcome(job, chunk, outcome)


def _row_keys(resource: str, row: Row) -> set[str]:
    v = row.values
    keys = set()
    if v.get("email"):
        keys.add("e:" + v["email"].upper())
    if resource == "accounts":
        if v.get("business_id"):
            keys.add("b:" + v["business_id"].upper())
        keys.add("n:" + v["name"].upper())
    else:
        group = v.get("account_id") or v.get("company_name") or ""
        if group:
            keys.add(f"n:{group}:{v.get('first_name', '')} {v['last_name']}".upper())
    return keys


def _resolve_owners(job: ImportJob, rows: list[Row], outcome: _Outcome) -> list[Row]:
    emails = {row.values["owner"] for row in rows if row.values.get("owner")}
    owners = {}
    if emails:
        found = User.objects.filter(is_staff=True, is_active=True).annotate(e=Upper("email"))
        owners = {u.email.lower(): u for u in found.filter(e__in=[e.upper() for e in emails])}
    kept = []
    for row in rows:
        email = row.values.pop("owner", "")
        if email and email not in owners:
            outcome.failed.append((row, f"Owner: no active staff user has the email {email}."))
            continue
        row.values["owner_id"] = owners[email].pk if email else None
        kept.append(row)
    return kept


def _resolve_accounts(job: ImportJob, rows: list[Row], outcome: _Outcome) -> list[Row]:
    """Each contact's account: by business id (any spelling) or name, through the one account matcher."""
    from crm.matching import account_match

    # Exact spellings first, through the unique index (an UPPER() lookup would read every account);
    # any other spelling goes to the matcher below, once per distinct account of the chunk.
    wanted = {row.values["account_business_id"] for row in rows if row.values.get("account_business_id")}
    by_id = {
        str(business_id).upper(): (pk, owner_id)
        for pk, business_id, owner_id in Account.objects.filter(
            business_id__in={spelling for b in wanted for spelling in (b, b.upper())}
        ).values_list("pk", "business_id", "owner_id")
    }
    resolved: dict[tuple[str, str, str], tuple[int, int] | None] = {}
    kept = []
    for row in rows:
        v = row.values
        business_id, name, country = (
            v.pop("account_business_id", ""),
            v.pop("account", ""),
            v.pop("account_country", ""),
        )
        key = (business_id.upper(), name.upper(), country)
        if key not in resolved:
            account = by_id.get(business_id.upper()) if business_id else None
            if account is None:
                match = account_match(business_id=business_id, company_name=name, country=country)
                # A similar name links only when it is nearly the same name; else it is another company.
                if match is not None and (match.conclusive or match.score >= 0.8):
                    account = (match.account.pk, match.account.owner_id)
            if account is None and name:
                new, created = account_create_for_company(
                    actor=job.created_by,
                    name=name,
                    owner=job.created_by,
                    source={"via": "import", "import": job.pk},
                    business_id=business_id,
                    country=country,
                )
                if created:
                    outcome.accounts_created.append(new)
                account = (new.pk, new.owner_id)
            resolved[key] = account
        account = resolved[key]
        if account is None:
            outcome.failed.append(
                (row, f"Account: no account has the business id {business_id}; add its name to create it.")
            )
            continue
        v["account_id"], owner_id = account
        if not v.get("owner_id"):
            v["owner_id"] = owner_id
        kept.append(row)
    return kept


def _probe(resource: str, row: Row) -> dict[str, Any]:
    v = row.values
    if resource == "accounts":
        return {"name": v.get("name"), "business_id": v.get("business_id"), "country": v.get("country")}
    return {k: v.get(k) for k in ("email", "first_name", "last_name", "account_id", "company_name")}


def _label(resource: str, v: dict[str, Any]) -> str:
    """What ``str(record)`` says of a record with these values (the history names it so)."""
    if resource == "accounts":
        return str(v.get("name", ""))
    name = f"{v.get('first_name', '')} {v.get('last_name', '')}".strip()
    if resource == "leads" and v.get("company_name"):
        return f"{name} ({v['company_name']})"
    return name


def _new_values(job: ImportJob, row: Row, now: dt.datetime) -> dict[str, Any]:
    """The row's record as columns (attnames) to INSERT; the fields it leaves out take their defaults."""
    values = dict(row.values)
    values["owner_id"] = values.pop("owner_id", None) or job.created_by_id
    if job.resource == "contacts":
        if values.get("last_verified_at"):
            values["verification_method"] = Contact.VerificationMethod.IMPORT.value
        if values.get("consent_to_contact"):
            values["consent_updated_at"] = now
    if job.resource == "accounts":
        values["business_id"] = values.get("business_id") or None
    if row.custom:
        values["custom_fields"] = row.custom
    return values


def _insert_new(job: ImportJob, rows: list[Row], run: _Run, outcome: _Outcome) -> None:
    """One INSERT … SELECT … RETURNING id for the chunk's new records: no model instance per row."""
    model = MODELS[job.resource]
    now = timezone.now()
    values = [_new_values(job, row, now) for row in rows]
    routed = _route_new_leads(job, rows, values)
    if len(run.labels) > LABELS_KEPT:  # a file naming a new account on every row: memory stays flat
        run.labels.clear()
    history_read_labels(model, values, run.labels)  # mostly known already: no query
    history = run.submit(_creation_history, model, job.resource, values, dict(run.labels))
    columns = sorted({key for v in values for key in v})
    fields = {name: _model_field(model, name) for name in columns}
    defaults = {name: (f.get_default() if f.has_default() or not f.null else None) for name, f in fields.items()}
    ids = insert_rows(
        model,
        columns,
        [tuple(v.get(name, defaults[name]) for name in columns) for v in values],
        {"created_at": now, "updated_at": now},
    )
    if routed is not None:
        leads, indexes, routing = routed
        for lead, index in zip(leads, indexes, strict=True):
            lead.pk = ids[index]
        leads_routed_record(leads=leads, routing=routing, actor=job.created_by)
    outcome.created.extend(zip(ids, rows, values, strict=True))
    outcome.created_history.extend(
        (pk, label, kind, diff) for pk, (_none, label, kind, diff) in zip(ids, history.result(), strict=True)
    )


def _creation_history(
    model: Any, resource: str, values: list[dict[str, Any]], labels: dict[tuple[type[Model], Any], str]
) -> list[HistoryRow]:
    """The created records' history rows, ready to write (pure: runs on the helper thread)."""
    changes = history_changes(model, [(None, _label(resource, v), None, v) for v in values])
    dumps = json.dumps
    return [
        (pk, label, kind, JsonText(dumps(diff)))
        for pk, label, kind, diff in history_name_references(model, changes, labels)
    ]


def _route_new_leads(
    job: ImportJob, rows: list[Row], values: list[dict[str, Any]]
) -> tuple[list[Lead], list[int], Any] | None:
    """Leads whose row names no owner go to whom the assignment rules pick (territories), set-based:
    the picked owner replaces the importer in the chunk's INSERT; the assignments are audited after it."""
    if job.resource != "leads":
        return None
    indexes = [i for i, row in enumerate(rows) if not row.values.get("owner_id")]
    if not indexes:
        return None
    leads = [Lead(**values[i]) for i in indexes]
    routing = leads_route_batch(leads=leads)
    if not routing.by_index:
        return None
    for lead, index in zip(leads, indexes, strict=True):
        values[index]["owner_id"] = lead.owner_id
    picked = sorted(routing.by_index)
    routing.by_index = {n: routing.by_index[i] for n, i in enumerate(picked)}
    return [leads[i] for i in picked], [indexes[i] for i in picked], routing


def _model_field(model: Any, name: str) -> Any:
    return next(f for f in model._meta.concrete_fields if name in (f.attname, f.name))


def _apply_rows(job: ImportJob, rows: list[Row], outcome: _Outcome, run: _Run) -> None:
    if not rows:
        return
    model = MODELS[job.resource]
    matches = MATCHERS[MODEL_LABELS[job.resource]]([_probe(job.resource, row) for row in rows])
    to_create: list[Row] = []
    flags: list[list[Match]] = []
    to_update: list[tuple[int, Row]] = []
    for row, found in zip(rows, matches, strict=True):
        best = max(found.values(), key=lambda m: (m.score, -m.record_id), default=None)
        if best is None or job.policy == DuplicatePolicy.CREATE_FLAG:
            to_create.append(row)
            flags.append(list(found.values()))
        elif job.policy == DuplicatePolicy.SKIP:
            outcome.skipped.append((best.record_id, row))
        else:
            to_update.append((best.record_id, row))
    if to_create:
        already = len(outcome.created)
        _insert_new(job, to_create, run, outcome)
        outcome.flagged.extend(
            (pk, match)
            for (pk, _row, _v), found in zip(outcome.created[already:], flags, strict=True)
            for match in found
        )
    if to_update:
        existing = model._base_manager.select_for_update().in_bulk([pk for pk, _row in to_update])
        changed_fields: set[str] = set()
        changed_records = []
        for pk, row in to_update:
            record = existing[pk]
            before = {}
            snapshot = history_snapshot(record)
            for name in UPDATABLE[job.resource]:
                if name not in row.values:
                    continue
                current = getattr(record, name)
                empty = current in (None, "", 0, False) or (name == "phone" and not str(current or ""))
                if job.policy == DuplicatePolicy.UPDATE_EMPTY and not empty:
                    continue
                new = row.values[name]
                if str(current or "") == str(new or ""):
                    continue
                model_field: Any = model._meta.get_field(name)
                before[name] = model_field.value_to_string(record)
                setattr(record, name, new)
                changed_fields.add(name)
            if row.custom and hasattr(record, "custom_fields"):
                merged = dict(record.custom_fields or {})
                for key, value in row.custom.items():
                    if job.policy == DuplicatePolicy.OVERWRITE or merged.get(key) in (None, ""):
                        before.setdefault("custom_fields", dict(record.custom_fields or {}))
                        merged[key] = value
                if merged != record.custom_fields:
                    record.custom_fields = merged
                    changed_fields.add("custom_fields")
            if before:
                if isinstance(record, Contact) and "last_verified_at" in before:
                    before["verification_method"] = record.verification_method  # an undo puts it back
                    record.verification_method = Contact.VerificationMethod.IMPORT
                    changed_fields |= {"verification_method"}
                record.updated_at = timezone.now()
                changed_records.append(record)
                outcome.updated.append((record, row, {"before": before, "snapshot": snapshot}))
            else:
                outcome.skipped.append((pk, row))
        if changed_records:
            # One UPDATE … FROM unnest (core.set_update, as the undo puts them back), not bulk_update's
            # CASE WHEN with a branch per record for every field.
            written = [model._meta.get_field(name).attname for name in [*sorted(changed_fields), "updated_at"]]
            update_rows(model, written, [(r.pk, *(getattr(r, a) for a in written)) for r in changed_records])


def _write_outcome(job: ImportJob, chunk: ImportChunk, outcome: _Outcome) -> None:
    """What the chunk did, in a few statements: its records, failures, history, pairs, counts."""
    label = MODEL_LABELS[job.resource]
    actor = job.created_by
    insert_rows(
        ImportedRecord,
        ["record_type", "record_id", "action", "line", "before"],
        [
            *(("crm.account", a.pk, "created", None, {}) for a in outcome.accounts_created),
            *((label, pk, "created", row.line, _NOTHING) for pk, row, _v in outcome.created),
            *((label, r.pk, "updated", row.line, b["before"]) for r, row, b in outcome.updated),
            *((label, pk, "skipped", row.line, {}) for pk, row in outcome.skipped),
        ],
        {"job": job.pk},
    )
    insert_rows(
        ImportFailure,
        ["line", "row", "reason"],
        [(row.line, row.cells, reason) for row, reason in outcome.failed],
        {"job": job.pk},
    )
    model = MODELS[job.resource]
    # Workflow rules hear of imported records as of any others (a rule on "contact created").
    history_insert(actor=actor, model=model, rows=outcome.created_history, notify=True)
    history_record_many(actor=actor, items=[(record, extra["snapshot"]) for record, _row, extra in outcome.updated])
    if outcome.flagged:
        pairs = []
        for pk, match in outcome.flagged:
            first, second = sorted((pk, match.record_id))
            pairs.append(
                DuplicatePair(
                    record_type=label,
                    first_id=first,
                    second_id=second,
                    score=match.score,
                    reasons=match.reasons,
                    source=DuplicatePair.Source.IMPORT,
                )
            )
        DuplicatePair.objects.bulk_create(pairs, ignore_conflicts=True)
    noun = label.split(".")[1]
    if outcome.created:
        # Read only when an endpoint subscribes to the event.
        created = model._base_manager.filter(pk__in=[pk for pk, _row, _v in outcome.created]).order_by("pk")
        webhook_emit_records(f"{noun}.created", created)
    if noun != "lead":
        webhook_emit_records(f"{noun}.updated", [record for record, _row, _b in outcome.updated])
    ImportJob.objects.filter(pk=job.pk).update(
        processed_rows=F("processed_rows") + outcome.rows,
        created_count=F("created_count") + len(outcome.created),
        updated_count=F("updated_count") + len(outcome.updated),
        skipped_count=F("skipped_count") + len(outcome.skipped),
        failed_count=F("failed_count") + len(outcome.failed),
        progressed_at=timezone.now(),
    )
    ImportChunk.objects.filter(pk=chunk.pk).update(done=True, rows=[])  # failed rows are kept, with their reason


# --- Undo (a job of its own: imports/undo.py) ------------------------------------------------------


def import_undo(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the undo of a finished import (``imports.undo`` does it, chunk by chunk, in a task)."""
    from imports import undo

    return undo.import_undo(actor=actor, job=job)


def import_undo_allowed(job: ImportJob) -> tuple[bool, str]:
    """For the result page: may the undo button show, and if not, why."""
    from imports import undo

    return undo.import_undo_allowed(job)


def imports_resume_stalled(*, stall_seconds: int | None = None) -> int:
    """Queue the run again for imports a lost worker left running (its chunk rolled back)."""
    from imports.tasks import import_run_task

    seconds = settings.IMPORTS_STALL_SECONDS if stall_seconds is None else stall_seconds
    cutoff = timezone.now() - dt.timedelta(seconds=seconds)
    stalled = list(
        ImportJob.objects.filter(status=ImportJob.Status.RUNNING, progressed_at__lt=cutoff).values_list("pk", flat=True)
    )
    for pk in stalled:
        import_run_task.delay(pk)
    return len(stalled)
