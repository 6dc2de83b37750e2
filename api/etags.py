"""Optimistic concurrency: an ETag per record version, ``If-Match`` on writes, 412 on a lost update."""

from __future__ import annotations

import hashlib
import re

from rest_framework import exceptions

from api.problems import PreconditionFailed

# RFC 9110 13.1.1: "*" or a comma-separated list of (weak or strong) entity tags.
_ENTITY_TAG = r'(W/)?"[\x21\x23-\x7e]*"'
IF_MATCH_PATTERN = rf"^\s*(\*|{_ENTITY_TAG}(\s*,\s*{_ENTITY_TAG})*)\s*$"
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


def etag_for(record) -> str:
    version = f"{record._meta.label_lower}:{record.pk}:{record.updated_at.isoformat()}"
    return '"' + hashlib.sha256(version.encode()).hexdigest()[:27] + '"'


def check_if_match(request, record) -> None:
    """Refuse the write when ``If-Match`` names another version. No header: last write wins."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    if not _IF_MATCH.match(header):
        raise exceptions.ValidationError({"If-Match": ['Send the ETag you read, e.g. "3f2a…", or *.']})
    wanted = {tag.strip() for tag in header.split(",") if tag.strip()}
    if "*" in wanted:
        return
    if etag_for(record) not in wanted:
        raise PreconditionFailed()
