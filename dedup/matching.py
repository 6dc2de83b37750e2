"""Which existing records is this one (or each of these many) likely to be? Set-based.

Exact evidence (score 1): the same email (contacts, leads), the same business id (accounts,
through :func:`crm.matching.account_match`, the one account matcher). Fuzzy evidence: a
similar name at the same company: pg_trgm similarity on PostgreSQL, the same name ignoring
case on SQLite. One query per kind of evidence, whether one record is probed (a warning
before a save) or a thousand (a chunk of an import).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models.functions import Upper

from crm.matching import BUSINESS_ID, account_match
from crm.models import Contact, Lead

NAME_SIMILARITY_MIN = 0.6


@dataclass
class Match:
    record_id: int
    score: float
    reasons: list[str] = field(default_factory=list)


def _add(found: dict[int, Match], record_id: int, score: float, reason: str) -> None:
    match = found.get(record_id)
    if match is None:
        found[record_id] = Match(record_id, score, [reason])
    else:
        match.score = max(match.score, score)
        match.reasons.append(reason)


def _by_email(model: type[Contact] | type[Lead], probes: Sequence[dict[str, Any]], out: list[dict[int, Match]]) -> None:
    wanted: dict[str, list[int]] = {}
    for i, probe in enumerate(probes):
        if probe.get("email"):
            wanted.setdefault(probe["email"].upper(), []).append(i)
    if not wanted:
        return
    if connection.vendor == "postgresql":
        # One array parameter (an import probes a thousand emails at once): the ORM's IN list
        # prepares each value in Python. UPPER("email"::text) is the expression the index has.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, UPPER(email::text) FROM {model._meta.db_table} "  # noqa: S608 (our table)
                "WHERE UPPER(email::text) = ANY(%s::text[])",
                [list(wanted)],
            )
            found = cursor.fetchall()
    else:
        rows: Any = model.objects.annotate(email_upper=Upper("email"))
        found = list(rows.filter(email_upper__in=list(wanted)).values_list("pk", "email_upper"))
    for pk, email in found:
        for i in wanted[email]:
            _add(out[i], pk, 1.0, f"same email {email.lower()}")


def _similar_names(
    table: str, group_column: str, probes: Sequence[dict[str, Any]], group_key: str, out: list[dict[int, Match]]
) -> None:
    """Records of the same group (account, company) and last name whose full name is similar."""
    items = [
        (i, p[group_key], p["last_name"], f"{p.get('first_name', '')} {p['last_name']}".strip().upper())
        for i, p in enumerate(probes)
        if p.get(group_key) and p.get("last_name")
    ]
    if not items:
        return
    full = "UPPER(TRIM(r.first_name || ' ' || r.last_name))"
    if connection.vendor == "postgresql":
        group_type = "bigint" if group_column == "account_id" else "text"
        group_expr = f"r.{group_column}" if group_column == "account_id" else f"UPPER(r.{group_column})"
        probe_group = "v.grp" if group_column == "account_id" else "UPPER(v.grp)"
        sql = f"""
            SELECT v.i, r.id, similarity({full}, v.full_name) AS score, r.first_name, r.last_name
            FROM unnest(%s::int[], %s::{group_type}[], %s::text[], %s::text[]) AS v(i, grp, last_name, full_name)
            JOIN {table} r ON {group_expr} = {probe_group} AND r.last_name = v.last_name
            WHERE similarity({full}, v.full_name) >= %s
        """  # noqa: S608 (table and column names are ours, values are parameters)
        params: list[Any] = [[x[0] for x in items], [x[1] for x in items], [x[2] for x in items], [x[3] for x in items]]
        params.append(NAME_SIMILARITY_MIN)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        rows = []
        with connection.cursor() as cursor:
            for i, group, last_name, full_name in items:
                group_expr = f"r.{group_column}" if group_column == "account_id" else f"UPPER(r.{group_column})"
                cursor.execute(
                    f"SELECT %s, r.id, 1.0, r.first_name, r.last_name FROM {table} r "  # noqa: S608 (our names)
                    f"WHERE {group_expr} = %s AND UPPER(r.last_name) = UPPER(%s) AND {full} = %s",
                    [i, group if group_column == "account_id" else str(group).upper(), last_name, full_name],
                )
                rows.extend(cursor.fetchall())
    where = "at the same account" if group_column == "account_id" else "at the same company"
    for i, pk, score, first, last in rows:
        _add(
            out[i],
            pk,
            round(float(score), 3),
            f"similar name “{first} {last}”".replace("“ ", "“") + f" {where} ({round(float(score) * 100)} %)",
        )


def contact_matches(probes: Sequence[dict[str, Any]]) -> list[dict[int, Match]]:
    """For each probe (``email``, ``first_name``, ``last_name``, ``account_id``): contact id → Match."""
    out: list[dict[int, Match]] = [{} for _ in probes]
    _by_email(Contact, probes, out)
    _similar_names("crm_contact", "account_id", probes, "account_id", out)
    return out


def lead_matches(probes: Sequence[dict[str, Any]]) -> list[dict[int, Match]]:
    """For each probe (``email``, ``first_name``, ``last_name``, ``company_name``): lead id → Match."""
    out: list[dict[int, Match]] = [{} for _ in probes]
    _by_email(Lead, probes, out)
    _similar_names("crm_lead", "company_name", probes, "company_name", out)
    return out


def account_matches(probes: Sequence[dict[str, Any]]) -> list[dict[int, Match]]:
    """For each probe (``name``, ``business_id``, ``country``, ``email``): account id → Match (the one matcher)."""
    out: list[dict[int, Match]] = [{} for _ in probes]
    for i, probe in enumerate(probes):
        match = account_match(
            business_id=probe.get("business_id") or "",
            company_name=probe.get("name") or "",
            country=str(probe.get("country") or ""),
        )
        if match is not None:
            reason = f"same {match.description}" if match.on == BUSINESS_ID else match.description
            _add(out[i], match.account.pk, match.score, reason)
    return out


MATCHERS = {"crm.contact": contact_matches, "crm.lead": lead_matches, "crm.account": account_matches}
