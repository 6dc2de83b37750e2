"""Writing record history: the services that change a record call these in their transaction.

Explicit, like ``iam.audit.audit_record``: a service takes a ``history_snapshot`` of the row it
read before changing it, changes it, and calls ``history_record`` (or ``history_record_many`` for
a set of records, one INSERT). Who acted is the ``actor`` argument; through what (channel, job)
and with which credential (an API key) come from ``core.context``, set at the edge.

Only changed fields are kept, each as ``{"old": …, "new": …}`` in readable JSON. A reference
(foreign key) is stored as ``{"id": …, "label": …}``; labels are read only for references that
changed, from the object already loaded when there is one, else in one query per model.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from core.context import current_channel, current_credential, current_job
from history.models import RecordChange

if TYPE_CHECKING:
    from iam.models import User

# The record's custom field values (customfields): tracked key by key.
CUSTOM_FIELDS = "custom_fields"
# Never a change anyone made: the row's id and its timestamps.
UNTRACKED_FIELDS = frozenset({"id", "created_at", "updated_at"})
# State the system derives or keeps as bookkeeping, moved along by set-based jobs that write no
# history (the freshness recompute, bounce marking, reconfirmation sending). Showing it only
# when a service happens to touch the row would make a misleading timeline.
DERIVED_FIELDS: dict[str, frozenset[str]] = {
    "crm.contact": frozenset({"freshness", "last_reconfirmation_sent_at", "email_bounced_at"}),
}


@cache
def tracked_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    skip = UNTRACKED_FIELDS | DERIVED_FIELDS.get(model._meta.label_lower, frozenset())
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key and f.name not in skip)


def _plain(model_field: models.Field[Any, Any], value: Any) -> Any:
    """A field's value as readable JSON that compares equal exactly when the values are equal."""
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, Decimal):
        places = getattr(model_field, "decimal_places", None)
        return str(value.quantize(Decimal(1).scaleb(-places)) if places is not None else value)
    if isinstance(value, dt.datetime):
        # One instant, one string: a form's local time and the database's UTC compare equal.
        return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)  # phone numbers (E.164), countries (their code), anything else with a text form


@dataclass
class Snapshot:
    """A record's tracked values at one moment; references by id, with their objects if loaded."""

    model: type[models.Model]
    pk: Any
    label: str
    values: dict[str, Any]
    related: dict[str, models.Model] = field(default_factory=dict)


def history_snapshot(record: models.Model, **was: Any) -> Snapshot:
    """The record's tracked values now. Take it of the row as read, before changing it.

    ``was`` overrides values by field name, for a set-based UPDATE whose WHERE says what they
    were (``history_snapshot(contract, status="active")`` of a contract the job just expired).
    """
    values: dict[str, Any] = {}
    related: dict[str, models.Model] = {}
    for f in tracked_fields(type(record)):
        value = was[f.name] if f.name in was else getattr(record, f.attname)
        if f.name == CUSTOM_FIELDS and isinstance(value, dict):
            # One entry per custom field ("custom_fields.tier"), so the history names what changed.
            for key, item in value.items():
                values[f"{CUSTOM_FIELDS}.{key}"] = item
        elif isinstance(f, models.ForeignKey):
            values[f.name] = value
            cached = f.get_cached_value(record, default=None) if value is not None else None
            if cached is not None:
                related[f.name] = cached
        else:
            values[f.name] = _plain(f, value)
    return Snapshot(model=type(record), pk=record.pk, label=str(record)[:254], values=values, related=related)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _diff(before: Snapshot | None, after: Snapshot | None) -> dict[str, dict[str, Any]]:
    if before is None:  # created: the initial values
        return {
            name: {"old": None, "new": v} for name, v in (after.values if after else {}).items() if not _is_empty(v)
        }
    if after is None:  # deleted: the last values
        return {name: {"old": v, "new": None} for name, v in before.values.items() if not _is_empty(v)}
    changes = {
        name: {"old": before.values.get(name), "new": value}
        for name, value in after.values.items()
        if before.values.get(name) != value
    }
    for name, value in before.values.items():  # a custom field value cleared: its key is gone
        if name not in after.values and not _is_empty(value):
            changes[name] = {"old": value, "new": None}
    return changes


