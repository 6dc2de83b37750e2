"""Optimistic concurrency: an ETag per record version, ``If-Match`` on writes, 412 on a lost update."""

from __future__ import annotations

import hashlib

from api.problems import PreconditionFailed


def etag_for(record) -> str:
    version = f"{record._meta.label_lower}:{record.pk}:{record.updated_at.isoformat()}"
    return '"' + hashlib.sha256(version.encode()).hexdigest()[:27] + '"'


def check_if_match(request, record) -> None:
    """Refuse the write when ``If-Match`` names another version. No header: last write wins."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    wanted = {tag.strip() for tag in header.split(",") if tag.strip()}
    if "*" in wanted:
        return
    if etag_for(record) not in wanted:
        raise PreconditionFailed()
