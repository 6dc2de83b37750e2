"""``Idempotency-Key`` on POST: a repeated key (same key, same sender) gets the first answer again.

The stored row is inserted in the same transaction as the write it guards, before it: a
concurrent repeat waits on the unique (owner, key) index until the first commits, then replays
its answer. A failed request (an error raised) rolls its row back with its write, so it may be
retried with the same key. The same key with a different request is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.response import Response

from api.models import ApiKey, IdempotencyKey
from api.problems import IdempotencyKeyReused

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("Location", "ETag")


def _owner(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"api-key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(record: IdempotencyKey, digest: str) -> Response:
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    return Response(
        record.response_body, status=record.status_code, headers={**record.response_headers, REPLAYED_HEADER: "true"}
    )


def idempotent(request, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    key = key.strip()
    if not key or len(key) > 255:
        raise exceptions.ValidationError({HEADER: ["Send 1 to 255 characters, e.g. a UUID."]})
    owner, digest = _owner(request), _request_hash(request)
    existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
    if existing is not None:
        return _replay(existing, digest)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(owner=owner, key=key, request_hash=digest)
            response = handler()
            record.status_code = response.status_code
            record.response_body = response.data
            record.response_headers = {h: response[h] for h in _KEPT_HEADERS if response.has_header(h)}
            record.save(update_fields=["status_code", "response_body", "response_headers"])
    except IntegrityError:
        existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
        if existing is None:
            raise  # not our row: the write itself broke a constraint
        return _replay(existing, digest)
    return response