def _target(f: models.ForeignKey[Any, Any]) -> type[models.Model]:
    model = f.related_model
    if not isinstance(model, type):  # "self" or a string: only before the app registry is ready
        raise TypeError(f"{f} refers to an unresolved model.")
    return model


@dataclass
class _Pending:
    """Changes waiting for the labels of the references they hold."""

    rows: list[tuple[RecordChange, list[tuple[str, str, type[models.Model], Snapshot]]]] = field(default_factory=list)

    def add(self, row: RecordChange, before: Snapshot | None, after: Snapshot | None) -> None:
        subject = after if after is not None else before
        if subject is None:
            return
        refs = []
        for f in tracked_fields(subject.model):
            if isinstance(f, models.ForeignKey) and f.name in row.changes:
                for side, snapshot in (("old", before), ("new", after)):
                    if snapshot is not None and row.changes[f.name][side] is not None:
                        refs.append((f.name, side, _target(f), snapshot))
        self.rows.append((row, refs))

    def resolve(self) -> list[RecordChange]:
        """Turn each reference id into ``{"id", "label"}``: loaded objects first, then one query per model."""
        wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        for row, refs in self.rows:
            for name, side, target, snapshot in refs:
                obj = snapshot.related.get(name)
                if obj is None or obj.pk != row.changes[name][side]:
                    wanted[target].add(row.changes[name][side])
        found = {model: model._base_manager.in_bulk(ids) for model, ids in wanted.items()}
        for row, refs in self.rows:
            for name, side, target, snapshot in refs:
                pk = row.changes[name][side]
                obj = snapshot.related.get(name)
                if obj is None or obj.pk != pk:
                    obj = found[target].get(pk)
                row.changes[name][side] = {"id": pk, "label": str(obj)[:254] if obj is not None else ""}
        return [row for row, _refs in self.rows]


def _actor_label(actor: User | None) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "email", "") or str(actor)


def _row(
    *,
    actor: User | None,
    kind: str,
    before: Snapshot | None,
    after: Snapshot | None,
    also: dict[str, dict[str, Any]] | None = None,
) -> RecordChange | None:
    changes = {**_diff(before, after), **(also or {})}
    if kind == RecordChange.Kind.UPDATED and not changes:
        return None  # saved as it was: nothing to tell
    subject = after or before
    assert subject is not None
    credential = current_credential()
    return RecordChange(
        record_type=subject.model._meta.label_lower,
        record_id=subject.pk,
        record_label=subject.label,
        kind=kind,
        changes=changes,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=_actor_label(actor)[:254],
        credential=credential.label[:254] if credential is not None else "",
        credential_reference=credential.reference if credential is not None else {},
        channel=current_channel(),
        job=current_job()[:200],
    )


def _kind(before: Snapshot | None, deleted: bool) -> str:
    if deleted:
        return RecordChange.Kind.DELETED
    return RecordChange.Kind.CREATED if before is None else RecordChange.Kind.UPDATED


def history_record(
    *,
    actor: User | None,
    record: models.Model,
    before: Snapshot | None = None,
    deleted: bool = False,
    also: dict[str, dict[str, Any]] | None = None,
) -> RecordChange | None:
    """Append the change of one record, in the caller's transaction.

    ``before`` is the snapshot taken before an update; none means ``record`` was just created.
    With ``deleted=True``, ``record`` is about to be deleted: call this before deleting it (its
    last values are kept). ``also`` adds ``{"name": {"old": …, "new": …}}`` changes of what is
    not a field of the model (an account's email domains). An update that changed nothing
    writes nothing and returns None.
    """
    return _write(actor=actor, items=[(record, before)], deleted=deleted, also=also)[0]


