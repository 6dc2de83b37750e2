"""Running a job once at a time: PostgreSQL advisory locks, named."""

from __future__ import annotations

from django.db import connection, transaction


def advisory_xact_lock(name: str) -> bool:
    """Take a transaction-scoped PostgreSQL advisory lock named ``name``; False if another holds it.

    Must be called inside ``transaction.atomic()``. Elsewhere (SQLite) writers are serialised by
    the database itself and every job's UPDATEs are conditional, so this returns True.
    """
    if connection.vendor != "postgresql":
        return True
    assert transaction.get_connection().in_atomic_block, "advisory_xact_lock needs a transaction"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [f"clientele:{name}"])
        return bool(cursor.fetchone()[0])
