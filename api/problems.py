"""Every API error in one shape: RFC 9457 problem details (``application/problem+json``).

``{"type", "title", "status", "detail", "instance"}`` and, for bad input, ``errors``: one
``{"pointer": "#/field", "detail", "code"}`` per problem (``#/`` for the request as a whole), as in
RFC 9457's own example. Service errors map here too: Django's ``ValidationError`` → 400,
``PermissionDenied`` → 403, ``BusinessRuleViolation`` → 409.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.errors import BusinessRuleViolation

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:clientele:problem:"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it. GET it again and re-apply your change."
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the record's current state."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


# status → (type slug, title)
_KINDS: dict[int, tuple[str, str]] = {
    400: ("validation-error", "Your request is not valid."),
    401: ("not-authenticated", "Authentication required."),
    403: ("permission-denied", "You may not do this."),
    404: ("not-found", "Not found."),
    405: ("method-not-allowed", "Method not allowed."),
    406: ("not-acceptable", "Not acceptable."),
    409: ("conflict", "Conflict."),
    412: ("precondition-failed", "Precondition failed."),
    415: ("unsupported-media-type", "Unsupported media type."),
    422: ("idempotency-key-reused", "Idempotency-Key reused."),
    429: ("throttled", "Too many requests."),
}


def problem_type(status_code: int) -> str:
    return TYPE_BASE + _KINDS.get(status_code, ("error", ""))[0]


def _pointer(path: list[str]) -> str:
    field = "/".join(str(p) for p in path if p != api_settings.NON_FIELD_ERRORS_KEY and p != NON_FIELD_ERRORS)
    return f"#/{field}"


def field_errors(detail: Any, path: list[str] | None = None) -> list[dict[str, str]]:
    """Flatten DRF's nested error detail into RFC 9457 ``errors`` entries."""
    path = path or []
    if isinstance(detail, dict):
        return [e for key, value in detail.items() for e in field_errors(value, [*path, str(key)])]
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [
                {"pointer": _pointer(path), "detail": str(item), "code": getattr(item, "code", "invalid")}
                for item in detail
            ]
        return [e for i, item in enumerate(detail) for e in field_errors(item, [*path, str(i)])]
    return [{"pointer": _pointer(path), "detail": str(detail), "code": getattr(detail, "code", "invalid")}]


def _django_validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): [
                exceptions.ErrorDetail(m, code=e.code or "invalid") for e in errors for m in e.messages
            ]
            for key, errors in exc.error_dict.items()
        }
    return [exceptions.ErrorDetail(m, code="invalid") for m in exc.messages]


def problem_response(
    *,
    status_code: int,
    detail: str,
    instance: str = "",
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(status_code),
        "title": _KINDS.get(status_code, ("error", "Error."))[1],
        "status": status_code,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    instance = request.path if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such record.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, BusinessRuleViolation):
        exc = Conflict(str(exc))
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling (and its logging) applies
    # APIView.handle_exception has already chosen 401 (with this header) or 403 for auth failures.
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]  # set by APIView on auth errors
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:  # type: ignore[attr-defined]  # stubs lack it
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))  # type: ignore[attr-defined]
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        detail = "Correct the fields listed in errors and send the request again."
        if len(errors) == 1:
            detail = errors[0]["detail"] if errors[0]["pointer"] == "#/" else detail
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
        errors = getattr(exc, "problem_errors", None)  # e.g. the likely duplicates of a 409 (dedup.api)
    return problem_response(
        status_code=exc.status_code, detail=detail, instance=instance, errors=errors, headers=headers
    )