def history_record_many(
    *,
    actor: User | None,
    items: Iterable[tuple[models.Model, Snapshot | None]],
    deleted: bool = False,
) -> int:
    """``history_record`` for many ``(record, before)`` pairs in one INSERT: for set-based writes."""
    return sum(1 for row in _write(actor=actor, items=items, deleted=deleted) if row is not None)


def _write(
    *,
    actor: User | None,
    items: Iterable[tuple[models.Model, Snapshot | None]],
    deleted: bool,
    also: dict[str, dict[str, Any]] | None = None,
) -> list[RecordChange | None]:
    pending = _Pending()
    rows: list[RecordChange | None] = []
    for record, before in items:
        kind = _kind(before, deleted)
        now = history_snapshot(record)
        old, new = (now, None) if deleted else (before, now)
        row = _row(actor=actor, kind=kind, before=old, after=new, also=also)
        rows.append(row)
        if row is not None:
            pending.add(row, old, new)
    to_save = pending.resolve()
    if len(to_save) == 1:
        to_save[0].save()
    elif to_save:
        RecordChange.objects.bulk_create(to_save, batch_size=1000)
    if to_save:
        # Workflow rules on created/changed records run once this commits (nothing is read now).
        from workflows.triggers import history_written

        history_written(to_save)
    return rows


@cache
def _plan(model: type[models.Model]) -> tuple[tuple[models.Field[Any, Any], str, str, int, Any], ...]:
    """Per tracked field: the field, its attname, its name, what it is (0 plain, 1 reference, 2 custom), its default."""
    return tuple(
        (
            f,
            f.attname,
            f.name,
            2 if f.name == CUSTOM_FIELDS else 1 if isinstance(f, models.ForeignKey) else 0,
            f.get_default() if f.has_default() and not callable(f.default) else None,
        )
        for f in tracked_fields(model)
    )


def _values_snapshot(model: type[models.Model], pk: Any, label: str, values: dict[str, Any], fill: bool) -> Snapshot:
    """A snapshot from plain values by attname (or name); with ``fill``, the fields not given take their default."""
    out: dict[str, Any] = {}
    for f, attname, name, what, default in _plan(model):
        if attname in values:
            value = values[attname]
        elif name in values:
            value = values[name]
            if what == 1 and isinstance(value, models.Model):
                value = value.pk
        elif fill:
            value = f.get_default() if f.has_default() and callable(f.default) else default
        else:
            continue
        if what == 2 and isinstance(value, dict):
            for key, item in value.items():
                out[f"{CUSTOM_FIELDS}.{key}"] = item
        elif what == 1 or value is None or type(value) in (str, bool, int):
            out[name] = value
        else:
            out[name] = _plain(f, value)
    return Snapshot(model=model, pk=pk, label=label[:254], values=out)


