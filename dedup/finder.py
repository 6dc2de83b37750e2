"""The duplicate finder: candidate pairs found set-based and stored for people to review.

Exact evidence: the same email (contacts, leads), the same name ignoring case (accounts).
Fuzzy: a similar full name with the same last name at the same account (contacts) or company
(leads), by pg_trgm similarity on PostgreSQL, the same full name on SQLite. Pairs already
stored, "not a duplicate" ones included, are not proposed again.
"""

from __future__ import annotations

from django.db import connection

from dedup.matching import NAME_SIMILARITY_MIN
from dedup.models import DuplicatePair

SCAN_LIMIT = 5000

_EMAIL_PAIRS = """
    SELECT a.id, b.id, 1.0, 'same email ' || LOWER(a.email)
    FROM {table} a JOIN {table} b ON UPPER(a.email) = UPPER(b.email) AND a.id < b.id
    WHERE a.email <> '' LIMIT %s
"""
_FULL = "UPPER(TRIM({t}.first_name || ' ' || {t}.last_name))"


def _name_pairs(table: str, group: str, where: str) -> str:
    a, b = _FULL.format(t="a"), _FULL.format(t="b")
    if connection.vendor == "postgresql":
        return f"""
            SELECT a.id, b.id, similarity({a}, {b}),
                   'similar name ' || a.first_name || ' ' || a.last_name
                   || ' ~ ' || b.first_name || ' ' || b.last_name || ' {where}'
            FROM {table} a
            JOIN {table} b ON a.{group} = b.{group} AND a.last_name = b.last_name AND a.id < b.id
            WHERE similarity({a}, {b}) >= {NAME_SIMILARITY_MIN}
              AND a.{group} IS NOT NULL AND CAST(a.{group} AS TEXT) <> ''
            LIMIT %s
        """  # noqa: S608 (table and column names are ours, values are parameters)
    return f"""
        SELECT a.id, b.id, 1.0, 'same name ' || a.first_name || ' ' || a.last_name || ' {where}'
        FROM {table} a
        JOIN {table} b ON a.{group} = b.{group} AND UPPER(a.last_name) = UPPER(b.last_name) AND a.id < b.id
        WHERE {a} = {b} AND a.{group} IS NOT NULL AND CAST(a.{group} AS TEXT) <> '' LIMIT %s
    """  # noqa: S608 (table and column names are ours, values are parameters)


QUERIES = {
    "crm.contact": [
        _EMAIL_PAIRS.format(table="crm_contact"),
        _name_pairs("crm_contact", "account_id", "at the same account"),
    ],
    "crm.lead": [_EMAIL_PAIRS.format(table="crm_lead"), _name_pairs("crm_lead", "company_name", "at the same company")],
    "crm.account": [
        """SELECT a.id, b.id, 1.0, 'same name ' || a.name FROM crm_account a
           JOIN crm_account b ON UPPER(a.name) = UPPER(b.name) AND a.id < b.id LIMIT %s""",
        """SELECT a.account_id, b.account_id, 0.9, 'same email domain ' || a.domain FROM crm_accountdomain a
           JOIN crm_accountdomain b ON a.domain = b.domain AND a.account_id < b.account_id LIMIT %s""",
    ],
}


def duplicates_scan(record_type: str, *, limit: int = SCAN_LIMIT) -> int:
    """Store the candidate pairs of one record type not stored yet; how many were new."""
    found: dict[tuple[int, int], tuple[float, list[str]]] = {}
    with connection.cursor() as cursor:
        for sql in QUERIES[record_type]:
            cursor.execute(sql, [limit])
            for first, second, score, reason in cursor.fetchall():
                score_now, reasons = found.get((first, second), (0.0, []))
                found[(first, second)] = (max(score_now, round(float(score), 3)), [*reasons, reason])
    before = DuplicatePair.objects.filter(record_type=record_type).count()
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(record_type=record_type, first_id=a, second_id=b, score=score, reasons=reasons)
            for (a, b), (score, reasons) in found.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return DuplicatePair.objects.filter(record_type=record_type).count() - before
