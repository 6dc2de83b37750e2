"""The OpenAPI schema's shared parts: problem+json errors, headers (ETag, If-Match,
Idempotency-Key, Retry-After) and their examples, added to every operation they apply to."""

from __future__ import annotations

from django_countries import countries
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

from api.etags import IF_MATCH_PATTERN
from api.problems import PROBLEM_CONTENT_TYPE, problem_type
from api.serializers import StrictFieldsMixin

COUNTRY_CHOICES = [("", "—"), *((code, name) for code, name in countries)]


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key clt_<prefix>_<secret>`: staff create keys on the API keys page or with "
            "`manage.py create_api_key`. Scopes (`contacts:read`, `contacts:write`, …) decide what a key may do.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A signed-in staff user's browser session (these docs); unsafe methods need X-CSRFToken.",
        }


class ProblemFieldErrorSerializer(serializers.Serializer):
    pointer = serializers.CharField(help_text="JSON pointer into the request body, e.g. #/email (#/ for the whole).")
    detail = serializers.CharField()
    code = serializers.CharField(help_text="e.g. required, invalid, unknown_field, read_only, does_not_exist")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="URN naming the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(required=False, help_text="The request path.")
    # Documents the payload only: this serializer never validates, so Serializer.errors is not needed.
    errors = ProblemFieldErrorSerializer(many=True, required=False, help_text="Field-level errors (400 only).")  # type: ignore[assignment]


def _example(status_code: int, title: str, detail: str, **extra) -> OpenApiExample:
    value = {"type": problem_type(status_code), "title": title, "status": status_code, "detail": detail, **extra}
    return OpenApiExample(
        f"{status_code}",
        value=value,
        status_codes=[str(status_code)],
        response_only=True,
        media_type=PROBLEM_CONTENT_TYPE,
    )


_PROBLEMS = {
    400: (
        "Bad input: nothing was changed.",
        _example(
            400,
            "Your request is not valid.",
            "Correct the fields listed in errors and send the request again.",
            instance="/api/v1/contacts/",
            errors=[
                {"pointer": "#/email", "detail": "Enter a valid email address.", "code": "invalid"},
                {"pointer": "#/nickname", "detail": "Unknown field.", "code": "unknown_field"},
            ],
        ),
    ),
    401: (
        "No or invalid credentials.",
        _example(401, "Authentication required.", "Invalid API key."),
    ),
    403: (
        "The key lacks the scope, or the user may not do this.",
        _example(403, "You may not do this.", "This API key lacks the scope contacts:write."),
    ),
    404: (
        "No such record, or not one the caller may see.",
        _example(404, "Not found.", "No such record."),
    ),
    409: (
        "A business rule refuses the change in the record's current state.",
        _example(409, "Conflict.", "This lead has already been converted."),
    ),
    412: (
        "If-Match named an older version: someone changed the record since it was read.",
        _example(412, "Precondition failed.", "The record changed since you read it."),
    ),
    422: (
        "The Idempotency-Key was already used for a different request.",
        _example(422, "Idempotency-Key reused.", "This Idempotency-Key was already used with a different request."),
    ),
    429: (
        "Too many requests for this key: wait Retry-After seconds.",
        _example(429, "Too many requests.", "Request was throttled. Expected available in 12 seconds."),
    ),
}

ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The record's version; send it back as If-Match to change it safely.",
)
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201], description="The new record."
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[429], description="Seconds to wait."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID) per intended write. A retry with the same key and body gets the "
    "first answer again (with Idempotent-Replayed: true) and changes nothing; kept for 24 hours.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "pattern": IF_MATCH_PATTERN},
    OpenApiParameter.HEADER,
    description="The ETag you read (or `*`). If the record changed since, the write is refused with 412; "
    "a value that is not a list of ETags is refused with 400.",
)


class ApiAutoSchema(AutoSchema):
    def _is_detail(self) -> bool:
        return "{id}" in self.path

    def _is_write(self) -> bool:
        return self.method in ("POST", "PATCH", "PUT", "DELETE")

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        params.append(RETRY_AFTER)
        if self.method == "POST":
            params.append(IDEMPOTENCY_KEY)
        if self.method in ("PATCH", "DELETE"):
            params.append(IF_MATCH)
        if self.method in ("GET", "POST", "PATCH") and (self._is_detail() or self.method == "POST"):
            params.append(ETAG)
        if self._is_create_operation():
            params.append(LOCATION)
        return params

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            # drf-spectacular's pattern lets "", "-" and "." through, which DRF refuses as no number.
            whole = field.max_digits - field.decimal_places if field.max_digits else None
            sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
            digits = rf"\d{{1,{whole}}}" if whole else r"\d+"
            schema["pattern"] = rf"^{sign}{digits}(?:\.\d{{1,{field.decimal_places}}})?$"
        return schema

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(force_instance(serializer), StrictFieldsMixin):
            schema["additionalProperties"] = False  # the API refuses unknown fields: the schema says so
        return schema

    def _error_codes(self) -> list[int]:
        codes = [400, 401, 403, 429]
        if self._is_detail():
            codes.append(404)
        if self._is_write():
            codes.append(409)
        if self.method in ("PATCH", "DELETE"):
            codes.append(412)
        if self.method == "POST":
            codes.append(422)
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            description, _example_obj = _PROBLEMS[code]
            response = self._get_response_for_code(ProblemSerializer, str(code), [PROBLEM_CONTENT_TYPE], direction)
            response["description"] = description
            responses.setdefault(str(code), response)
        return responses

    def get_examples(self):
        return [*super().get_examples(), *(example for _d, example in _PROBLEMS.values())]