class _Creations:
    """The changes of created rows, from their values, without a snapshot and a diff each.

    What ``_values_snapshot(fill=True)`` and ``_diff(None, …)`` give together: every tracked field
    not empty, those the values leave out at their default. The defaults' part depends only on
    which keys a row gives, so it is worked out once per set of keys (an import's rows share a
    few), and each row then costs a pass over its own values, not over every tracked field.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.plan = _plan(model)
        self.by_key: dict[str, tuple[models.Field[Any, Any], str, int]] = {}
        for f, attname, name, what, _default in self.plan:
            self.by_key[name] = self.by_key[attname] = (f, name, what)
        self._left_out: dict[frozenset[str], tuple[dict[str, Any], list[tuple[models.Field[Any, Any], str, int]]]] = {}

    def _defaults(self, keys: frozenset[str]) -> tuple[dict[str, Any], list[tuple[models.Field[Any, Any], str, int]]]:
        """For rows giving ``keys``: the fields left out with a fixed default, and those whose default is computed."""
        known = self._left_out.get(keys)
        if known is None:
            fixed: dict[str, Any] = {}
            computed = []
            for f, attname, name, what, default in self.plan:
                if attname in keys or name in keys:
                    continue
                if f.has_default() and callable(f.default):
                    computed.append((f, name, what))
                else:
                    self._put(fixed, name, what, f, default)
            known = self._left_out[keys] = (fixed, computed)
        return known

    @staticmethod
    def _put(out: dict[str, Any], name: str, what: int, f: models.Field[Any, Any], value: Any) -> None:
        if what == 2 and isinstance(value, dict):
            for key, item in value.items():
                if not _is_empty(item):
                    out[f"{CUSTOM_FIELDS}.{key}"] = {"old": None, "new": item}
            return
        if what != 1 and value is not None and type(value) not in (str, bool, int):
            value = _plain(f, value)
        if not _is_empty(value):
            out[name] = {"old": None, "new": value}

    def changes(self, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
        fixed, computed = self._defaults(frozenset(values))
        out = {name: dict(change) for name, change in fixed.items()}
        for f, name, what in computed:
            self._put(out, name, what, f, f.get_default())
        by_key = self.by_key
        for key, value in values.items():
            spec = by_key.get(key)
            if spec is None:
                continue
            f, name, what = spec
            if key != f.attname and f.attname in values:
                continue  # given both ways: the attname wins, as in a snapshot
            if what == 1 and isinstance(value, models.Model):
                value = value.pk
            self._put(out, name, what, f, value)
        return out


Change = tuple[Any, str, str, dict[str, dict[str, Any]]]  # (pk, label, kind, changes)
HistoryRow = tuple[Any, str, str, Any]  # the same, its changes a dict or already serialised


def history_record_rows(
    *,
    actor: User | None,
    model: type[models.Model],
    rows: Iterable[tuple[Any, str, dict[str, Any] | None, dict[str, Any] | None]],
    labels: dict[tuple[type[models.Model], Any], str] | None = None,
    notify: bool = False,
) -> int:
    """History of rows a set-based statement wrote, without a model instance each: one INSERT.

    Each row is ``(pk, label, before, after)``, the values by field attname (a reference by its
    id) as stored: ``before`` None for a creation (``after`` holds the values written, every
    other tracked field its default), ``after`` None for a deletion (``before`` the row as it
    was), both for an update (only the fields they name are compared). ``label`` is what
    ``str(record)`` says. The rows written are those ``history_record`` would write.

    ``labels`` is a cache of referenced records' labels, by (model, id), that the caller keeps
    across calls: a job writing many sets that refer to the same few accounts and owners (an
    import: a thousand contacts per chunk, the same accounts chunk after chunk) reads each
    label once, not once per call. It is filled with what this call had to read. With ``notify``,
    workflow rules hear of the rows after commit, as they do of ``history_record``'s.
    """
    return history_write_changes(
        actor=actor, model=model, changes=history_changes(model, rows), labels=labels, notify=notify
    )


def history_changes(
    model: type[models.Model], rows: Iterable[tuple[Any, str, dict[str, Any] | None, dict[str, Any] | None]]
) -> list[Change]:
    """The changes ``history_record_rows`` writes, worked out without the database.

    Pure computation on the values given, so a job may do it on a helper thread while its
    connection runs a statement (an import works out a chunk's history during its INSERT).
    References are still bare ids here; :func:`history_write_changes` names them.
    """
    pending: list[Change] = []
    creations: _Creations | None = None
    for pk, label, before_values, after_values in rows:
        if not before_values and after_values is not None:
            creations = creations or _Creations(model)
            pending.append((pk, label, RecordChange.Kind.CREATED, creations.changes(after_values)))
            continue
        before = _values_snapshot(model, pk, label, before_values, after_values is None) if before_values else None
        after = _values_snapshot(model, pk, label, after_values, before is None) if after_values is not None else None
        kind = _kind(before, deleted=after is None)
        changes = _diff(before, after)
        if kind == RecordChange.Kind.UPDATED and not changes:
            continue
        pending.append((pk, label, kind, changes))
    return pending


def history_write_changes(
    *,
    actor: User | None,
    model: type[models.Model],
    changes: list[Change],
    labels: dict[tuple[type[models.Model], Any], str] | None = None,
    notify: bool = False,
) -> int:
    """Write what :func:`history_changes` worked out, its references named: one INSERT."""
    if not changes:
        return 0
    known = labels if labels is not None else {}
    refs = _references(model)
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for *_item, diff in changes:
        for f, target in refs:
            if f.name in diff:
                for side in ("old", "new"):
                    if diff[f.name][side] is not None:
                        wanted[target].add(diff[f.name][side])
    _read_labels(wanted, known)
    return history_insert(actor=actor, model=model, rows=history_name_references(model, changes, known), notify=notify)


def _references(model: type[models.Model]) -> list[tuple[models.ForeignKey[Any, Any], type[models.Model]]]:
    return [(f, _target(f)) for f in tracked_fields(model) if isinstance(f, models.ForeignKey)]


def _read_labels(wanted: dict[type[models.Model], set[Any]], labels: dict[tuple[type[models.Model], Any], str]) -> None:
    """Add to ``labels`` what ``str()`` says of each wanted record not in it yet: one query per model."""
    for target, ids in wanted.items():
        missing = [pk for pk in ids if (target, pk) not in labels]
        if missing:
            found = target._base_manager.in_bulk(missing)
            labels.update({(target, pk): str(found[pk])[:254] if pk in found else "" for pk in missing})


def history_read_labels(
    model: type[models.Model], values: Iterable[dict[str, Any]], labels: dict[tuple[type[models.Model], Any], str]
) -> None:
    """Read into ``labels`` the records these rows' values refer to (by attname), for
    :func:`history_name_references` to name them without the database."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    refs = _references(model)
    for row in values:
        for f, target in refs:
            ref = row.get(f.attname)
            if ref is not None:
                wanted[target].add(ref)
    _read_labels(wanted, labels)


def history_name_references(
    model: type[models.Model], changes: list[Change], labels: dict[tuple[type[models.Model], Any], str]
) -> list[Change]:
    """References in the changes as ``{"id", "label"}``, from ``labels`` (which must hold them)."""
    refs = _references(model)
    for *_item, diff in changes:
        for f, target in refs:
            if f.name not in diff:
                continue
            for side in ("old", "new"):
                ref = diff[f.name][side]
                if ref is not None:
                    diff[f.name][side] = {"id": ref, "label": labels[(target, ref)]}
    return changes


def history_insert(
    *, actor: User | None, model: type[models.Model], rows: Sequence[HistoryRow], notify: bool = False
) -> int:
    """One INSERT of history rows ``(pk, label, kind, changes)`` as the current channel, credential and job.

    ``changes`` as a dict, or already serialised (``core.set_insert.JsonText``). With ``notify``,
    workflow rules hear of them after commit (``history_record`` always tells them).
    """
    from core.set_insert import insert_rows

    credential = current_credential()
    constants = {
        "record_type": model._meta.label_lower,
        "changed_at": timezone.now(),
        "actor": actor.pk if actor is not None and actor.pk else None,
        "actor_label": _actor_label(actor)[:254],
        "credential": credential.label[:254] if credential is not None else "",
        "credential_reference": credential.reference if credential is not None else {},
        "channel": current_channel(),
        "job": current_job()[:200],
    }
    written = insert_rows(
        RecordChange,
        ["record_id", "record_label", "kind", "changes"],
        [(pk, label[:254], kind, diff) for pk, label, kind, diff in rows],
        constants,
    )
    if notify:
        from workflows.triggers import history_written

        record_type = constants["record_type"]
        history_written(
            SimpleNamespace(pk=pk, record_type=record_type, kind=kind)
            for pk, (_r, _l, kind, _c) in zip(written, rows, strict=True)
        )
    return len(rows)
